-- Nexmark q8 (monitor new users): in tumbling windows of 10 s, the persons
-- who are the seller of at least one auction of the same window, as
-- id,name,window_start (each event in the window of its own dateTime).
--   flowlua q8.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

local events = nexmark.events(env, params)
local persons = events:filter(function(e) return e.event_type == 0 end):name("persons")
local auctions = events:filter(function(e) return e.event_type == 1 end):name("auctions")
local rows = persons:join(auctions)
  :where(function(p) return p.id end)
  :equal_to(function(a) return a.seller end)
  :window(flow.windows.tumbling_event_time(10000))
  :apply(function(p, a) return { p.id, p.name, p.dateTime - p.dateTime % 10000 } end)
  :name("sellers of the window")
-- distinct rows: a person selling several auctions in a window is one row
local distinct = rows:key_by(function(r) return r[1] .. "," .. r[3] end):process{
  process_element = function(self, r, ctx, out)
    local seen = ctx:value_state("seen")
    if not seen:value() then
      seen:update(true)
      out:collect(r)
      ctx:register_event_time_timer(r[3] + 10000 - 1) -- the window is over: forget it
    end
  end,
  on_timer = function(self, ts, ctx) ctx:value_state("seen"):clear() end,
}:name("distinct")
nexmark.sink(distinct, params)
nexmark.execute(env, "Nexmark q8", params)
