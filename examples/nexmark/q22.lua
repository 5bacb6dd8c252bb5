-- Nexmark q22 (get URL directories): bids with the first three directories
-- of their url (pieces 3, 4 and 5 of the url split at every "/"), as
-- auction,bidder,price,channel,dir1,dir2,dir3.
--   flowlua q22.lua [--events FILE | --events-count N --seed S] [--output PATH] [--parallelism N]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = params:get_number("parallelism", 1) }
env:set_runtime_mode("streaming")

local rows = nexmark.events(env, params):filter(function(e) return e.event_type == 2 end):name("bids")
  :map(function(b)
    local dirs, i, at = {}, 0, 1
    local url = b.url
    while i <= 5 do -- piece i is url[at .. next "/")
      local slash = url:find("/", at, true)
      if i >= 3 then dirs[i - 2] = url:sub(at, (slash or #url + 1) - 1) end
      if not slash then break end
      at, i = slash + 1, i + 1
    end
    return { b.auction, b.bidder, b.price, b.channel, dirs[1] or "", dirs[2] or "", dirs[3] or "" }
  end):name("directories")
nexmark.sink(rows, params)
nexmark.execute(env, "Nexmark q22", params)
