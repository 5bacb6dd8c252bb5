#!/usr/bin/env bash
# Cluster-mode benchmark: WordCount at parallelism 4 on the MiniCluster and
# on a local standalone cluster (a jobmanager + 2 taskmanagers with 2 slots,
# so half of every shuffle crosses TCP between taskmanagers), in batch mode
# (pre-aggregated: little crosses the network) and streaming mode (every
# word record is shuffled). Checks the outputs are equal; prints wall times.
#
#   scripts/bench/cluster.sh [MiB] [path/to/flowlua]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mib=${1:-20}
flowlua=${2:-$root/build/flowlua}
work=$(mktemp -d)
cleanup() { "$root/scripts/stop-cluster.sh" --dir "$work/cluster" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

luajit "$here/gen_text.lua" "$work/input.txt" "$mib"
FLOWLUA="$flowlua" "$root/scripts/start-cluster.sh" -n 2 --slots 2 --dir "$work/cluster" \
  --bind 127.0.0.1:0 --rest off >/dev/null
read -r rpc _ <"$work/cluster/ports"

wall() { # command... -> seconds
  local s e
  s=$(date +%s.%N)
  "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
  e=$(date +%s.%N)
  awk -v a="$s" -v b="$e" 'BEGIN { printf "%.2f", b - a }'
}

printf "%-34s %8s\n" "WordCount p4 ($mib MiB)" "seconds"
status=0
for mode in batch streaming; do
  t_mini=$(wall "$flowlua" "$root/examples/wordcount.lua" --input "$work/input.txt" --parallelism 4 \
    --mode "$mode" --output "$work/mini-$mode")
  t_cl=$(wall "$flowlua" run --jobmanager "127.0.0.1:$rpc" "$root/examples/wordcount.lua" \
    --input "$work/input.txt" --parallelism 4 --mode "$mode" --output "$work/cl-$mode")
  if ! cmp -s <(cat "$work/mini-$mode"/* | sort) <(cat "$work/cl-$mode"/* | sort); then
    echo "$mode: the cluster's output differs from the MiniCluster's" >&2
    status=1
  fi
  printf "%-34s %8s\n" "$mode, MiniCluster" "$t_mini" "$mode, 2 taskmanagers (TCP shuffle)" "$t_cl"
done
exit $status
