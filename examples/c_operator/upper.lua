-- Runs the example C operator (build it first: make -C examples/c_operator).
local flow = require("flow")
local here = arg[0]:match("^(.*)/") or "."
local env = flow.env{ parallelism = 2 }
env:from_elements("flink", "is", "now", "flowlua", "in", "c")
  :map(flow.c_operator(here .. "/libupper.so", "upper_operator", { min = 3 }))
  :print()
env:execute("C operator example")
