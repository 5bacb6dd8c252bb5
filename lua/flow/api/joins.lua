--- Joins, as Flink builds them: the window join and co-group (JoinBuilder,
--- from DataStream:join / :co_group: both inputs tagged and unioned, keyed,
--- windowed, then a co-group function over the window's two sides) and the
--- interval join (IntervalJoin, from KeyedStream:interval_join: a two-input
--- operator, spec kind "interval_join").
local transformations = require("flow.api.transformations")

local check_fn, key_spec, two_input = transformations.check_fn, transformations.key_spec, transformations.two_input

local M = {}

--- Window join and co-group, as Flink builds them: both inputs tagged and
--- unioned, keyed by their own key selectors, windowed, then a co-group
--- function over the window's two sides.
---@class flow.JoinBuilder
local JoinBuilder = {}
JoinBuilder.__index = JoinBuilder

--- A window join (kind "join") or co-group ("co_group") of streams a and b.
function M.new_join(a, b, kind) return setmetatable({ a = a, b = b, kind = kind }, JoinBuilder) end

--- The key of the left side.
---@param sel flow.KeySelector
---@return flow.JoinBuilder self
--- Example:
---   a:join(b):where(function(v) return v.id end)
function JoinBuilder:where(sel) self.ka = key_spec(sel) return self end
--- The key of the right side.
---@param sel flow.KeySelector
---@return flow.JoinBuilder self
--- Example:
---   a:join(b):where(1):equal_to("id")
function JoinBuilder:equal_to(sel) self.kb = key_spec(sel) return self end
--- The windows the join runs in; where and equal_to must come first.
---@param assigner flow.WindowAssigner a window assigner from flow.windows
---@return flow.JoinBuilder self
--- Example:
---   a:join(b):where(1):equal_to(1):window(flow.windows.tumbling_event_time(1000))
function JoinBuilder:window(assigner)
  if not self.ka or not self.kb then error(self.kind .. ": call where(...) and equal_to(...) before window(...)", 2) end
  self.assigner = assigner
  return self
end
--- A trigger for the join's windows.
---@param t flow.Trigger a trigger from flow.triggers
---@return flow.JoinBuilder self
--- Example:
---   j:trigger(flow.triggers.count(10))
function JoinBuilder:trigger(t) self._trigger = t return self end
--- An evictor for the join's windows.
---@param e flow.Evictor an evictor from flow.evictors
---@return flow.JoinBuilder self
--- Example:
---   j:evictor(flow.evictors.count(10))
function JoinBuilder:evictor(e) self._evictor = e return self end
--- Allowed lateness of the join's windows.
---@param ms integer milliseconds
---@return flow.JoinBuilder self
--- Example:
---   j:allowed_lateness(500)
function JoinBuilder:allowed_lateness(ms) self.lateness = ms return self end

--- Ends the join: `f(left, right) -> v` for each pair of a key's window
--- (join), or `f(lefts, rights, out)` per key and window (co_group).
---@param f function the join or co-group function
---@return flow.DataStream stream
--- Example:
---   a:join(b):where(1):equal_to(1)
---     :window(flow.windows.tumbling_event_time(2000))
---     :apply(function(l, r) return { l[1], l[2] + r[2] } end)
function JoinBuilder:apply(f)
  check_fn(f, "apply")
  if not self.assigner then error(self.kind .. ": call window(...) before apply(...)", 2) end
  local ka, kb = self.ka, self.kb
  local left = self.a:map(function(v) return { 1, v } end)
  local right = self.b:map(function(v) return { 2, v } end)
  local function field_or_fn(k)
    if k.fn then return k.fn end
    local field = k.field
    return function(v) return v[field] end
  end
  local fa, fb = field_or_fn(ka), field_or_fn(kb)
  local keyed = left:union(right):key_by(function(t)
    if t[1] == 1 then return fa(t[2]) end
    return fb(t[2])
  end)
  local w = keyed:window(self.assigner)
  if self._trigger then w:trigger(self._trigger) end
  if self._evictor then w:evictor(self._evictor) end
  if self.lateness then w:allowed_lateness(self.lateness) end
  local is_join = self.kind == "join"
  local s = w:apply(function(_, _, elements, out)
    local ls, rs = {}, {}
    for i = 1, #elements do
      local t = elements[i]
      if t[1] == 1 then ls[#ls + 1] = t[2] else rs[#rs + 1] = t[2] end
    end
    if is_join then
      for i = 1, #ls do
        for j = 1, #rs do out:collect(f(ls[i], rs[j])) end
      end
    else
      f(ls, rs, out)
    end
  end)
  s.node.name = is_join and "Window Join" or "Window CoGroup"
  return s
end

--- keyed_a:interval_join(keyed_b):between(lower_ms, upper_ms):process(f)
--- joins a with every b whose timestamp lies in [a.ts + lower, a.ts + upper].
---@class flow.IntervalJoin
local IntervalJoin = {}
IntervalJoin.__index = IntervalJoin

--- An interval join of the keyed streams a and b.
function M.new_interval_join(a, b) return setmetatable({ a = a, b = b }, IntervalJoin) end

--- The interval, relative to the left record's timestamp.
---@param lower integer ms, <= upper
---@param upper integer ms
---@return flow.IntervalJoin self
--- Example:
---   j:between(-500, 500)
function IntervalJoin:between(lower, upper)
  if type(lower) ~= "number" or type(upper) ~= "number" or lower > upper then
    error("between expects lower <= upper (ms)", 2)
  end
  self.lower, self.upper = lower, upper
  return self
end
--- Ends the interval join: `f(left, right, ctx, out)` for every pair;
--- ctx:left_timestamp(), ctx:right_timestamp(), ctx:timestamp() (the
--- larger), ctx:current_key(), ctx:output(tag, v).
---@param f fun(left: any, right: any, ctx: table, out: flow.Collector)
---@return flow.DataStream stream
--- Example:
---   j:between(0, 1000):process(function(l, r, ctx, out)
---     out:collect({ l[1], ctx:right_timestamp() - ctx:left_timestamp() })
---   end)
function IntervalJoin:process(f)
  check_fn(f, "process")
  if not self.lower then error("interval_join: call between(lower, upper) before process(...)", 2) end
  return two_input(self.a.env, self.a, self.b, "interval_join", "IntervalJoin",
    { kind = "interval_join", f = f, lower = self.lower, upper = self.upper })
end

return M
