--- A timer service: timers ordered by timestamp, deduplicated per (owner,
--- key, namespace, timestamp) as Flink's InternalTimerService; equal times
--- fire in registration order. It runs inside the task's loop, never
--- concurrently with record processing.
---
--- Layout: no table per timer (a lagging watermark may leave hundreds of
--- thousands pending; a table each made every GC cycle walk them all). A
--- timer is FIELDS consecutive slots (key, owner, ns, d1, d2) of an array:
--- - time is cut into chunks of CHUNK units; chunk.at[ts] is the lone
---   timer at that time as an id into the slab (the service's flat array,
---   ids of fired timers reused), or, once a second timer shares the time
---   (every key of a window, `ts + timeout` for the keys of one event
---   time), a bucket: its timers inline in registration order, positions
---   b.next to b.n, and its dedup index seen[owner][ns][key] = position;
--- - a chunk's array part is a min-heap of its distinct times, and a
---   min-heap of chunk numbers orders the chunks: every lookup and heap
---   step stays inside a small chunk (one big hash of times and one big
---   heap were a cache miss per timer).
--- Invariants: a time is in its chunk's heap iff it is in chunk.at; a
--- chunk number is in the chunk heap iff the chunk is in `chunks` (an
--- emptied chunk is dropped when it reaches the top); a bucket's positions
--- below b.next have fired (or are firing); a deleted timer's owner slot is
--- false and its key is gone from the dedup index. The last (owner, ns)
--- looked up is cached in the bucket: buckets nearly always serve one owner
--- and namespace, so registering an existing timer costs a few lookups.
---@class flow.TimerService
---@field n integer timers pending (deleted ones included until they are dropped)
local TimerService = {}
TimerService.__index = TimerService

local M = {}

local FIELDS = 5 -- key, owner, ns, d1, d2 at base + 1 .. base + 5
local NIL = {} -- stands for a nil d1/d2 (keeps the arrays arrays)
local CHUNK = 1024 -- time units (ms) per chunk
local floor = math.floor

---@return flow.TimerService
function M.new()
  return setmetatable({ n = 0, chunks = {}, cheap = {}, cn = 0, slab = {}, free = {}, nfree = 0, top = 0 },
    TimerService)
end

-- binary min-heap on h[1..n]: push returns the new size, pop drops h[1]
local function heap_push(h, n, x)
  local i = n + 1
  while i > 1 do
    local p = (i - i % 2) / 2
    local pv = h[p]
    if pv <= x then break end
    h[i] = pv
    i = p
  end
  h[i] = x
  return n + 1
end

local function heap_pop(h, n)
  local x = h[n]
  h[n] = nil
  n = n - 1
  if n == 0 then return 0 end
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
  return n
end

-- writes a timer at a[base + 1 .. base + FIELDS]
local function put(a, base, owner, key, ns, d1, d2)
  if d1 == nil then d1 = NIL end
  if d2 == nil then d2 = NIL end
  a[base + 1] = key
  a[base + 2] = owner
  a[base + 3] = ns
  a[base + 4] = d1
  a[base + 5] = d2
end

-- a slab id for a lone timer
local function new_id(self, owner, key, ns, d1, d2)
  local id
  local nf = self.nfree
  if nf > 0 then
    id = self.free[nf]
    self.nfree = nf - 1
  else
    id = self.top + 1
    self.top = id
  end
  put(self.slab, id * FIELDS - FIELDS, owner, key, ns, d1, d2)
  return id
end

local function free_id(self, id)
  local slab, base = self.slab, id * FIELDS - FIELDS
  slab[base + 1], slab[base + 2], slab[base + 3], slab[base + 4], slab[base + 5] = NIL, false, NIL, NIL, NIL
  local nf = self.nfree + 1
  self.nfree = nf
  self.free[nf] = id
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

-- the chunk of time `ts` falls in, created when `create`
local function chunk_of(self, ts, create)
  local ck = floor(ts / CHUNK)
  local c = self.chunks[ck]
  if c == nil and create then
    c = { hn = 0, at = {} }
    self.chunks[ck] = c
    self.cn = heap_push(self.cheap, self.cn, ck)
  end
  return c
end

