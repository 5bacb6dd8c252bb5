#!/usr/bin/env bash
# flowlua's benchmark suite (issue: performance). Each benchmark generates
# its own deterministic input and, where it has one, runs its reference in
# the same run; prints one table with the measured value and the target.
# Times are the best of RUNS (default 3) runs, the reference's too; with
# STAT=median, the median of RUNS runs (to compare two builds on a noisy machine).
#
#   scripts/bench/run_all.sh [--tiny] [path/to/flowlua]
#
# --tiny runs everything on tiny inputs (a check that the scripts work; the
# numbers then mean nothing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tiny=0
if [ "${1:-}" = "--tiny" ]; then tiny=1; shift; fi
flowlua=$(realpath "${1:-$root/build/flowlua}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }

if [ $tiny = 1 ]; then MIB=1; SEQ=200000; KEYS=200000; RUNS=1; else MIB=100; SEQ=100000000; KEYS=20000000; fi

# seconds and peak RSS (KB) of a command: the best time of $RUNS runs
# (the machine's noise only ever adds time) or, with STAT=median, their
# median; the largest RSS
RUNS=${RUNS:-3}
STAT=${STAT:-best}
case $STAT in best|median) ;; *) echo "STAT must be best or median" >&2; exit 2;; esac
secs() {
  local rss=0 t m t0 t1 times=""
  for _ in $(seq "$RUNS"); do
    t0=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$work/t" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    t1=$(date +%s%N)
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }') # ms precision
    times="$times$t"$'\n'
    m=$(cat "$work/t")
    [ "$m" -gt "$rss" ] && rss=$m
  done
  if [ "$STAT" = median ]; then
    t=$(printf '%s' "$times" | sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
  else
    t=$(printf '%s' "$times" | sort -n | head -1)
  fi
  echo "$t $rss"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? n / s / 1e6 : 0) }'; }
ok() { awk -v x="$1" -v t="$2" -v op="$3" 'BEGIN { r = (op == "le") ? (x <= t) : (x >= t); print r ? "met" : "MISSED" }'; }

luajit "$here/gen_text.lua" "$work/text.txt" "$MIB"
cc -O2 -o "$work/wcref" "$here/wordcount_ref.c"

# P1: WordCount with Lua UDFs, parallelism 2, vs a plain LuaJIT loop (and P7: its peak RSS)
read -r t_loop _ < <(secs luajit "$here/wordcount_plain.lua" "$work/text.txt" "$work/loop.out")
read -r t_p1 rss_p1 < <(secs "$flowlua" "$root/examples/wordcount.lua" --input "$work/text.txt" \
  --output "$work/p1.out" --parallelism 2)
