#!/usr/bin/env bash
# Window benchmark: a keyed tumbling event-time window sum over N generated
# events (default 10 M) with 1000 keys; prints events/s at parallelism 1 and 2.
#
#   scripts/bench/windows.sh [EVENTS] [path/to/flowlua]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
n=${1:-10000000}
flowlua=${2:-$root/build/flowlua}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/job.lua" <<'LUA'
local flow = require("flow")
local n, p = tonumber(arg[1]), tonumber(arg[2])
local env = flow.env{ parallelism = p }
env:set_runtime_mode("streaming")
-- event time advances alike in every source subtask (timestamps interleave
-- across subtasks), so no window waits for a lagging input channel
local at = {} -- this subtask's (first value, parallelism, index), found once
local r = env:from_sequence(1, n)
  :map(function(x)
    if not at.p then
      local ctx = flow.get_runtime_context()
      at.s, at.p = ctx:subtask_index(), ctx:get_parallelism()
      at.lo = math.floor(at.s * n / at.p) + 1
    end
    return { x % 1000, 1, (x - at.lo) * at.p + at.s }
  end)
  :assign_timestamps_and_watermarks(flow.watermarks.for_monotonous_timestamps()
    :with_timestamp_assigner(function(e) return e[3] end))
  :key_by(1)
  :window(flow.windows.tumbling_event_time(10000))
  :sum(2)
  :process{ process_element = function(self, v, ctx) ctx:counter("events"):add(v[2]) end }
  :add_sink(function() end)
local res = env:execute("window benchmark")
io.stderr:write(string.format("%d %d\n", res.accumulators.events or 0, res.net_runtime_ms))
LUA
printf "%-26s %10s %14s %10s\n" "run ($n events)" "seconds" "events/s" "peak RSS"
for p in 1 2; do
  /usr/bin/time -f "%e %M" -o "$work/time" "$flowlua" "$work/job.lua" "$n" "$p" 2>"$work/err" >/dev/null
  read -r counted _ < <(tail -1 "$work/err")
  read -r secs rss < "$work/time"
  [ "$counted" = "$n" ] || { echo "parallelism $p: windows summed $counted events, expected $n" >&2; exit 1; }
  awk -v p="$p" -v s="$secs" -v n="$n" -v r="$rss" \
    'BEGIN { printf "%-26s %10.2f %14.0f %7d KB\n", "flowlua parallelism " p, s, n / s, r }'
done
