-- Nexmark q20 (expand bid with auction): every bid on an auction of
-- category 10, with the auction's item name, seller and category, as
-- auction,bidder,price,dateTime,itemName,seller,category. A regular
-- (unbounded) join on bid.auction = auction.id: bids wait in keyed state
-- for their auction; an auction of another category drops them.
--   flowlua q20.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

local events = nexmark.events(env, params)
local bids = events:filter(function(e) return e.event_type == 2 end):name("bids")
  :map(function(b) return { b.auction, b.bidder, b.price, b.dateTime } end)
local auctions = events:filter(function(e) return e.event_type == 1 end):name("auctions")
  :map(function(a) return { a.id, a.itemName, a.seller, a.category } end)

local rows = bids:connect(auctions):key_by(1, 1):process{
  process_element1 = function(self, b, ctx, out)
    local a = ctx:value_state("auction"):value()
    if a == nil then ctx:list_state("waiting"):add(b)
    elseif a[4] == 10 then out:collect({ b[1], b[2], b[3], b[4], a[2], a[3], a[4] }) end
  end,
  process_element2 = function(self, a, ctx, out)
    -- an auction of another category keeps only what decides its bids
    ctx:value_state("auction"):update(a[4] == 10 and a or { a[1], false, false, a[4] })
    local waiting = ctx:list_state("waiting")
    if a[4] == 10 then
      for _, b in ipairs(waiting:get()) do out:collect({ b[1], b[2], b[3], b[4], a[2], a[3], a[4] }) end
    end
    waiting:clear()
  end,
}:name("join")
nexmark.sink(rows, params)
nexmark.execute(env, "Nexmark q20", params)
