#!/usr/bin/env bash
# Checkpoint overhead: streaming WordCount (running counts, keyed state)
# over generated text, with checkpoints every second vs without; prints
# both times and the throughput loss.
#
#   scripts/bench/checkpoints.sh [MiB] [path/to/flowlua]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mib=${1:-30}
flowlua=${2:-$root/build/flowlua}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
luajit "$here/gen_text.lua" "$work/input.txt" "$mib"
cat > "$work/job.lua" <<'LUA'
local flow = require("flow")
local input, ck = arg[1], arg[2]
local env = flow.env{ parallelism = 2 }
env:set_runtime_mode("streaming")
if ck ~= "off" then env:enable_checkpointing(1000, { dir = ck }) end
env:read_text_file(input)
  :flat_map(function(line, out)
    for word in line:lower():gmatch("[%w_]+") do out:collect({ word, 1 }) end
  end)
  :key_by(1):sum(2)
  :add_sink(function() end)
env:execute("checkpointed wordcount")
LUA
# the best of 3 runs each, alternating, so machine noise hits both alike
run() { /usr/bin/time -f "%e" -o "$work/t" "$flowlua" "$work/job.lua" "$work/input.txt" "$1" >/dev/null; cat "$work/t"; }
off=999999; on=999999
for _ in 1 2 3; do
  t=$(run off); off=$(awk -v a="$off" -v b="$t" 'BEGIN { print (b < a) ? b : a }')
  rm -rf "$work/ck"
  t=$(run "$work/ck"); on=$(awk -v a="$on" -v b="$t" 'BEGIN { print (b < a) ? b : a }')
done
n=$(ls "$work/ck"/*/ 2>/dev/null | grep -c chk || true)
awk -v off="$off" -v on="$on" -v mib="$mib" -v n="$n" 'BEGIN {
  printf "streaming WordCount, %d MiB, parallelism 2, best of 3\n", mib
  printf "  checkpoints off      %6.2f s\n", off
  printf "  every 1 s            %6.2f s  (%+.1f %% time, last checkpoint kept: %d)\n", on, (on / off - 1) * 100, n
}'
