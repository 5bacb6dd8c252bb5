--- A timer service: timers ordered by timestamp in a binary min-heap,
--- deduplicated per (owner, key, namespace, timestamp) as Flink's
--- InternalTimerService. It runs inside the task's loop, never concurrently
--- with record processing. Registering an existing timer costs four table
--- lookups and allocates nothing (the hot path of every window element).
--- Equal times fire in registration order (seq).
---@class flow.TimerService
local TimerService = {}
TimerService.__index = TimerService

local M = {}

---@return flow.TimerService
function M.new()
  -- index[owner][key][ns][ts] = heap entry
  return setmetatable({ heap = {}, n = 0, index = {}, seq = 0 }, TimerService)
end

local function lookup(self, owner, key, ns, create)
  local a = self.index[owner]
  if not a then
    if not create then return nil end
    a = {}
    self.index[owner] = a
  end
  local b = a[key]
  if not b then
    if not create then return nil end
    b = {}
    a[key] = b
  end
  local c = b[ns]
  if not c then
    if not create then return nil end
    c = {}
    b[ns] = c
  end
  return c
end

local function unindex(self, e)
  local c = lookup(self, e[4], e[3], e[5], false)
  if c then
    c[e[1]] = nil
    if next(c) == nil then
      local b = self.index[e[4]][e[3]]
      b[e[5]] = nil
      if next(b) == nil then self.index[e[4]][e[3]] = nil end
    end
  end
end

--- Registers a timer; a second one for the same owner, key, namespace and
--- time is ignored. `key` is the state key (a string, number or boolean),
--- `ns` an optional namespace (a window id); `d1`, `d2` come back when it
--- fires.
function TimerService:register(owner, key, ts, ns, d1, d2)
  ns = ns or ""
  local c = lookup(self, owner, key, ns, true)
  if c[ts] then return end
  local seq = self.seq + 1
  self.seq = seq
  local e = { ts, seq, key, owner, ns, d1, d2, false } -- TS SEQ KEY OWNER NS D1 D2 DELETED
  c[ts] = e
  local h = self.heap
  local i = self.n + 1
  self.n = i
  while i > 1 do -- sift up (comparisons inline: the loops compile)
    local p = (i - i % 2) / 2
    local q = h[p]
    local qt = q[1]
    if qt < ts or (qt == ts and q[2] < seq) then break end
    h[i] = q
    i = p
  end
  h[i] = e
end

--- Deletes a timer (it will not fire); unknown timers are ignored.
function TimerService:delete(owner, key, ts, ns)
  local c = lookup(self, owner, key, ns or "", false)
  local e = c and c[ts]
  if e then
    e[8] = true
    unindex(self, e)
  end
end

local function pop(self)
  local h, n = self.heap, self.n
  local top = h[1]
  local e = h[n]
  h[n] = nil
  n = n - 1
  self.n = n
  if n == 0 then return top end
  local ts, seq = e[1], e[2]
  local i = 1
  while true do -- sift down (comparisons inline: the loops compile)
    local l = 2 * i
    if l > n then break end
    local m, c = l, h[l]
    local ct, cs = c[1], c[2]
    if l < n then
      local r = h[l + 1]
      local rt = r[1]
      if rt < ct or (rt == ct and r[2] < cs) then m, c, ct, cs = l + 1, r, rt, r[2] end
    end
    if ts < ct or (ts == ct and seq < cs) then break end
    h[i] = c
    i = m
  end
  h[i] = e
  return top
end

--- The time of the next live timer, or nil.
function TimerService:next_time()
  while self.n > 0 and self.heap[1][8] do pop(self) end
  return self.n > 0 and self.heap[1][1] or nil
end

--- Fires, in timestamp order, every timer due at `now`:
--- fire(owner, key, ts, ns, d1, d2). Timers registered while firing fire too
--- if they are due.
function TimerService:advance(now, fire)
  while true do
    local t = self:next_time()
    if t == nil or t > now then return end
    local e = pop(self)
    unindex(self, e)
    local ns = e[5]
    fire(e[4], e[3], e[1], ns ~= "" and ns or nil, e[6], e[7])
  end
end

function TimerService:size() return self.n end

--- The live timers of `owner`, as plain data: { { key, ts, ns, d1, d2 }, ... }.
function TimerService:snapshot(owner)
  local out = {}
  for i = 1, self.n do
    local e = self.heap[i]
    if e[4] == owner and not e[8] then
      out[#out + 1] = { e[3], e[1], e[5] ~= "" and e[5] or nil, e[6], e[7] }
    end
  end
  return out
end

--- Re-registers snapshot timers for `owner`; keep(t) filters (key groups).
function TimerService:restore(owner, timers, keep, fix)
  for _, t in ipairs(timers or {}) do
    if keep == nil or keep(t) then
      local d1, d2 = t[4], t[5]
      if fix then d1, d2 = fix(d1, d2) end
      self:register(owner, t[1], t[2], t[3], d1, d2)
    end
  end
end

return M
