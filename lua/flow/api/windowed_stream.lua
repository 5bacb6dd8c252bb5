--- Windowed streams: Flink's WindowedStream (a keyed stream in windows,
--- from KeyedStream:window / :count_window) and AllWindowedStream (every
--- record in windows, from DataStream:window_all), one class here. A window
--- function ends it with a window operator (spec kind "window").
local transformations = require("flow.api.transformations")

local check_fn, origin, one_input = transformations.check_fn, transformations.origin, transformations.one_input

local M = {}

--- A keyed stream in windows (Flink's WindowedStream, from window or
--- count_window), or all records of a stream in windows (window_all:
--- AllWindowedStream, parallelism 1, its functions take no key). Set a
--- trigger, evictor or lateness, then a window function ends it.
---@class flow.WindowedStream
---@field sum fun(self: flow.WindowedStream, field: integer|string): flow.DataStream
---@field min fun(self: flow.WindowedStream, field: integer|string): flow.DataStream
---@field max fun(self: flow.WindowedStream, field: integer|string): flow.DataStream
---@field min_by fun(self: flow.WindowedStream, field: integer|string): flow.DataStream
---@field max_by fun(self: flow.WindowedStream, field: integer|string): flow.DataStream
local WindowedStream = {}
WindowedStream.__index = WindowedStream

--- The keyed stream `input` in windows of `assigner` (all: window_all).
--- Raises at level 3: call it straight from the public method.
function M.new(input, assigner, all)
  if type(assigner) ~= "table" or not assigner.type then
    error("window expects a window assigner from flow.windows", 3)
  end
  return setmetatable({ input = input, env = input.env, assigner = assigner, all = all, lateness = 0,
    origin = origin() }, WindowedStream)
end

--- Replaces the assigner's default trigger (Flink's trigger).
---@param t flow.Trigger a trigger from flow.triggers
---@return flow.WindowedStream self
--- Example:
---   w:trigger(flow.triggers.count(100))
function WindowedStream:trigger(t)
  if type(t) ~= "table" or not t.type then error("trigger expects a trigger from flow.triggers", 2) end
  self._trigger = t
  return self