--- Registers a timer; a second one for the same owner, key, namespace and
--- time is ignored while the first is pending. `key` is the state key (a
--- string, number or boolean), `ns` an optional namespace (a window id);
--- `d1`, `d2` come back when it fires.
function TimerService:register(owner, key, ts, ns, d1, d2)
  if ns == nil then ns = "" end
  local c = chunk_of(self, ts, true)
  local at = c.at
  local b = at[ts]
  if b == nil then
    at[ts] = new_id(self, owner, key, ns, d1, d2)
    c.hn = heap_push(c, c.hn, ts)
    self.n = self.n + 1
    return
  end
  if type(b) == "number" then -- a second timer at this time: a bucket
    local slab, id = self.slab, b
    local base = id * FIELDS - FIELDS
    local o0, k0, ns0 = slab[base + 2], slab[base + 1], slab[base + 3]
    if o0 == owner and k0 == key and ns0 == ns then return end
    b = { next = 1, n = 0, seen = {}, o = false, ns = false, d = false }
    if o0 then
      b.n = 1
      for j = 1, FIELDS do b[j] = slab[base + j] end
      dedup(b, o0, ns0, true)[k0] = 1
    else
      self.n = self.n - 1 -- (deleted: dropped here)
    end
    free_id(self, id)
    at[ts] = b
  end
  local d = dedup(b, owner, ns, true)
  local i = d[key]
  if i ~= nil and i >= b.next then return end
  i = b.n + 1
  b.n = i
  d[key] = i
  put(b, i * FIELDS - FIELDS, owner, key, ns, d1, d2)
  self.n = self.n + 1
end

--- Deletes a timer (it will not fire); unknown timers are ignored.
function TimerService:delete(owner, key, ts, ns)
  if ns == nil then ns = "" end
  local c = chunk_of(self, ts, false)
  local b = c and c.at[ts]
  if b == nil then return end
  if type(b) == "number" then
    local slab, base = self.slab, b * FIELDS - FIELDS
    if slab[base + 2] == owner and slab[base + 1] == key and slab[base + 3] == ns then slab[base + 2] = false end
    return
  end
  local d = dedup(b, owner, ns, false)
  local i = d and d[key]
  if i ~= nil and i >= b.next then
    b[i * FIELDS - FIELDS + 2] = false
    d[key] = nil
  end
end

--- The earliest pending timer: its time, the array and base of its slots,
--- its bucket (nil for a lone timer, whose slab id is returned last; a
--- bucket's position is b.next) and chunk, dropping deleted timers and
--- emptied chunks on the way; nil when none is pending.
local function peek(self)
  local chunks, cheap, slab = self.chunks, self.cheap, self.slab
  while self.cn > 0 do
    local ck = cheap[1]
    local c = chunks[ck]
    if c.hn == 0 then
      chunks[ck] = nil
      self.cn = heap_pop(cheap, self.cn)
    else
      local ts = c[1]
      local at = c.at
      local b = at[ts]
      if type(b) == "number" then
        local base = b * FIELDS - FIELDS
        if slab[base + 2] then return ts, slab, base, nil, c, b end
        self.n = self.n - 1
        free_id(self, b)
      else
        local i, n = b.next, b.n
        while i <= n and not b[i * FIELDS - FIELDS + 2] do
          i = i + 1
          self.n = self.n - 1
        end
        b.next = i
        if i <= n then return ts, b, i * FIELDS - FIELDS, b, c end
      end
      at[ts] = nil
      c.hn = heap_pop(c, c.hn)
    end
  end
  return nil
end

--- The time of the next live timer, or nil.
function TimerService:next_time()
  return (peek(self))
end

--- Fires, in timestamp order, every timer due at `now`:
--- fire(owner, key, ts, ns, d1, d2). Timers registered while firing fire too
--- if they are due.
function TimerService:advance(now, fire)
  while true do
    local ts, a, base, b, c, id = peek(self)
    if ts == nil or ts > now then return end
    local key, owner, ns, d1, d2 = a[base + 1], a[base + 2], a[base + 3], a[base + 4], a[base + 5]
    if b then -- (the bucket may grow while the timer fires: it stays in its chunk)
      b.next = b.next + 1
    else
      c.at[ts] = nil
      c.hn = heap_pop(c, c.hn)
      free_id(self, id)
    end
    self.n = self.n - 1
    if ns == "" then ns = nil end
    if d1 == NIL then d1 = nil end
    if d2 == NIL then d2 = nil end
    fire(owner, key, ts, ns, d1, d2)
  end
end

function TimerService:size() return self.n end

--- The live timers of `owner`, as plain data: { { key, ts, ns, d1, d2 }, ... },
--- in firing order.
function TimerService:snapshot(owner)
  local out, times = {}, {}
  for _, c in pairs(self.chunks) do
    for i = 1, c.hn do times[#times + 1] = c[i] end
  end
  table.sort(times)
  local function add(a, base, ts)
    if a[base + 2] == owner then
      local ns, d1, d2 = a[base + 3], a[base + 4], a[base + 5]
      if ns == "" then ns = nil end
      if d1 == NIL then d1 = nil end
      if d2 == NIL then d2 = nil end
      out[#out + 1] = { a[base + 1], ts, ns, d1, d2 }
    end
  end
  for _, ts in ipairs(times) do
    local b = chunk_of(self, ts, false).at[ts]
    if type(b) == "number" then add(self.slab, b * FIELDS - FIELDS, ts)
    else for i = b.next, b.n do add(b, i * FIELDS - FIELDS, ts) end end
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
