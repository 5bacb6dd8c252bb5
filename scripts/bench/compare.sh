#!/usr/bin/env bash
# Compares two flowlua binaries on the suite of run_all.sh on a noisy
# machine: runs the suite N times for each (default 5), alternating
# OLD, NEW, OLD, NEW, ... with RUNS=1, so that drift in the machine's load
# falls on both alike; prints each benchmark's median per binary and
# NEW/OLD (time: > 1 is slower; rate: < 1 is slower).
#
#   scripts/bench/compare.sh OLD_FLOWLUA NEW_FLOWLUA [N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
old=$(realpath "$1") new=$(realpath "$2") n=${3:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in $(seq "$n"); do
  for which in old new; do
    bin=$old; [ $which = new ] && bin=$new
    RUNS=1 bash "$here/run_all.sh" "$bin" > "$work/$which.$i" 2>&1 || { cat "$work/$which.$i" >&2; exit 1; }
  done
done
# one value per benchmark: P1-P3 flowlua's seconds, P4/P5 M rec/s, P6 ms, P7 MB
values() {
  grep -E '^P[1-3] ' "$1" | sed -E 's/^(P[0-9]) .*\(([0-9.]+)s\/.*/\1 \2/'
  grep -E '^P[45] ' "$1" | sed -E 's/^(P[0-9]) .* ([0-9.]+) M rec\/s.*/\1 \2/'
  grep -E '^P6 ' "$1" | sed -E 's/^(P6) .*\) +([0-9.]+) ms.*/\1 \2/'
  grep -E '^P7 ' "$1" | awk '{ for (i = 1; i <= NF; i++) if ($(i + 1) == "MB") { print "P7", $i; exit } }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf "%-4s %-10s %-10s %-10s %s\n" id old new new/old unit
for p in P1 P2 P3 P4 P5 P6 P7; do
  o=$(for i in $(seq "$n"); do values "$work/old.$i"; done | awk -v p=$p '$1 == p { print $2 }' | median)
  w=$(for i in $(seq "$n"); do values "$work/new.$i"; done | awk -v p=$p '$1 == p { print $2 }' | median)
  unit=s; case $p in P4|P5) unit="M rec/s";; P6) unit=ms;; P7) unit=MB;; esac
  printf "%-4s %-10s %-10s %-10s %s\n" $p "$o" "$w" "$(awk -v a="$w" -v b="$o" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')" "$unit"
done
