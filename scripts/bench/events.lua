--- The stateful benchmarks' events (scripts/bench/windows_job.lua and its
--- plain-loop reference windows_loop.lua): event i of N as (key, timestamp),
--- a pure function of i, so a job's source subtasks and the reference see
--- the same events. Timestamps are milliseconds.
---
---   tumbling, sliding: 1000 keys round robin, one event per millisecond.
---   session: 10 000 keys; each key's events come in bursts of 5, 2 s apart
---     (within the 10 s gap), bursts 30 s apart (pauses of 22 s > the gap).
---   timeout (Flink's CountWithTimeout): 1000 keys; bursts of 5 events 1 s
---     apart every 10 s, so a key's 5 s timer fires after each burst.
---
--- With `disorder` > 0, each timestamp is moved back by a pseudo-random
--- amount below `disorder` ms (a bounded out-of-orderness watermark with
--- that bound loses nothing): tumbling and sliding windows and sessions
--- (whose bursts stay apart) keep their contents; timeouts keep their
--- final counts (what the benchmark checks).
local M = {}

local floor = math.floor

M.KINDS = { tumbling = true, sliding = true, session = true, timeout = true }

--- Keys of a kind.
function M.keys(kind)
  return kind == "session" and 10000 or 1000
end

---@param kind string
---@param i integer 1-based event index
---@param disorder? integer ms (0: in order)
---@return integer key
---@return integer ts
function M.event(kind, i, disorder)
  local x = i - 1
  local key, ts
  if kind == "tumbling" or kind == "sliding" then
    key, ts = x % 1000, x
  elseif kind == "session" then
    local j = floor(x / 10000)
    key, ts = x % 10000, floor(j / 5) * 30000 + (j % 5) * 2000
  else -- timeout
    local j = floor(x / 1000)
    key, ts = x % 1000, floor(j / 5) * 10000 + (j % 5) * 1000
  end
  if disorder and disorder > 0 then ts = ts - (x * 7919) % disorder end
  return key, ts
end

return M
