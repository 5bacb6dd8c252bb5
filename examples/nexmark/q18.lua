-- Nexmark q18 (last bid): per bidder and auction, the bid with the latest
-- dateTime (of those, the highest price), as auction,bidder,price,dateTime.
-- Rows are updated as bids come; the output holds the final ones.
--   flowlua q18.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

local bids = nexmark.events(env, params):filter(function(e) return e.event_type == 2 end):name("bids")
  :map(function(b) return { b.auction, b.bidder, b.price, b.dateTime } end)
local rows = bids:key_by(function(b) return b[2] .. "," .. b[1] end):process{
  process_element = function(self, b, ctx, out)
    local st = ctx:value_state("last")
    local last = st:value()
    if last == nil or b[4] > last[4] or (b[4] == last[4] and b[3] > last[3]) then
      st:update(b)
      out:collect(b)
    end
  end,
}:name("last bid")
nexmark.sink(rows, params, { key = function(b) return b[2] .. "," .. b[1] end })
nexmark.execute(env, "Nexmark q18", params)
