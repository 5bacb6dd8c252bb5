-- P5: a key_by exchange of (string, integer) tuples, parallelism 2: RECORDS
local flow = require("flow")
local env = flow.env{ parallelism = 2 }
env:set_runtime_mode("streaming")
local keys = {}
for i = 1, 1000 do keys[i] = "key" .. i end
env:from_sequence(1, tonumber(arg[1])):map(function(x) return { keys[x % 1000 + 1], x } end)
  :key_by(1):add_sink(function() end)
env:execute("P5")
