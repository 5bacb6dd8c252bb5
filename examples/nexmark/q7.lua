-- Nexmark q7 (highest bid): in tumbling windows of 10 s, the bids with the
-- window's highest price, as window_start,window_end,auction,bidder,price,
-- dateTime (every bid that ties for the maximum).
--   flowlua q7.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

-- only (auction, bidder, price, dateTime) crosses to the windows
local bids = nexmark.events(env, params):filter(function(e) return e.event_type == 2 end):name("bids")
  :map(function(b) return { b.auction, b.bidder, b.price, b.dateTime } end):name("auction, bidder, price, dateTime")
-- per window, first the maximum bids of each of 128 groups of auctions (a
-- local-global aggregation: the state is 128 maxima a window, not one per
-- auction), then the global ones
local function best(a, b)
  if a.price > b.price then return a end
  if b.price > a.price then return b end
  local l = {}
  for _, x in ipairs(a) do l[#l + 1] = x end
  for _, x in ipairs(b) do l[#l + 1] = x end
  l.price = a.price
  return l
end
local local_max = bids:key_by(function(b) return b[1] % 128 end)
  :window(flow.windows.tumbling_event_time(10000))
  :aggregate({
    create = function() return { price = -1 } end,
    add = function(b, acc) -- (acc is ours: it may grow)
      local price = b[3]
      if price < acc.price then return acc end
      if price > acc.price then return { b, price = price } end
      acc[#acc + 1] = b
      return acc
    end,
    result = function(acc) return acc end,
    merge = best,
  }, function(_, ctx, results, out)
    out:collect({ ctx.window.start, results[1] })
  end):name("highest bids per auction")
local rows = local_max:key_by(1)
  :window(flow.windows.tumbling_event_time(10000))
  :process(function(start, _, maxima, out)
    local max = -1
    for _, m in ipairs(maxima) do if m[2].price > max then max = m[2].price end end
    for _, m in ipairs(maxima) do
      if m[2].price == max then
        for _, b in ipairs(m[2]) do out:collect({ start, start + 10000, b[1], b[2], b[3], b[4] }) end
      end
    end
  end):name("highest bids")
nexmark.sink(rows, params)
nexmark.execute(env, "Nexmark q7", params)
