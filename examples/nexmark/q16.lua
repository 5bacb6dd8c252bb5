-- Nexmark q16 (channel statistics per day): q15's counts per channel and
-- UTC day, with the latest minute ("HH:MM", UTC) of the group's bids, as
-- channel,day,minute,total_bids,rank1_bids,rank2_bids,rank3_bids,
-- total_bidders,rank1_bidders,rank2_bidders,rank3_bidders,total_auctions,
-- rank1_auctions,rank2_auctions,rank3_auctions. Rows are updated as bids
-- come; the output holds the final ones.
--   flowlua q16.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

local bids = nexmark.events(env, params):filter(function(e) return e.event_type == 2 end):name("bids")
  :map(function(b)
    return { b.channel, nexmark.date(b.dateTime), nexmark.minute(b.dateTime), b.bidder, b.auction, b.price }
  end)
local rows = bids:key_by(function(b) return b[1] .. "," .. b[2] end):process{
  process_element = function(self, b, ctx, out)
    local st = ctx:value_state("stats")
    local s = st:value()
    if s == nil then
      s = nexmark.bid_stats()
      s.minute = b[3]
    end
    if b[3] > s.minute then s.minute = b[3] end
    nexmark.add_bid(s, b[4], b[5], b[6])
    st:update(s)
    out:collect(nexmark.stats_row(s, { b[1], b[2], s.minute }))
  end,
}:name("statistics")
nexmark.sink(rows, params, { key = function(row) return row[1] .. "," .. row[2] end })
nexmark.execute(env, "Nexmark q16", params)
