--- A timer service: timers ordered by timestamp in a binary min-heap,
--- deduplicated per (owner, key, timestamp) as Flink's
--- InternalTimerService. Used for processing-time timers now (and event
--- time later); it runs inside the task's loop, never concurrently with
--- record processing.
---@class flow.TimerService
local TimerService = {}
TimerService.__index = TimerService

local M = {}

---@return flow.TimerService
function M.new()
  return setmetatable({ heap = {}, n = 0, index = {} }, TimerService)
end

local function id_of(owner, key, ts, ns)
  return tostring(owner) .. "\0" .. tostring(key) .. "\0" .. (ns or "") .. "\0" .. ts
end

local function less(a, b)
  if a.ts ~= b.ts then return a.ts < b.ts end
  return a.seq < b.seq -- equal times fire in registration order
end

local seq = 0

--- Registers a timer; a second one for the same owner, key, namespace and
--- time is ignored. `key` must print stably with tostring (a string, number
--- or boolean: callers pass the state key); `ns` is an optional namespace
--- string (a window), handed back with the timer.
function TimerService:register(owner, key, ts, ns, data)
  local id = id_of(owner, key, ts, ns)
  if self.index[id] then return end
  seq = seq + 1
  local e = { ts = ts, key = key, owner = owner, id = id, seq = seq, ns = ns, data = data }
  self.index[id] = e
  local h = self.heap
  local i = self.n + 1
  self.n = i
  h[i] = e
  while i > 1 do -- sift up
    local p = math.floor(i / 2)
    if not less(h[i], h[p]) then break end
    h[i], h[p] = h[p], h[i]
    i = p
  end
end

--- Deletes a timer (it will not fire); unknown timers are ignored.
function TimerService:delete(owner, key, ts, ns)
  local e = self.index[id_of(owner, key, ts, ns)]
  if e then
    e.deleted = true
    self.index[e.id] = nil
  end
end

local function pop(self)
  local h, n = self.heap, self.n
  local top = h[1]
  h[1] = h[n]
  h[n] = nil
  n = n - 1
  self.n = n
  local i = 1
  while true do -- sift down
    local l, r, m = 2 * i, 2 * i + 1, i
    if l <= n and less(h[l], h[m]) then m = l end
    if r <= n and less(h[r], h[m]) then m = r end
    if m == i then break end
    h[i], h[m] = h[m], h[i]
    i = m
  end
  return top
end

--- The time of the next live timer, or nil.
function TimerService:next_time()
  while self.n > 0 and self.heap[1].deleted do pop(self) end
  return self.n > 0 and self.heap[1].ts or nil
end

--- Fires, in timestamp order, every timer due at `now`:
--- fire(owner, key, ts, ns, data).
--- Timers registered while firing fire too if they are due.
function TimerService:advance(now, fire)
  while true do
    local t = self:next_time()
    if t == nil or t > now then return end
    local e = pop(self)
    self.index[e.id] = nil
    fire(e.owner, e.key, e.ts, e.ns, e.data)
  end
end

function TimerService:size() return self.n end

return M
