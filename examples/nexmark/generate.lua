-- Writes Nexmark events from the built-in generator as Nexmark's JSON lines
-- ({"event_type":2,"bid":{...}}), the input of the queries' --events.
--   flowlua generate.lua --output FILE [--events-count N] [--seed S] [--rate EVENTS_PER_SECOND]
local flow = require("flow")
local nexmark = require("flow.nexmark")

local params = flow.params()
local env = flow.env{ parallelism = 1 }
env:from_nexmark{ events = params:get_number("events-count", 10000), seed = params:get_number("seed", 0),
    rate = params:get_number("rate", 10000000) }
  :map(function(e) return nexmark.format(e) end):name("json")
  :write_as_text(params:get_required("output")):name("events file")
env:execute("Nexmark events")
