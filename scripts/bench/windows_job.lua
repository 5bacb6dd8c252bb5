-- The stateful benchmarks as flowlua jobs (run by scripts/bench/windows.sh
-- and run_all.sh): KIND N [PARALLELISM [DISORDER_MS [CHECKPOINT_MS]]].
--   tumbling  W1: keyed tumbling event-time window (10 s) sum
--   sliding   W2: keyed sliding event-time window (10 s, slide 2 s) sum
--   session   W3: keyed event-time session window (10 s gap) sum
--   timeout   W4: a keyed process function (Flink's CountWithTimeout): a
--             value state per key and an event-time timer at ts + 5000 per
--             event; the timer emits the key's count when no later event came
-- Prints "checksum windows" to stderr (windows_loop.lua prints the same).
local flow = require("flow")
local events = require("events")
local kind, n = arg[1], tonumber(arg[2])
local p, disorder, interval = tonumber(arg[3] or 1), tonumber(arg[4] or 0), tonumber(arg[5] or 0)
assert(events.KINDS[kind], "kind: tumbling, sliding, session or timeout")
local env = flow.env{ parallelism = p }
env:set_runtime_mode("streaming")
if interval > 0 then env:enable_checkpointing(interval, { dir = os.tmpname() .. ".ck" }) end

-- event time advances alike in every source subtask: subtask s of p takes
-- events s+1, s+1+p, ... (so no window waits for a lagging channel)
local stream = env:add_source(function(ctx)
  local s, par = ctx:subtask_index(), ctx:parallelism()
  for i = s + 1, n, par do
    local key, ts = events.event(kind, i, disorder)
    ctx:collect({ key, 1, ts })
  end
end, { name = "events", parallelism = p })
local strategy = disorder > 0 and flow.watermarks.for_bounded_out_of_orderness(disorder)
  or flow.watermarks.for_monotonous_timestamps()
local keyed = stream:assign_timestamps_and_watermarks(strategy:with_timestamp_assigner(function(e) return e[3] end))
  :key_by(1)

local result
if kind == "timeout" then
  result = keyed:process{
    process_element = function(self, e, ctx, out)
      local count = ctx:value_state("count", 0)
      count:update(count:value() + 1)
      ctx:value_state("last"):update(e[3])
      ctx:register_event_time_timer(e[3] + 5000)
    end,
    on_timer = function(self, ts, ctx, out)
      ctx:counter("timers"):add(1)
      if ts == ctx:value_state("last"):value() + 5000 then
        out:collect({ ctx:current_key(), ctx:value_state("count", 0):value() })
      end
    end,
  }
else
  local assigner = kind == "tumbling" and flow.windows.tumbling_event_time(10000)
    or kind == "sliding" and flow.windows.sliding_event_time(10000, 2000)
    or flow.windows.event_time_session(10000)
  result = keyed:window(assigner):sum(2)
end
-- checksum: per window result, count * (key + 1); for timeouts, the final
-- count of each key (its largest) * (key + 1)
result:process{
  process_element = function(self, v, ctx)
    if kind == "timeout" then
      self.last = self.last or {}
      local prev = self.last[v[1]] or 0
      if v[2] > prev then
        ctx:counter("checksum"):add((v[2] - prev) * (v[1] + 1))
        self.last[v[1]] = v[2]
      end
    else
      ctx:counter("checksum"):add(v[2] * (v[1] + 1))
      ctx:counter("windows"):add(1)
    end
  end,
}:set_parallelism(1):add_sink(function() end)
local r = env:execute("stateful benchmark " .. kind)
local a = r.accumulators
io.stderr:write(string.format("%d %d\n", a.checksum or 0, kind == "timeout" and (a.timers or 0) or (a.windows or 0)))
