-- Nexmark q13 (bounded side input join): bids joined with a side input
-- file of `key,value` lines on key = auction % 10000, as
-- auction,bidder,price,dateTime,value (bids without a key are left out).
-- Every subtask loads the file when it opens.
--   flowlua q13.lua --side-input FILE [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
-- (generate.lua --side-input FILE writes one)
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

local side_input = params:get_required("side-input")
local rows = nexmark.events(env, params):filter(function(e) return e.event_type == 2 end):name("bids")
  :process{
    open = function(self)
      self.side = {}
      local f = io.open(side_input, "rb")
      if not f then error("q13: cannot open the side input " .. side_input, 0) end
      for line in f:lines() do
        local k, v = line:match("^(%-?%d+),(.*)$")
        if k then self.side[tonumber(k)] = v end
      end
      f:close()
    end,
    process_element = function(self, b, ctx, out)
      local v = self.side[b.auction % 10000]
      if v then out:collect({ b.auction, b.bidder, b.price, b.dateTime, v }) end
    end,
  }:name("side input join")
nexmark.sink(rows, params)
nexmark.execute(env, "Nexmark q13", params)
