-- The plain LuaJIT loops the stateful benchmarks are measured against
-- (scripts/bench/windows_job.lua has the jobs): KIND N [DISORDER_MS].
-- Straightforward, as the issue states it: per event build the record
-- table { key, 1, ts } and update every window the event belongs to (no
-- panes or slicing); fire what the watermark (largest timestamp so far
-- minus the disorder bound, minus 1) passed. Prints "checksum windows" to
-- stderr, as the job.
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local events = require("events")
local kind, n, disorder = arg[1], tonumber(arg[2]), tonumber(arg[3] or 0)
local event = events.event
local checksum, fired = 0, 0
local max_ts, wm = -math.huge, -math.huge

if kind == "tumbling" or kind == "sliding" then
  local size, slide = 10000, kind == "tumbling" and 10000 or 2000
  -- the open windows, oldest first: { start, { [key] = record } } (a short
  -- list searched in order: integer-keyed sparse tables are not compiled)
  local open = {}
  local function fire_until(w)
    while open[1] and open[1][1] + size - 1 <= w do
      local o = table.remove(open, 1)
      for k, r in pairs(o[2]) do
        checksum = checksum + r[2] * (k + 1)
        fired = fired + 1
      end
    end
  end
  for i = 1, n do
    local key, ts = event(kind, i, disorder)
    local e = { key, 1, ts }
    local start = ts - ts % slide
    while start > ts - size do
      local w
      for j = 1, #open do if open[j][1] == start then w = open[j][2] break end end
      if not w then
        w = {}
        local j = #open + 1
        while j > 1 and open[j - 1][1] > start do open[j] = open[j - 1]; j = j - 1 end
        open[j] = { start, w }
      end
      local r = w[key]
      if r then r[2] = r[2] + e[2] else w[key] = { e[1], e[2], e[3] } end
      start = start - slide
    end
    if ts > max_ts then
      max_ts = ts
      local new_wm = max_ts - disorder - 1
      if new_wm > wm then wm = new_wm; fire_until(wm) end
    end
  end
  fire_until(math.huge)
elseif kind == "session" then
  local gap = 10000
  local sessions = {} -- key -> list of { start, end_, count }, merged as Flink's
  for i = 1, n do
    local key, ts = event(kind, i, disorder)
    local e = { key, 1, ts }
    local list = sessions[key]
    if not list then list = {}; sessions[key] = list end
    local s, e_ = ts, ts + gap
    local count = e[2]
    -- merge with every session the new window touches
    local j = 1
    while j <= #list do
      local w = list[j]
      if w[1] <= e_ and w[2] >= s then
        s, e_ = math.min(s, w[1]), math.max(e_, w[2])
        count = count + w[3]
        table.remove(list, j)
        j = 1
      else
        j = j + 1
      end
    end
    list[#list + 1] = { s, e_, count }
    if ts > max_ts then max_ts = ts end
    -- fire sessions the watermark passed (checked every 1000 events)
    if i % 1000 == 0 then
      wm = max_ts - disorder - 1
      for k, l in pairs(sessions) do
        for m = #l, 1, -1 do
          if l[m][2] - 1 <= wm then
            checksum = checksum + l[m][3] * (k + 1)
            fired = fired + 1
            table.remove(l, m)
          end
        end
      end
    end
  end
  for k, l in pairs(sessions) do
    for _, w in ipairs(l) do checksum = checksum + w[3] * (k + 1); fired = fired + 1 end
  end
else -- timeout: CountWithTimeout with a timer heap deduplicated by (key, ts)
  local count, last, final = {}, {}, {}
  local heap, hn, seen = {}, 0, {} -- heap of { ts, key }; seen[key][ts]
  local function push(t, k)
    local s = seen[k]
    if not s then s = {}; seen[k] = s end
    if s[t] then return end
    s[t] = true
    hn = hn + 1
    local j = hn
    heap[j] = { t, k }
    while j > 1 do
      local p = math.floor(j / 2)
      if heap[p][1] <= heap[j][1] then break end
      heap[p], heap[j] = heap[j], heap[p]
      j = p
    end
  end
  local function pop()
    local top = heap[1]
    heap[1] = heap[hn]
    heap[hn] = nil
    hn = hn - 1
    local j = 1
    while true do
      local l, r, m = 2 * j, 2 * j + 1, j
      if l <= hn and heap[l][1] < heap[m][1] then m = l end
      if r <= hn and heap[r][1] < heap[m][1] then m = r end
      if m == j then break end
      heap[m], heap[j] = heap[j], heap[m]
      j = m
    end
    return top
  end
  local function fire_until(w)
    while hn > 0 and heap[1][1] <= w do
      local t = pop()
      local ts, k = t[1], t[2]
      seen[k][ts] = nil
      fired = fired + 1
      if ts == last[k] + 5000 and count[k] > (final[k] or 0) then final[k] = count[k] end
    end
  end
  for i = 1, n do
    local key, ts = event(kind, i, disorder)
    local e = { key, 1, ts }
    count[key] = (count[key] or 0) + e[2]
    last[key] = e[3]
    push(e[3] + 5000, key)
    if ts > max_ts then
      max_ts = ts
      local new_wm = max_ts - disorder - 1
      if new_wm > wm then wm = new_wm; fire_until(wm) end
    end
  end
  fire_until(math.huge)
  for k, c in pairs(final) do checksum = checksum + c * (k + 1) end
end
io.stderr:write(string.format("%d %d\n", checksum, fired))
