--- A timer service: timers ordered by timestamp, deduplicated per (owner,
--- key, namespace, timestamp) as Flink's InternalTimerService; equal times
--- fire in registration order. It runs inside the task's loop, never
--- concurrently with record processing.
---
--- Timers of one timestamp share a bucket, and a binary min-heap orders the
--- buckets' timestamps: jobs register many timers for few distinct times
--- (every key of a window, or `ts + timeout` for the keys of one event
--- time), so the heap stays small while a lagging watermark leaves millions
--- of timers pending.
---
--- A bucket holds its entries flat, FIELDS slots each (key, owner, ns, d1,
--- d2: no table per timer), and its own dedup index: seen[owner][ns][key] =
--- the entry's number. Invariants: an entry numbered below `b.next` has
--- fired (or is firing); a deleted entry's owner slot is false and its key
--- is gone from the index; a bucket leaves `buckets` and the heap together,
--- when its last entry has fired, taking its index with it (firing never
--- walks an index). The last (owner, ns) looked up is cached in the bucket:
--- a bucket nearly always serves one owner and one namespace, so
--- registering an existing timer costs two lookups and allocates nothing.
---@class flow.TimerService
---@field n integer timers pending (deleted ones included until they are dropped)
local TimerService = {}
TimerService.__index = TimerService

local M = {}

local FIELDS = 5 -- per entry: key, owner, ns, d1, d2 at base + 1 .. base + 5
local NIL = {} -- stands for a nil d1/d2 (keeps the entries an array)

---@return flow.TimerService
function M.new()
  -- buckets[ts] = bucket; heap[1..hn] = the buckets' timestamps
  return setmetatable({ n = 0, buckets = {}, heap = {}, hn = 0 }, TimerService)
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

-- the bucket's dedup table of (owner, ns), created when `create`
local function dedup(b, owner, ns, create)
  if b.o == owner and b.ns == ns then return b.d end
  local seen = b.seen
  local so = seen[owner]
  if so == nil then
    if not create then return nil end
    so = {}
    seen[owner] = so
  end
  local d = so[ns]
  if d == nil then
    if not create then return nil end
    d = {}
    so[ns] = d
  end
  b.o, b.ns, b.d = owner, ns, d
  return d
end

--- Registers a timer; a second one for the same owner, key, namespace and
--- time is ignored while the first is pending. `key` is the state key (a
--- string, number or boolean), `ns` an optional namespace (a window id);
--- `d1`, `d2` come back when it fires.
function TimerService:register(owner, key, ts, ns, d1, d2)
  if ns == nil then ns = "" end
  local buckets = self.buckets
  local b = buckets[ts]
  if b == nil then
    b = { ts = ts, next = 1, n = 0, seen = {}, o = false, ns = false, d = false }
    buckets[ts] = b
    heap_push(self, ts)
  end
  local d
  if b.o == owner and b.ns == ns then d = b.d else d = dedup(b, owner, ns, true) end
  local i = d[key]
  if i ~= nil and i >= b.next then return end
  i = b.n + 1
  b.n = i
  d[key] = i
  local base = i * FIELDS - FIELDS
  b[base + 1] = key
  b[base + 2] = owner
  b[base + 3] = ns
  if d1 == nil then d1 = NIL end
  if d2 == nil then d2 = NIL end
  b[base + 4] = d1
  b[base + 5] = d2
  self.n = self.n + 1
end

--- Deletes a timer (it will not fire); unknown timers are ignored.
function TimerService:delete(owner, key, ts, ns)
  local b = self.buckets[ts]
  if b == nil then return end
  local d = dedup(b, owner, ns or "", false)
  local i = d and d[key]
  if i ~= nil and i >= b.next then
    b[i * FIELDS - FIELDS + 2] = false
    d[key] = nil
  end
end

--- The bucket and number of the earliest pending entry (deleted ones
--- dropped on the way), or nil.
local function peek(self)
  local buckets, heap = self.buckets, self.heap
  while self.hn > 0 do
    local ts = heap[1]
    local b = buckets[ts]
    local i, n = b.next, b.n
    while i <= n and b[i * FIELDS - FIELDS + 2] == false do
      i = i + 1
      self.n = self.n - 1
    end
    b.next = i
    if i <= n then return b, i end
    buckets[ts] = nil
    heap_pop(self)
  end
  return nil
end

--- The time of the next live timer, or nil.
function TimerService:next_time()
  local b = peek(self)
  return b and b.ts
end

--- Fires, in timestamp order, every timer due at `now`:
--- fire(owner, key, ts, ns, d1, d2). Timers registered while firing fire too
--- if they are due.
function TimerService:advance(now, fire)
  while true do
    local b, i = peek(self)
    if b == nil or b.ts > now then return end
    b.next = i + 1 -- (the bucket may grow while the entry fires: it stays in the heap)
    self.n = self.n - 1
    local base = i * FIELDS - FIELDS
    local ns, d1, d2 = b[base + 3], b[base + 4], b[base + 5]
    if d1 == NIL then d1 = nil end
    if d2 == NIL then d2 = nil end
    fire(b[base + 2], b[base + 1], b.ts, ns ~= "" and ns or nil, d1, d2)
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
    for i = b.next, b.n do
      local base = i * FIELDS - FIELDS
      if b[base + 2] == owner then
        local ns, d1, d2 = b[base + 3], b[base + 4], b[base + 5]
        if d1 == NIL then d1 = nil end
        if d2 == NIL then d2 = nil end
        if ns == "" then ns = nil end
        out[#out + 1] = { b[base + 1], ts, ns, d1, d2 }
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
