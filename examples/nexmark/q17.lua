-- Nexmark q17 (auction statistics per day): per auction and UTC day, the
-- number of bids (all, below 10 000, below 1 000 000, from 1 000 000 on)
-- and the minimum, maximum, average (integer) and total price, as
-- auction,day,total_bids,rank1_bids,rank2_bids,rank3_bids,min_price,
-- max_price,avg_price,sum_price. An unbounded aggregation: rows are
-- updated as bids come; the output holds the final ones.
--   flowlua q17.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

local bids = nexmark.events(env, params):filter(function(e) return e.event_type == 2 end):name("bids")
  :map(function(b) return { b.auction, nexmark.date(b.dateTime), b.price } end):name("auction, day, price")
local rows = bids:key_by(function(r) return r[1] .. "," .. r[2] end):process{
  process_element = function(self, r, ctx, out)
    local st = ctx:value_state("stats")
    local s = st:value()
    local price = r[3]
    if s == nil then s = { 0, 0, 0, 0, price, price, 0 } end
    s[1] = s[1] + 1
    if price < 10000 then s[2] = s[2] + 1 elseif price < 1000000 then s[3] = s[3] + 1 else s[4] = s[4] + 1 end
    if price < s[5] then s[5] = price end
    if price > s[6] then s[6] = price end
    s[7] = s[7] + price
    st:update(s)
    out:collect({ r[1], r[2], s[1], s[2], s[3], s[4], s[5], s[6], math.floor(s[7] / s[1]), s[7] })
  end,
}:name("statistics")
nexmark.sink(rows, params, { key = function(row) return row[1] .. "," .. row[2] end })
nexmark.execute(env, "Nexmark q17", params)
