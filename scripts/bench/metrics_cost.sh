#!/usr/bin/env bash
# What the metrics cost on the record path: P3, P4 and P5 (the jobs of
# run_all.sh) alternated between two binaries N times (default 8), so that
# the noisy machine's drift falls on both; prints each one's median wall
# time per binary and NEW/OLD, then (with valgrind) their instruction
# counts on smaller inputs, which do not depend on the machine's load.
#
#   scripts/bench/metrics_cost.sh OLD_FLOWLUA NEW_FLOWLUA [N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
old=$(realpath "$1") new=$(realpath "$2") n=${3:-8}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
jobs=("p3 100000000" "p4 100000000" "p5 10000000")
for i in $(seq "$n"); do
  for which in old new; do
    bin=$old; [ $which = new ] && bin=$new
    for j in "${jobs[@]}"; do
      set -- $j
      /usr/bin/time -f "%e" -o "$work/t" "$bin" "$here/$1.lua" "$2" >/dev/null
      echo "$which $1 $(cat "$work/t")" >> "$work/times"
    done
  done
done
median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf "%-4s %-24s %-10s %-10s %s\n" job records old_s new_s new/old
for j in "${jobs[@]}"; do
  set -- $j
  o=$(awk -v p=$1 '$1 == "old" && $2 == p { print $3 }' "$work/times" | median)
  w=$(awk -v p=$1 '$1 == "new" && $2 == p { print $3 }' "$work/times" | median)
  printf "%-4s %-24s %-10s %-10s %.3f\n" "$1" "$2" "$o" "$w" "$(awk -v a="$w" -v b="$o" 'BEGIN { print a / b }')"
done
command -v valgrind >/dev/null || exit 0
printf "%-4s %-24s %-14s %-14s %s\n" job records old_instr new_instr new/old
for j in "p3 10000000" "p4 10000000" "p5 1000000"; do
  set -- $j
  count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" "$here/$2.lua" "$3" 2>&1 >/dev/null |
            awk '/Collected/ { print $4 }'; }
  o=$(count "$old" "$1" "$2") w=$(count "$new" "$1" "$2")
  printf "%-4s %-24s %-14s %-14s %.3f\n" "$1" "$2" "$o" "$w" "$(awk -v a="$w" -v b="$o" 'BEGIN { print a / b }')"
done
