#!/usr/bin/env bash
# WordCount benchmark: generates deterministic text (default 100 MiB), runs
# the plain LuaJIT reference loop and flowlua at parallelism 1 and 2, checks
# that flowlua's counts equal the reference's exactly, and prints times,
# ratios against the reference and peak RSS.
#
#   scripts/bench/wordcount.sh [MiB] [path/to/flowlua]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mib=${1:-100}
flowlua=${2:-$root/build/flowlua}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
luajit "$here/gen_text.lua" "$work/input.txt" "$mib"

measure() { # name, command... -> "seconds kb" on stdout
  /usr/bin/time -f "%e %M %P" -o "$work/time" "${@:2}" >/dev/null
  cat "$work/time"
}

read -r t_ref rss_ref _ < <(measure ref luajit "$here/wordcount_plain.lua" "$work/input.txt" "$work/ref.txt")
sort "$work/ref.txt" > "$work/ref.sorted"
printf "%-28s %8s %8s %11s %6s\n" "run ($mib MiB)" "seconds" "ratio" "peak RSS" "CPU"
printf "%-28s %8.2f %8s %8d KB %6s\n" "plain LuaJIT loop" "$t_ref" "1.00" "$rss_ref" "100%"
status=0
for p in 1 2; do
  out="$work/out$p"
  read -r t rss cpu < <(measure flow "$flowlua" "$root/examples/wordcount.lua" \
    --input "$work/input.txt" --output "$out" --parallelism "$p")
  if [ -d "$out" ]; then cat "$out"/* ; else cat "$out"; fi | sort > "$work/out$p.sorted"
  if ! cmp -s "$work/out$p.sorted" "$work/ref.sorted"; then
    echo "parallelism $p: counts differ from the reference" >&2
    status=1
  fi
  ratio=$(awk -v a="$t" -v b="$t_ref" 'BEGIN { printf "%.2f", a / b }')
  printf "%-28s %8.2f %8s %8d KB %6s\n" "flowlua parallelism $p" "$t" "$ratio" "$rss" "$cpu"
done
exit $status
