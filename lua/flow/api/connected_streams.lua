--- Connected streams (Flink's ConnectedStreams, from DataStream:connect):
--- two inputs, one two-input operator with a function per input.
local transformations = require("flow.api.transformations")

local check_fn, two_input = transformations.check_fn, transformations.two_input

local M = {}

--- Two connected streams (Flink's ConnectedStreams), from DataStream:connect:
--- a two-input operator with a function per input.
---@class flow.ConnectedStreams
local Connected = {}
Connected.__index = Connected

--- The streams first and second of env, connected.
function M.new(env, first, second) return setmetatable({ env = env, first = first, second = second }, Connected) end

--- Keys both inputs, each with its own selector.
---@param sel1 flow.KeySelector key of the first input
---@param sel2 flow.KeySelector key of the second input
---@return flow.ConnectedStreams connected
--- Example:
---   a:connect(b):key_by(1, 1):process(fns)
function Connected:key_by(sel1, sel2)
  local a, b = self.first:key_by(sel1), self.second:key_by(sel2)
  return M.new(self.env, a, b)
end

--- A co-map (Flink's CoMapFunction): f1 maps the first input's records, f2
--- the second's, into one stream.
---@param f1 fun(v: any): any
---@param f2 fun(v: any): any
---@return flow.DataStream stream
--- Example:
---   a:connect(b):map(function(x) return { "a", x } end, function(y) return { "b", y } end)
function Connected:map(f1, f2)
  check_fn(f1, "map"); check_fn(f2, "map")
  return two_input(self.env, self.first, self.second, "co_map", "Co-Map", { kind = "co_map", fn1 = f1, fn2 = f2 })
end

--- A co-flat-map: `f1(v, out)` for the first input, `f2(v, out)` for the second.
---@param f1 fun(v: any, out: flow.Collector)
---@param f2 fun(v: any, out: flow.Collector)
---@return flow.DataStream stream
--- Example:
---   a:connect(b):flat_map(function(v, out) out:collect(v) end,
---                         function(v, out) out:collect(v) end)
function Connected:flat_map(f1, f2)
  check_fn(f1, "flat_map"); check_fn(f2, "flat_map")
  return two_input(self.env, self.first, self.second, "co_flat_map", "Co-Flat Map",
    { kind = "co_flat_map", fn1 = f1, fn2 = f2 })
end

--- A co-process function (Flink's CoProcessFunction; keyed with state and
--- timers after key_by): process_element1 / process_element2(self, v, ctx, out).
---@param fns flow.CoProcessFunction
---@return flow.DataStream stream
--- Example:
---   a:connect(b):key_by(1, 1):process{
---     process_element1 = function(self, v, ctx, out) ctx:value_state("seen"):update(true) end,
---     process_element2 = function(self, v, ctx, out)
---       if ctx:value_state("seen"):value() then out:collect(v) end
---     end,
---   }
function Connected:process(fns)
  if type(fns) ~= "table" or type(fns.process_element1) ~= "function"
      or type(fns.process_element2) ~= "function" then
    error("process expects a table with process_element1 and process_element2", 2)
  end
  return two_input(self.env, self.first, self.second, "co_process",
    self.first.key and "Keyed Co-Process" or "Co-Process", { kind = "co_process", fn = fns })
end

return M
