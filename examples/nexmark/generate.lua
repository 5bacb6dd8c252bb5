-- Writes Nexmark events from the built-in generator as Nexmark's JSON lines
-- ({"event_type":2,"bid":{...}}), the input of the queries' --events; with
-- --side-input FILE also q13's side input (10 000 lines `key,value`).
--   flowlua generate.lua --output FILE [--events-count N] [--seed S] [--rate EVENTS_PER_SECOND]
--     [--side-input FILE]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
if params:has("side-input") then
  local f = assert(io.open(params:get("side-input"), "wb"))
  local seed = params:get_number("seed", 0)
  for key = 0, 9999 do f:write(key, ",v", (key * 7919 + seed * 104729) % 100003, "\n") end
  f:close()
end
local env = flow.env{ parallelism = 1 }
env:from_nexmark{ events = params:get_number("events-count", 10000), seed = params:get_number("seed", 0),
    rate = params:get_number("rate", 10000000) }
  :map(function(e) return nexmark.format(e) end):name("json")
  :write_as_text(params:get_required("output")):name("events file")
env:execute("Nexmark events")
