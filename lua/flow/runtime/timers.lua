--- A timer service: timers ordered by timestamp, deduplicated per (owner,
--- key, namespace, timestamp) as Flink's InternalTimerService; equal times
--- fire in registration order. It runs inside the task's loop, never
--- concurrently with record processing.
---
--- Timers of one timestamp share a bucket (their entries in registration
--- order), and a binary min-heap orders the buckets' timestamps: jobs
--- register many timers for few distinct times (every key of a window, or
--- `ts + timeout` for the keys of one event time), so the heap stays small
--- while a lagging watermark leaves millions of timers pending.
--- Registering an existing timer costs four table lookups and allocates
--- nothing (the hot path of every window element).
---@class flow.TimerService
---@field n integer timers pending (deleted ones included until they are dropped)
local TimerService = {}
TimerService.__index = TimerService

local M = {}

-- an entry: { ts, key, owner, ns, d1, d2, deleted }
local TS, KEY, OWNER, NS, D1, D2, DELETED = 1, 2, 3, 4, 5, 6, 7

---@return flow.TimerService
function M.new()
  -- index[owner][key][ns][ts] = entry; buckets[ts] = { next = i, entry... };
  -- heap[1..hn] = the buckets' timestamps
  return setmetatable({ n = 0, index = {}, buckets = {}, heap = {}, hn = 0 }, TimerService)
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
  local owner, key, ns = e[OWNER], e[KEY], e[NS]
  local c = lookup(self, owner, key, ns, false)
  if c then
    c[e[TS]] = nil
    if next(c) == nil then
      local b = self.index[owner][key]
      b[ns] = nil
      if next(b) == nil then self.index[owner][key] = nil end
    end
  end
end

local function heap_push(self, ts)
  local h = self.heap
  local i = self.hn + 1
  self.hn = i
  while i > 1 do
    local p = (i - i % 2) / 2
    local pt = h[p]
    if pt <= ts then break end
    h[i] = pt
    i = p
  end
  h[i] = ts
end

local function heap_pop(self)
  local h, n = self.heap, self.hn
  local x = h[n]
  h[n] = nil
  n = n - 1
  self.hn = n
  if n == 0 then return end
  local i = 1
  while true do
    local l = 2 * i
    if l > n then break end
    local m, c = l, h[l]
    if l < n and h[l + 1] < c then m, c = l + 1, h[l + 1] end
    if x <= c then break end
    h[i] = c
    i = m
  end
  h[i] = x
end

--- Registers a timer; a second one for the same owner, key, namespace and
--- time is ignored. `key` is the state key (a string, number or boolean),
--- `ns` an optional namespace (a window id); `d1`, `d2` come back when it
--- fires.
function TimerService:register(owner, key, ts, ns, d1, d2)
  ns = ns or ""
  local c = lookup(self, owner, key, ns, true)
  if c[ts] then return end
  local e = { ts, key, owner, ns, d1, d2, false }
  c[ts] = e
  local buckets = self.buckets
  local b = buckets[ts]
  if b == nil then
    b = { next = 1 }
    buckets[ts] = b
    heap_push(self, ts)
  end
  b[#b + 1] = e
  self.n = self.n + 1
end

--- Deletes a timer (it will not fire); unknown timers are ignored.
function TimerService:delete(owner, key, ts, ns)
  local c = lookup(self, owner, key, ns or "", false)
  local e = c and c[ts]
  if e then
    e[DELETED] = true
    unindex(self, e)
  end
end

--- The earliest pending entry (deleted ones dropped on the way), or nil.
local function peek(self)
  local buckets, heap = self.buckets, self.heap
  while self.hn > 0 do
    local ts = heap[1]
    local b = buckets[ts]
    local i = b.next
    while i <= #b and b[i][DELETED] do
      b[i] = false
      i = i + 1
      self.n = self.n - 1
    end
    b.next = i
    if i <= #b then return b[i], b end
    buckets[ts] = nil
    heap_pop(self)
  end
  return nil
end

--- The time of the next live timer, or nil.
function TimerService:next_time()
  local e = peek(self)
  return e and e[TS]
end

--- Fires, in timestamp order, every timer due at `now`:
--- fire(owner, key, ts, ns, d1, d2). Timers registered while firing fire too
--- if they are due.
function TimerService:advance(now, fire)
  while true do
    local e, b = peek(self)
    if e == nil or e[TS] > now then return end
    b[b.next] = false -- (the bucket may grow while e fires: it stays in the heap)
    b.next = b.next + 1
    self.n = self.n - 1
    unindex(self, e)
    local ns = e[NS]
    fire(e[OWNER], e[KEY], e[TS], ns ~= "" and ns or nil, e[D1], e[D2])
  end
end

function TimerService:size() return self.n end

--- The live timers of `owner`, as plain data: { { key, ts, ns, d1, d2 }, ... },
--- in firing order.
function TimerService:snapshot(owner)
  local out, times = {}, {}
  for i = 1, self.hn do times[i] = self.heap[i] end
  table.sort(times)
  for _, ts in ipairs(times) do
    local b = self.buckets[ts]
    for i = b.next, #b do
      local e = b[i]
      if e and e[OWNER] == owner and not e[DELETED] then
        out[#out + 1] = { e[KEY], e[TS], e[NS] ~= "" and e[NS] or nil, e[D1], e[D2] }
      end
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
