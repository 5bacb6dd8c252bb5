-- Nexmark q19 (auction top-k): per auction, its 10 highest bids (by price,
-- then earlier dateTime, then lower bidder), as
-- auction,bidder,price,dateTime,rank. Ranks are updated as bids come; the
-- output holds the final ones.
--   flowlua q19.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

local K = 10
local bids = nexmark.events(env, params):filter(function(e) return e.event_type == 2 end):name("bids")
  :map(function(b) return { b.auction, b.bidder, b.price, b.dateTime } end)
local function before(x, y) -- x ranks before y
  if x[3] ~= y[3] then return x[3] > y[3] end
  if x[4] ~= y[4] then return x[4] < y[4] end
  return x[2] < y[2]
end
local rows = bids:key_by(1):process{
  process_element = function(self, b, ctx, out)
    local st = ctx:value_state("top")
    local top = st:value() or {}
    local n = #top
    if n == K and not before(b, top[K]) then return end
    local i = n < K and n + 1 or K
    while i > 1 and before(b, top[i - 1]) do
      top[i] = top[i - 1]
      i = i - 1
    end
    top[i] = b
    st:update(top)
    for r = i, #top do -- the ranks that changed
      local x = top[r]
      out:collect({ x[1], x[2], x[3], x[4], r })
    end
  end,
}:name("top 10")
nexmark.sink(rows, params, { key = function(row) return row[1] .. "," .. row[5] end })
nexmark.execute(env, "Nexmark q19", params)
