-- Nexmark q15 (bidding statistics per day): per UTC day, the number of
-- bids, of distinct bidders and of distinct auctions, in all and per
-- price band (below 10 000, below 1 000 000, from 1 000 000 on), as
-- day,total_bids,rank1_bids,rank2_bids,rank3_bids,total_bidders,
-- rank1_bidders,rank2_bidders,rank3_bidders,total_auctions,rank1_auctions,
-- rank2_auctions,rank3_auctions. Rows are updated as bids come; the
-- output holds the final ones.
--   flowlua q15.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

local bids = nexmark.events(env, params):filter(function(e) return e.event_type == 2 end):name("bids")
  :map(function(b) return { nexmark.date(b.dateTime), b.bidder, b.auction, b.price } end)
local rows = bids:key_by(1):process{
  process_element = function(self, b, ctx, out)
    local st = ctx:value_state("stats")
    local s = st:value() or nexmark.bid_stats()
    nexmark.add_bid(s, b[2], b[3], b[4])
    st:update(s)
    out:collect(nexmark.stats_row(s, { b[1] }))
  end,
}:name("statistics")
nexmark.sink(rows, params, { key = function(row) return row[1] end })
nexmark.execute(env, "Nexmark q15", params)
