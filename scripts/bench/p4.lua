-- P4: P3's source and maps with rebalance() between them (two threads): N
local flow = require("flow")
local env = flow.env{ parallelism = 1 }
env:set_runtime_mode("streaming")
env:from_sequence(1, tonumber(arg[1])):map(function(x) return x + 1 end):rebalance()
  :map(function(x) return x * 2 end):add_sink(function() end)
env:execute("P4")
