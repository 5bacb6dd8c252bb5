#!/usr/bin/env bash
# Nexmark on the built-in generator (issue 15): every query of
# examples/nexmark/ with a discarding sink, at parallelism 1 and 2, and the
# generator alone. Per run: events/s (wall), events/s per core (events /
# (user + sys seconds)) and peak RSS.
#
#   scripts/bench/nexmark.sh [EVENTS] [path/to/flowlua]     (EVENTS default 10 000 000)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
events=${1:-10000000}
flowlua=$(realpath "${2:-$root/build/flowlua}")
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/generator.lua" <<'LUA'
local flow = require("flow")
local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:from_nexmark{ events = params:get_number("events-count") }:add_sink(function() end)
env:execute("Nexmark generator")
LUA

# q13's side input
"$flowlua" "$root/examples/nexmark/generate.lua" --events-count 1 --output "$work/one.json" \
  --side-input "$work/side.csv" >/dev/null

# run NAME SCRIPT PARALLELISM: one line of the table
run() {
  local t0 t1 wall cpu rss
  t0=$(date +%s%N)
  /usr/bin/time -f "%U %S %M" -o "$work/t" "$flowlua" "$2" --events-count "$events" --parallelism "$3" \
    --side-input "$work/side.csv" \
    >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  t1=$(date +%s%N)
  read -r user sys rss < "$work/t"
  awk -v n="$events" -v a="$t0" -v b="$t1" -v u="$user" -v s="$sys" -v m="$rss" -v q="$1" -v p="$3" 'BEGIN {
    wall = (b - a) / 1e9; cpu = u + s
    printf "%-10s %2d %12.0f %14.0f %8.1f\n", q, p, n / wall, n / (cpu > 0 ? cpu : 1e-9), m / 1024 }'
}

printf "%-10s %2s %12s %14s %8s\n" query p "events/s" "events/s/core" "RSS MB"
for p in 1 2; do run generator "$work/generator.lua" "$p"; done
for q in q0 q1 q2 q3 q4 q5 q7 q8 q11 q13 q14 q15 q16 q17 q18 q19 q20 q21 q22; do
  for p in 1 2; do run "$q" "$root/examples/nexmark/$q.lua" "$p"; done
done
