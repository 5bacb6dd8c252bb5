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

if [ $tiny = 1 ]; then MIB=1; SEQ=200000; KEYS=200000; EVENTS=50000; RUNS=1
else MIB=100; SEQ=100000000; KEYS=20000000; EVENTS=5000000; fi

# seconds and peak RSS (KB) of a command: the best time of $RUNS runs
# (the machine's noise only ever adds time) or, with STAT=median, their
# median; the largest RSS
RUNS=${RUNS:-3}
STAT=${STAT:-best}
case $STAT in best|median) ;; *) echo "STAT must be best or median" >&2; exit 2;; esac
# (a third field: the CPU seconds, user + system, at the same statistic)
secs() {
  local rss=0 t m c t0 t1 times="" cpus=""
  for _ in $(seq "$RUNS"); do
    t0=$(date +%s%N)
    /usr/bin/time -f "%M %U %S" -o "$work/t" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    t1=$(date +%s%N)
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }') # ms precision
    times="$times$t"$'\n'
    read -r m c < <(awk '{ printf "%d %.2f\n", $1, $2 + $3 }' "$work/t")
    cpus="$cpus$c"$'\n'
    [ "$m" -gt "$rss" ] && rss=$m
  done
  if [ "$STAT" = median ]; then
    local med='{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
    t=$(printf '%s' "$times" | sort -n | awk "$med")
    c=$(printf '%s' "$cpus" | sort -n | awk "$med")
  else
    t=$(printf '%s' "$times" | sort -n | head -1)
    c=$(printf '%s' "$cpus" | sort -n | head -1)
  fi
  echo "$t $rss $c"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? n / s / 1e6 : 0) }'; }
ok() { awk -v x="$1" -v t="$2" -v op="$3" 'BEGIN { r = (op == "le") ? (x <= t) : (x >= t); print r ? "met" : "MISSED" }'; }

luajit "$here/gen_text.lua" "$work/text.txt" "$MIB"
cc -O2 -o "$work/wcref" "$here/wordcount_ref.c"

# P1: WordCount with Lua UDFs, parallelism 2, vs a plain LuaJIT loop (and P7: its peak RSS)
read -r t_loop _ < <(secs luajit "$here/wordcount_plain.lua" "$work/text.txt" "$work/loop.out")
read -r t_p1 rss_p1 _ < <(secs "$flowlua" "$root/examples/wordcount.lua" --input "$work/text.txt" \
  --output "$work/p1.out" --parallelism 2)
