-- P3: from_sequence -> map -> filter -> discarding sink, parallelism 1: N
local flow = require("flow")
local env = flow.env{ parallelism = 1 }
env:set_runtime_mode("streaming")
env:from_sequence(1, tonumber(arg[1])):map(function(x) return x * 3 end)
  :filter(function(x) return x % 2 == 0 end):add_sink(function() end)
env:execute("P3")
