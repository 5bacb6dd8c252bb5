#!/usr/bin/env bash
# Instruction counts (valgrind --tool=callgrind) of small versions of the
# suite's jobs: repeatable whatever else the machine does, so two builds can
# be compared where wall times are too noisy (a change that makes a trace
# fall back to the interpreter shows as +10..+100 %).
#
#   scripts/bench/instructions.sh [path/to/flowlua]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
flowlua=$(realpath "${1:-$root/build/flowlua}")
command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
luajit "$here/gen_text.lua" "$work/text.txt" 5
luajit "$here/gen_text.lua" "$work/short.txt" 5 short
cp "$here/events.lua" "$here/windows_job.lua" "$work/"
count() { # name, command...
  local name=$1; shift
  local n
  n=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | awk '/Collected/ { print $4 }')
  printf "%-28s %14s\n" "$name" "$n"
}
printf "%-28s %14s\n" job instructions
count "P1 (5 MiB, par. 2)" "$flowlua" "$root/examples/wordcount.lua" --input "$work/text.txt" --output "$work/o1" --parallelism 2
count "P1 short (5 MiB, par. 2)" "$flowlua" "$root/examples/wordcount.lua" --input "$work/short.txt" --output "$work/o2" --parallelism 2
count "P2 (5 MiB)" "$flowlua" "$here/p2.lua" "$work/text.txt" "$work/o3"
count "P5 (1 M records)" "$flowlua" "$here/p5.lua" 1000000
for k in tumbling sliding session timeout; do
  count "W $k (200 000 events)" "$flowlua" "$work/windows_job.lua" "$k" 200000 1
done
