#!/usr/bin/env bash
# Backpressure benchmark: from_sequence -> map -> rebalance -> a deliberately
# slow sink, for SECONDS (default 60), then Ctrl-C. Prints records that
# reached the sink and peak RSS; bounded queues must keep memory flat.
#
#   scripts/bench/backpressure.sh [SECONDS] [path/to/flowlua]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-60}
flowlua=${2:-$root/build/flowlua}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/job.lua" <<'LUA'
local flow = require("flow")
local env = flow.env{ parallelism = 2 }
env:from_sequence(1, 1e15)
  :map(function(x) return { x, "a payload string of some length" } end)
  :rebalance()
  :add_sink{ invoke = function(self, v, ctx)
      self.n = (self.n or 0) + 1
      if self.n % 100 == 0 then ctx:counter("sunk"):add(100) end
      local t = os.clock() + 0.00002 -- ~20 us a record: far slower than the source
      while os.clock() < t do end
    end }
env:execute("backpressure")
LUA
/usr/bin/time -f "%M" -o "$work/rss" "$flowlua" "$work/job.lua" 2>"$work/err" &
pid=$!
sleep "$secs"
pkill -INT -P "$pid" 2>/dev/null # flowlua, the child of time (time ignores SIGINT)
wait "$pid"
code=$?
rss=$(tail -1 "$work/rss")
echo "ran ${secs}s, exit $code (130 = canceled by Ctrl-C), peak RSS ${rss} KB"
[ "$code" -eq 130 ] || { cat "$work/err" >&2; exit 1; }
[ "$rss" -lt 65536 ] || { echo "peak RSS above 64 MB" >&2; exit 1; }