sort "$work/loop.out" > "$work/loop.sorted"
cat "$work/p1.out"/* | sort | cmp -s - "$work/loop.sorted" || { echo "P1: counts differ" >&2; exit 1; }

# P2: WordCount with flow.ops.words() and the C keyed sum, parallelism 2, vs hand-written C
cat > "$work/p2.lua" <<'LUA'
local flow = require("flow")
local env = flow.env{ parallelism = 2 }
env:read_text_file(arg[1]):flat_map(flow.ops.words()):key_by(1):sum(2):write_as_text(arg[2])
env:execute("P2")
LUA
read -r t_ref _ < <(secs "$work/wcref" "$work/text.txt" "$work/ref.out")
read -r t_p2 _ < <(secs "$flowlua" "$work/p2.lua" "$work/text.txt" "$work/p2.out")
cat "$work/p2.out"/* | sort | cmp -s - "$work/loop.sorted" || { echo "P2: counts differ" >&2; exit 1; }

# P3: from_sequence -> map -> filter -> discarding sink, parallelism 1, vs the same plain loop
cat > "$work/p3.lua" <<'LUA'
local flow = require("flow")
local env = flow.env{ parallelism = 1 }
env:set_runtime_mode("streaming")
env:from_sequence(1, tonumber(arg[1])):map(function(x) return x * 3 end)
  :filter(function(x) return x % 2 == 0 end):add_sink(function() end)
env:execute("P3")
LUA
cat > "$work/p3_loop.lua" <<'LUA'
local map = function(x) return x * 3 end
local filter = function(x) return x % 2 == 0 end
local sink = function() end
for x = 1, tonumber(arg[1]) do local y = map(x) if filter(y) then sink(y) end end
LUA
read -r t_p3loop _ < <(secs luajit "$work/p3_loop.lua" "$SEQ")
read -r t_p3 _ < <(secs "$flowlua" "$work/p3.lua" "$SEQ")

# P4: the same with rebalance() between two maps (two threads)
cat > "$work/p4.lua" <<'LUA'
local flow = require("flow")
local env = flow.env{ parallelism = 1 }
env:set_runtime_mode("streaming")
env:from_sequence(1, tonumber(arg[1])):map(function(x) return x + 1 end):rebalance()
  :map(function(x) return x * 2 end):add_sink(function() end)
env:execute("P4")
LUA
read -r t_p4 _ < <(secs "$flowlua" "$work/p4.lua" "$SEQ")

# P5: a key_by exchange of (string, integer) tuples, parallelism 2
cat > "$work/p5.lua" <<'LUA'
local flow = require("flow")
local env = flow.env{ parallelism = 2 }
env:set_runtime_mode("streaming")
local keys = {}
for i = 1, 1000 do keys[i] = "key" .. i end
env:from_sequence(1, tonumber(arg[1])):map(function(x) return { keys[x % 1000 + 1], x } end)
  :key_by(1):add_sink(function() end)
env:execute("P5")
LUA
read -r t_p5 _ < <(secs "$flowlua" "$work/p5.lua" "$KEYS")

# P6: cold start of a 3-element job, vs luajit -e '' (mean of 20 runs)
cat > "$work/p6.lua" <<'LUA'
local flow = require("flow")
local env = flow.env{ parallelism = 1 }
env:from_elements(1, 2, 3):add_sink(function() end)
env:execute("P6")
LUA
mean_ms() {
  local start end_
  start=$(date +%s%N)
  for _ in $(seq 20); do "$@" >/dev/null; done
  end_=$(date +%s%N)
  awk -v a="$start" -v b="$end_" 'BEGIN { printf "%.1f", (b - a) / 20 / 1e6 }'
}
p6=$(mean_ms "$flowlua" "$work/p6.lua")
p6lj=$(mean_ms luajit -e '')

r1=$(ratio "$t_p1" "$t_loop"); r2=$(ratio "$t_p2" "$t_ref"); r3=$(ratio "$t_p3" "$t_p3loop")
m4=$(rate "$SEQ" "$t_p4"); m5=$(rate "$KEYS" "$t_p5"); mb=$(awk -v k="$rss_p1" 'BEGIN { printf "%.1f", k / 1024 }')

printf "%-4s %-58s %-24s %-10s %s\n" id benchmark measured target result
printf "%-4s %-58s %-24s %-10s %s\n" P1 "WordCount, $MIB MiB, Lua UDFs, parallelism 2" "${r1}x loop (${t_p1}s/${t_loop}s)" "<= 0.5x" "$(ok "$r1" 0.5 le)"
printf "%-4s %-58s %-24s %-10s %s\n" P2 "WordCount, flow.ops.words() + C keyed sum, parallelism 2" "${r2}x C (${t_p2}s/${t_ref}s)" "<= 1.0x" "$(ok "$r2" 1.0 le)"
printf "%-4s %-58s %-24s %-10s %s\n" P3 "from_sequence(1, $SEQ) -> map -> filter -> sink, par. 1" "${r3}x loop (${t_p3}s/${t_p3loop}s)" "<= 1.25x" "$(ok "$r3" 1.25 le)"
printf "%-4s %-58s %-24s %-10s %s\n" P4 "same with rebalance() between two maps (two threads)" "${m4} M rec/s" ">= 20" "$(ok "$m4" 20 ge)"
printf "%-4s %-58s %-24s %-10s %s\n" P5 "key_by exchange of (string, int) tuples, parallelism 2" "${m5} M rec/s" ">= 10" "$(ok "$m5" 10 ge)"
printf "%-4s %-58s %-24s %-10s %s\n" P6 "cold start, 3-element job (luajit -e '': ${p6lj} ms)" "${p6} ms" "<= 10 ms" "$(ok "$p6" 10 le)"
printf "%-4s %-58s %-24s %-10s %s\n" P7 "peak RSS of P1" "${mb} MB" "<= 64 MB" "$(ok "$mb" 64 le)"
