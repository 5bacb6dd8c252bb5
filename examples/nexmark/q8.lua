-- Nexmark q8 (monitor new users): in tumbling windows of 10 s, the persons
-- who are the seller of at least one auction of the same window, as
-- id,name,window_start (each event in the window of its own dateTime).
-- A keyed join on person id = seller: per key and window, a row as soon
-- as both a person and an auction are there (once), state dropped when
-- the watermark passes the window's end; events of a window already
-- closed are late and dropped, as a window join drops them.
--   flowlua q8.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

local SIZE = 10000
local events = nexmark.events(env, params)
local persons = events:filter(function(e) return e.event_type == 0 end):name("persons")
  :map(function(p) return { p.id, p.name } end)
local auctions = events:filter(function(e) return e.event_type == 1 end):name("auctions")
  :map(function(a) return { a.seller } end)

-- per key: persons[window start] = name, sold[window start] = true once an
-- auction came, done[window start] = true once the row went out
local function arrive(ctx, out, name)
  local ts = ctx:timestamp()
  local start = ts - ts % SIZE
  if start + SIZE - 1 <= (ctx:current_watermark() or -math.huge) then return end -- late
  local persons, sold, done = ctx:map_state("persons"), ctx:map_state("sold"), ctx:map_state("done")
  if done:get(start) then return end
  if name then persons:put(start, name) else sold:put(start, true) end
  local who = persons:get(start)
  if who and sold:get(start) then
    out:collect({ ctx:current_key(), who, start })
    done:put(start, true)
    persons:remove(start)
    sold:remove(start)
  end
  ctx:register_event_time_timer(start + SIZE - 1)
end

local rows = persons:connect(auctions):key_by(1, 1):process{
  process_element1 = function(self, p, ctx, out) arrive(ctx, out, p[2]) end,
  process_element2 = function(self, _, ctx, out) arrive(ctx, out, nil) end,
  on_timer = function(self, ts, ctx)
    local start = ts - SIZE + 1
    ctx:map_state("persons"):remove(start)
    ctx:map_state("sold"):remove(start)
    ctx:map_state("done"):remove(start)
  end,
}:name("sellers of the window")
nexmark.sink(rows, params)
nexmark.execute(env, "Nexmark q8", params)