end
--- Evicts elements of a window before the window function (Flink's evictor).
---@param e flow.Evictor an evictor from flow.evictors
---@return flow.WindowedStream self
--- Example:
---   w:evictor(flow.evictors.count(10))
function WindowedStream:evictor(e)
  if type(e) ~= "table" or not e.type then error("evictor expects an evictor from flow.evictors", 2) end
  self._evictor = e
  return self
end
--- Keeps event-time windows ms after their end: a late record fires the
--- window again. Only event-time windows allow ms > 0.
---@param ms integer milliseconds, >= 0
---@return flow.WindowedStream self
--- Example:
---   w:allowed_lateness(1000)
function WindowedStream:allowed_lateness(ms)
  if type(ms) ~= "number" or ms < 0 then error("allowed_lateness expects ms >= 0", 2) end
  if self.assigner.type == "global" or self.assigner.time == "processing" then
    -- Flink allows it only for event-time windows
    if ms > 0 then error("allowed_lateness needs event-time windows", 2) end
  end
  self.lateness = ms
  return self
end
--- Emits records that arrive too late for their window to a side output
--- (read it with get_side_output on the window's result).
---@param tag flow.OutputTag from flow.output_tag
---@return flow.WindowedStream self
--- Example:
---   local late = flow.output_tag("late")
---   local sums = w:side_output_late_data(late):sum(2)
---   sums:get_side_output(late):print("late")
function WindowedStream:side_output_late_data(tag)
  if type(tag) ~= "table" or type(tag.name) ~= "string" then
    error("side_output_late_data expects a tag from flow.output_tag(name)", 2)
  end
  self.late_tag = tag.name
  return self
end

local function window_op(self, fn, label)
  local spec = { kind = "window", assigner = self.assigner, trigger = self._trigger, evictor = self._evictor,
    lateness = self.lateness, late_tag = self.late_tag, fn = fn, all = self.all }
  local a = self.assigner
  local name = (self.all and "AllWindow(" or "Window(") .. a.type ..
    (a.time and ("_" .. a.time .. "_time") or "") .. ", " .. label .. ")"
  local s = one_input(self.input, "window", name, spec, { origin = self.origin })
  if self.all then
    s.node.parallelism = 1
    s.node.non_parallel = true
  end
  return s
end

--- Reduces each window incrementally with `f(acc, v) -> acc'`; with
--- window_fn the result goes through `window_fn(key, ctx, { result }, out)`
--- (ctx.window, ctx.key; no key for window_all).
---@param f fun(acc: any, v: any): any
---@param window_fn? fun(key: any, ctx: table, results: any[], out: flow.Collector)
---@return flow.DataStream stream
--- Example:
---   w:reduce(function(a, b) return { a[1], a[2] + b[2] } end)
function WindowedStream:reduce(f, window_fn)
  check_fn(f, "reduce")
  return window_op(self, { kind = "reduce", fn = f, window_fn = window_fn }, "reduce")
end
--- Aggregates each window incrementally with an AggregateFunction:
--- create() -> acc, add(v, acc) -> acc, result(acc) -> v, merge(a, b) -> acc
--- (session windows); window_fn as in reduce.
---@param agg flow.AggregateFunction
---@param window_fn? fun(key: any, ctx: table, results: any[], out: flow.Collector)
---@return flow.DataStream stream
--- Example:
---   w:aggregate{
---     create = function() return { 0, 0 } end,
---     add = function(v, acc) return { acc[1] + v[2], acc[2] + 1 } end,
---     result = function(acc) return acc[1] / acc[2] end,
---     merge = function(a, b) return { a[1] + b[1], a[2] + b[2] } end,
---   }
function WindowedStream:aggregate(agg, window_fn)
  if type(agg) ~= "table" or type(agg.create) ~= "function" or type(agg.add) ~= "function"
      or type(agg.result) ~= "function" then
    error("aggregate expects { create = fn, add = fn(v, acc), result = fn(acc), merge = fn(a, b) }", 2)
  end
  return window_op(self, { kind = "aggregate", agg = agg, window_fn = window_fn }, "aggregate")
end
--- A process window function over all of a window's elements:
--- `f(key, ctx, elements, out)` with ctx.window.start / .end_
--- (`f(ctx, elements, out)` for window_all).
---@param f fun(key: any, ctx: table, elements: any[], out: flow.Collector)
---@return flow.DataStream stream
--- Example:
---   w:process(function(key, ctx, elements, out)
---     out:collect({ key, ctx.window.start, #elements })
---   end)
function WindowedStream:process(f)
  check_fn(f, "process")
  return window_op(self, { kind = "process", f = f }, "process")
end
--- A window function over all of a window's elements (Flink's apply):
--- `f(key, window, elements, out)` (`f(window, elements, out)` for
--- window_all).
---@param f fun(key: any, window: table, elements: any[], out: flow.Collector)
---@return flow.DataStream stream
--- Example:
---   w:apply(function(key, window, elements, out)
---     out:collect({ key, window.end_, #elements })
---   end)
function WindowedStream:apply(f)
  check_fn(f, "apply")
  return window_op(self, { kind = "apply", f = f }, "apply")
end
for _, agg in ipairs { "sum", "min", "max", "min_by", "max_by" } do
  --- Built-in window aggregation on a field (index or name; the record itself
  --- when it is not a table): sum adds it up, min / max keep the smallest /
  --- largest value of the field in the first record, min_by / max_by keep the
  --- whole record with the smallest / largest field.
  ---@param field integer|string
  ---@return flow.DataStream stream
  --- Example:
  ---   ds:key_by(1):window(flow.windows.tumbling_event_time(1000)):sum(2)
  WindowedStream[agg] = function(self, field)
    if type(field) ~= "number" and type(field) ~= "string" then
      error(agg .. " expects a field index or name", 2)
    end
    return window_op(self, { kind = "reduce", agg = agg, field = field }, agg)
  end
end

return M
