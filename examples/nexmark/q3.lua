-- Nexmark q3 (local item suggestion): auctions of category 10 whose seller
-- lives in Oregon, Idaho or California, as name,city,state,auction_id. An
-- incremental join on seller = person id: each side waits in keyed state
-- for the other (an auction may come before its seller).
--   flowlua q3.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

-- only what the join needs crosses to it: persons (id, name, city, state),
-- auctions (id, seller)
local events = nexmark.events(env, params)
local persons = events:filter(function(e)
  return e.event_type == 0 and (e.state == "OR" or e.state == "ID" or e.state == "CA")
end):name("persons in OR, ID, CA"):map(function(p) return { p.id, p.name, p.city, p.state } end)
local auctions = events:filter(function(e) return e.event_type == 1 and e.category == 10 end)
  :name("auctions of category 10"):map(function(a) return { a.id, a.seller } end)

local rows = persons:connect(auctions)
  :key_by(1, 2)
  :process{
    -- a person: output the auctions that waited for them; keep the person
    process_element1 = function(self, p, ctx, out)
      ctx:value_state("person"):update(p)
      local waiting = ctx:list_state("auctions")
      for _, id in ipairs(waiting:get()) do out:collect({ p[2], p[3], p[4], id }) end
      waiting:clear()
    end,
    -- an auction: output it if its seller is known, else wait
    process_element2 = function(self, a, ctx, out)
      local p = ctx:value_state("person"):value()
      if p then out:collect({ p[2], p[3], p[4], a[1] })
      else ctx:list_state("auctions"):add(a[1]) end
    end,
  }:name("join")
nexmark.sink(rows, params)
nexmark.execute(env, "Nexmark q3", params)
