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
    -- { bids[0..3] } and sets of bidders and auctions per band (0: all)
    local s = st:value() or { bids = { [0] = 0, 0, 0, 0 }, bidders = { [0] = {}, {}, {}, {} },
      auctions = { [0] = {}, {}, {}, {} }, nb = { [0] = 0, 0, 0, 0 }, na = { [0] = 0, 0, 0, 0 } }
    local price = b[4]
    local band = price < 10000 and 1 or price < 1000000 and 2 or 3
    for _, k in ipairs { 0, band } do
      s.bids[k] = s.bids[k] + 1
      if not s.bidders[k][b[2]] then s.bidders[k][b[2]] = true; s.nb[k] = s.nb[k] + 1 end
      if not s.auctions[k][b[3]] then s.auctions[k][b[3]] = true; s.na[k] = s.na[k] + 1 end
    end
    st:update(s)
    out:collect({ b[1], s.bids[0], s.bids[1], s.bids[2], s.bids[3], s.nb[0], s.nb[1], s.nb[2], s.nb[3],
      s.na[0], s.na[1], s.na[2], s.na[3] })
  end,
}:name("statistics")
nexmark.sink(rows, params, { key = function(row) return row[1] end })
nexmark.execute(env, "Nexmark q15", params)