sort "$work/loop.out" > "$work/loop.sorted"
cat "$work/p1.out"/* | sort | cmp -s - "$work/loop.sorted" || { echo "P1: counts differ" >&2; exit 1; }

# P2: WordCount with flow.ops.words() and the C keyed sum, parallelism 2, vs hand-written C
read -r t_ref _ < <(secs "$work/wcref" "$work/text.txt" "$work/ref.out")
read -r t_p2 _ < <(secs "$flowlua" "$here/p2.lua" "$work/text.txt" "$work/p2.out")
cat "$work/p2.out"/* | sort | cmp -s - "$work/loop.sorted" || { echo "P2: counts differ" >&2; exit 1; }

# P3: from_sequence -> map -> filter -> discarding sink, parallelism 1, vs the same plain loop
cat > "$work/p3_loop.lua" <<'LUA'
local map = function(x) return x * 3 end
local filter = function(x) return x % 2 == 0 end
local sink = function() end
for x = 1, tonumber(arg[1]) do local y = map(x) if filter(y) then sink(y) end end
LUA
read -r t_p3loop _ < <(secs luajit "$work/p3_loop.lua" "$SEQ")
read -r t_p3 _ < <(secs "$flowlua" "$here/p3.lua" "$SEQ")

# P4: the same with rebalance() between two maps (two threads)
read -r t_p4 _ < <(secs "$flowlua" "$here/p4.lua" "$SEQ")

# P5: a key_by exchange of (string, integer) tuples, parallelism 2
read -r t_p5 _ < <(secs "$flowlua" "$here/p5.lua" "$KEYS")

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

# --- issue 14: WordCount at parallelism 1, and on short words ----------------
# P1 at parallelism 1 (the README's text)
read -r t_p1a _ < <(secs "$flowlua" "$root/examples/wordcount.lua" --input "$work/text.txt" \
  --output "$work/p1a.out" --parallelism 1)
# the short-word text: ~6-byte words, 50 000 distinct, Zipf-like, ~11 a line
luajit "$here/gen_text.lua" "$work/short.txt" "$MIB" short
read -r t_sloop _ < <(secs luajit "$here/wordcount_plain.lua" "$work/short.txt" "$work/sloop.out")
sort "$work/sloop.out" > "$work/sloop.sorted"
read -r t_s1 _ < <(secs "$flowlua" "$root/examples/wordcount.lua" --input "$work/short.txt" \
  --output "$work/s1.out" --parallelism 1)
read -r t_s2 rss_s2 _ < <(secs "$flowlua" "$root/examples/wordcount.lua" --input "$work/short.txt" \
  --output "$work/s2.out" --parallelism 2)
outputs() { if [ -d "$1" ]; then cat "$1"/*; else cat "$1"; fi; } # parallelism 1 writes one file
for o in p1a s1 s2; do
  outputs "$work/$o.out" | sort | cmp -s - "$work/$(case $o in p1a) echo loop;; *) echo sloop;; esac).sorted" ||
    { echo "$o: counts differ" >&2; exit 1; }
done
read -r t_sref _ < <(secs "$work/wcref" "$work/short.txt" "$work/sref.out")
read -r t_sp2 _ < <(secs "$flowlua" "$here/p2.lua" "$work/short.txt" "$work/sp2.out")
cat "$work/sp2.out"/* | sort | cmp -s - "$work/sloop.sorted" || { echo "P2 short: counts differ" >&2; exit 1; }

# --- issue 14: the stateful benchmarks (windows_job.lua vs windows_loop.lua) -
# each job's checksum must equal its loop's; then the times
cp "$here/events.lua" "$here/windows_job.lua" "$work/"
check_w() { # kind parallelism disorder checkpoint_ms
  "$flowlua" "$work/windows_job.lua" "$1" "$EVENTS" "$2" "$3" "$4" >/dev/null 2>"$work/wjob" ||
    { cat "$work/wjob" >&2; exit 1; }
  luajit "$here/windows_loop.lua" "$1" "$EVENTS" "$3" 2>"$work/wloop"
  [ "$(tail -1 "$work/wjob")" = "$(cat "$work/wloop")" ] ||
    { echo "$1 (p $2, disorder $3): job $(tail -1 "$work/wjob"), loop $(cat "$work/wloop")" >&2; exit 1; }
}
declare -A wt wl wd wrss
for k in tumbling sliding session timeout; do
  check_w "$k" 1 0 0
  check_w "$k" 1 1000 1000
  read -r wl[$k] _ < <(secs luajit "$here/windows_loop.lua" "$k" "$EVENTS")
  read -r wt[$k] _ < <(secs "$flowlua" "$work/windows_job.lua" "$k" "$EVENTS" 1)
  read -r wd[$k] wrss[$k] _ < <(secs "$flowlua" "$work/windows_job.lua" "$k" "$EVENTS" 1 1000 1000)
done
check_w tumbling 2 0 0
read -r t_w1 _ c_w1 < <(secs "$flowlua" "$work/windows_job.lua" tumbling "$EVENTS" 1)
read -r t_w1p2 _ c_w1p2 < <(secs "$flowlua" "$work/windows_job.lua" tumbling "$EVENTS" 2)
max_rss=0
for k in tumbling sliding session timeout; do [ "${wrss[$k]}" -gt "$max_rss" ] && max_rss=${wrss[$k]}; done
worst_d=$(for k in tumbling sliding session timeout; do ratio "${wd[$k]}" "${wt[$k]}"; echo; done | sort -n | tail -1)

# timestamps: a chain with and without assign_timestamps_and_watermarks
cat > "$work/ts.lua" <<'LUA'
local flow = require("flow")
local env = flow.env{ parallelism = 1 }
env:set_runtime_mode("streaming")
local s = env:from_sequence(1, tonumber(arg[1])):map(function(x) return { x % 1000, 1, x } end)
if arg[2] == "ts" then
  s = s:assign_timestamps_and_watermarks(flow.watermarks.for_monotonous_timestamps()
    :with_timestamp_assigner(function(e) return e[3] end))
end
s:add_sink(function(e) if e[2] ~= 1 then error("bad record") end end)
env:execute("timestamps")
LUA
read -r t_nots _ < <(secs "$flowlua" "$work/ts.lua" "$SEQ" none)
read -r t_ts _ < <(secs "$flowlua" "$work/ts.lua" "$SEQ" ts)
ts_ns=$(awk -v a="$t_ts" -v b="$t_nots" -v n="$SEQ" 'BEGIN { d = (a - b) * 1e9 / n; printf "%.1f", d < 0 ? 0 : d }')

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
r1a=$(ratio "$t_p1a" "$t_loop"); rs1=$(ratio "$t_s1" "$t_sloop"); rs2=$(ratio "$t_s2" "$t_sloop")
rsp2=$(ratio "$t_sp2" "$t_sref"); mbs=$(awk -v k="$rss_s2" 'BEGIN { printf "%.1f", k / 1024 }')
printf "%-4s %-58s %-24s %-10s %s\n" P1a "WordCount, $MIB MiB, Lua UDFs, parallelism 1" "${r1a}x loop (${t_p1a}s/${t_loop}s)" "<= 1.1x" "$(ok "$r1a" 1.1 le)"
printf "%-4s %-58s %-24s %-10s %s\n" P1s "short words: Lua UDFs, parallelism 2" "${rs2}x loop (${t_s2}s/${t_sloop}s)" "<= 0.55x" "$(ok "$rs2" 0.55 le)"
printf "%-4s %-58s %-24s %-10s %s\n" P1sa "short words: Lua UDFs, parallelism 1" "${rs1}x loop (${t_s1}s/${t_sloop}s)" "<= 1.1x" "$(ok "$rs1" 1.1 le)"
printf "%-4s %-58s %-24s %-10s %s\n" P2s "short words: words() + C keyed sum, parallelism 2" "${rsp2}x C (${t_sp2}s/${t_sref}s)" "<= 1.0x" "$(ok "$rsp2" 1.0 le)"
printf "%-4s %-58s %-24s %-10s %s\n" P7s "short words: peak RSS at parallelism 2" "${mbs} MB" "<= 64 MB" "$(ok "$mbs" 64 le)"
w1=$(ratio "${wt[tumbling]}" "${wl[tumbling]}"); w2=$(ratio "${wt[sliding]}" "${wl[sliding]}")
w3=$(ratio "${wt[session]}" "${wl[session]}"); w4=$(ratio "${wt[timeout]}" "${wl[timeout]}")
w1w=$(ratio "$t_w1p2" "$t_w1"); w1c=$(ratio "$c_w1p2" "$c_w1")
mbw=$(awk -v k="$max_rss" 'BEGIN { printf "%.1f", k / 1024 }')
printf "%-4s %-58s %-24s %-10s %s\n" W1 "tumbling window sum, $EVENTS events, 1000 keys, par. 1" "${w1}x loop (${wt[tumbling]}s/${wl[tumbling]}s)" "<= 3x" "$(ok "$w1" 3 le)"
printf "%-4s %-58s %-24s %-10s %s\n" W1p2 "the same at parallelism 2: wall time / parallelism 1" "${w1w}x (${t_w1p2}s/${t_w1}s)" "<= 0.8x" "$(ok "$w1w" 0.8 le)"
printf "%-4s %-58s %-24s %-10s %s\n" W1c "the same at parallelism 2: CPU time / parallelism 1" "${w1c}x (${c_w1p2}s/${c_w1}s)" "<= 1.2x" "$(ok "$w1c" 1.2 le)"
printf "%-4s %-58s %-24s %-10s %s\n" W2 "sliding window (10 s / 2 s) sum, par. 1" "${w2}x loop (${wt[sliding]}s/${wl[sliding]}s)" "<= 3x" "$(ok "$w2" 3 le)"
printf "%-4s %-58s %-24s %-10s %s\n" W3 "session window (10 s gap) sum, 10000 keys, par. 1" "${w3}x loop (${wt[session]}s/${wl[session]}s)" "<= 4x" "$(ok "$w3" 4 le)"
printf "%-4s %-58s %-24s %-10s %s\n" W4 "CountWithTimeout (value state + timer per event), par. 1" "${w4}x loop (${wt[timeout]}s/${wl[timeout]}s)" "<= 3x" "$(ok "$w4" 3 le)"
printf "%-4s %-58s %-24s %-10s %s\n" Wd "W1-W4, 1 s disorder + checkpoints every 1 s: worst / in order" "${worst_d}x" "<= 1.5x" "$(ok "$worst_d" 1.5 le)"
printf "%-4s %-58s %-24s %-10s %s\n" Wm "W1-W4 with disorder and checkpoints: largest peak RSS" "${mbw} MB" "<= 100 MB" "$(ok "$mbw" 100 le)"
printf "%-4s %-58s %-24s %-10s %s\n" TS "timestamps + periodic watermarks, per record" "${ts_ns} ns" "<= 15 ns" "$(ok "$ts_ns" 15 le)"
