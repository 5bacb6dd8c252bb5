-- Nexmark q4 (average price per category): an auction's winning price is
-- its highest bid between its dateTime and its expires (both included);
-- per category, the average winning price (integer division), as
-- category,avg. The average is updated as auctions close; the output
-- holds each category's final row.
--   flowlua q4.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

-- only what the join needs crosses to it: auctions (id, category,
-- dateTime, expires), bids (auction, price, dateTime)
local events = nexmark.events(env, params)
local auctions = events:filter(function(e) return e.event_type == 1 end):name("auctions")
  :map(function(a) return { a.id, a.category, a.dateTime, a.expires } end)
local bids = events:filter(function(e) return e.event_type == 2 end):name("bids")
  :map(function(b) return { b.auction, b.price, b.dateTime } end)

-- per auction: its winning price when the watermark passes its expiry
local winners = auctions:connect(bids)
  :key_by(1, 1)
  :process{
    process_element1 = function(self, a, ctx)
      local best
      -- bids that came first (event time may run backwards up to 4 s)
      for _, b in ipairs(ctx:list_state("early"):get()) do
        if b[1] >= a[3] and b[1] <= a[4] and (best == nil or b[2] > best) then best = b[2] end
      end
      ctx:list_state("early"):clear()
      ctx:value_state("auction"):update({ a[2], a[3], a[4], best })
      ctx:register_event_time_timer(a[4])
    end,
    process_element2 = function(self, b, ctx)
      local st = ctx:value_state("auction")
      local a = st:value()
      if a then
        local t, price = b[3], b[2]
        if t >= a[2] and t <= a[3] and (a[4] == nil or price > a[4]) then
          a[4] = price
          st:update(a)
        end
      elseif b[3] > (ctx:current_watermark() or -math.huge) then
        -- its auction may still come (with dateTime <= the bid's, so before
        -- the watermark passes the bid); after that the bid cannot win
        ctx:list_state("early"):add({ b[3], b[2] })
        ctx:register_event_time_timer(b[3])
      end
    end,
    on_timer = function(self, ts, ctx, out)
      local st = ctx:value_state("auction")
      local a = st:value()
      if a and ts == a[3] then
        if a[4] then out:collect({ a[1], a[4] }) end
        st:clear()
      elseif not a then -- no auction came for the bids up to ts: they cannot win
        local early = ctx:list_state("early")
        local keep = {}
        for _, b in ipairs(early:get()) do if b[1] > ts then keep[#keep + 1] = b end end
        early:update(keep)
      end
    end,
  }:name("winning bids")

local averages = winners:key_by(1):process{
  process_element = function(self, w, ctx, out)
    local st = ctx:value_state("sum_count")
    local sc = st:value() or { 0, 0 }
    sc = { sc[1] + w[2], sc[2] + 1 }
    st:update(sc)
    out:collect({ w[1], math.floor(sc[1] / sc[2]) })
  end,
}:name("average per category")
nexmark.sink(averages, params, { key = function(row) return row[1] end })
nexmark.execute(env, "Nexmark q4", params)
