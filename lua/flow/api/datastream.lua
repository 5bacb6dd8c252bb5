--- Flink's DataStream: every DataStream method, in one place —
--- transformations, partitioning, union and side outputs, process
--- functions, event time, windows, joins, connect, the settings of the
--- operator that produced the stream, sinks, execute_and_collect.
--- KeyedStream (keyed_stream.lua) inherits them all.
local core = require("flow.core")
local classes = require("flow.api.classes")
local transformations = require("flow.api.transformations")
local c_operators = require("flow.api.c_operators")
local watermark_strategy = require("flow.api.watermark_strategy")
local windowed_stream = require("flow.api.windowed_stream")
local joins = require("flow.api.joins")
local connected_streams = require("flow.api.connected_streams")
local sinks = require("flow.api.sinks")
local stream_graph_generator = require("flow.api.stream_graph_generator")

local origin, check_fn, key_spec = transformations.origin, transformations.check_fn, transformations.key_spec
local stream, one_input = transformations.stream, transformations.one_input
local is_c_op = c_operators.is_c_op

--- A stream of records (Flink's DataStream). Each transformation adds an
--- operator to the environment and returns the stream it produces; nothing
--- runs before Env:execute.
---@class flow.DataStream
---@field env flow.Env the environment the stream belongs to
local DataStream = classes.DataStream

-- ------------------------------------------------------------ transformations

local function c_node(self, name, f)
  return one_input(self, "c_op", name, { kind = "c_op", library = f.library, symbol = f.symbol, config = f.config })
end

--- One output record per input record: `f(v) -> v'` (Flink's map).
---@param f flow.COperator|fun(v: any): any a function or a C operator
---@return flow.DataStream stream
--- Example:
---   ds:map(function(v) return { v, 1 } end)
function DataStream:map(f)
  if is_c_op(f) then return c_node(self, "Map", f) end
  check_fn(f, "map")
  return one_input(self, "map", "Map", { kind = "map", fn = f })
end

--- Any number of output records per input record: `f(v, out)` calls
--- `out:collect(x)` for each (Flink's flatMap).
---@param f flow.COperator|fun(v: any, out: flow.Collector) a function or a C operator
---@return flow.DataStream stream
--- Example:
---   ds:flat_map(function(line, out)
---     for w in line:gmatch("%a+") do out:collect({ w, 1 }) end
---   end)
function DataStream:flat_map(f)
  if is_c_op(f) then return c_node(self, "Flat Map", f) end
  check_fn(f, "flat_map")
  return one_input(self, "flat_map", "Flat Map", { kind = "flat_map", fn = f })
end

--- Keeps the records for which `f(v)` is truthy.
---@param f flow.COperator|fun(v: any): any a predicate or a C operator
---@return flow.DataStream stream
--- Example:
---   ds:filter(function(v) return v % 2 == 0 end)
function DataStream:filter(f)
  if is_c_op(f) then return c_node(self, "Filter", f) end
  check_fn(f, "filter")
  return one_input(self, "filter", "Filter", { kind = "filter", fn = f })
end

-- ------------------------------------------------------------ partitioning

local function partitioned(self, part, mt)
  local ins = {}
  for i, x in ipairs(self.ins) do ins[i] = { node = x.node, tag = x.tag, part = part } end
  return stream(self.env, self.node, mt or DataStream, ins)
end

--- Partitions the stream by key (Flink's keyBy): a key selector function,
--- or a field index / name of table records.
---@param sel flow.KeySelector
---@return flow.KeyedStream
--- Example:
---   ds:key_by(1):sum(2)
---   ds:key_by(function(v) return v.user end)
function DataStream:key_by(sel)
  local k = partitioned(self, "hash", classes.KeyedStream)
  k.key = key_spec(sel)
  return k
end
--- The next operator reads this stream one-to-one (forward partitioning).
---@return flow.DataStream stream
--- Example:
---   ds:forward():map(f)
function DataStream:forward() return partitioned(self, "forward") end
--- The next operator reads this stream round-robin over all its subtasks.
---@return flow.DataStream stream
--- Example:
---   ds:rebalance():map(f)
function DataStream:rebalance() return partitioned(self, "rebalance") end
--- The next operator reads this stream round-robin over a local group of
--- subtasks (Flink's rescale).
---@return flow.DataStream stream
--- Example:
---   ds:rescale():map(f)
function DataStream:rescale() return partitioned(self, "rescale") end
--- The next operator reads this stream randomly partitioned.
---@return flow.DataStream stream
--- Example:
---   ds:shuffle():map(f)
function DataStream:shuffle() return partitioned(self, "shuffle") end
--- Every subtask of the next operator reads every record.
---@return flow.DataStream stream
--- Example:
---   ds:broadcast():map(f)
function DataStream:broadcast() return partitioned(self, "broadcast") end
--- Every record goes to the first subtask of the next operator.
---@return flow.DataStream stream
--- Example:
---   ds:global():map(f)
function DataStream:global() return partitioned(self, "global") end

-- ------------------------------------------------------------ union, side outputs

--- union(other, ...): one logical input made of several edges (no operator).
--- The streams must share the environment.
---@param ... flow.DataStream more streams of the same environment
---@return flow.DataStream stream
--- Example:
---   a:union(b, c):print()
function DataStream:union(...)
  local ins = {}
  for _, x in ipairs(self.ins) do ins[#ins + 1] = x end
  for i = 1, select("#", ...) do
    local o = select(i, ...)
    if type(o) ~= "table" or o.ins == nil then error("union expects data streams", 2) end
    if o.env ~= self.env then error("union: streams from different environments", 2) end
    for _, x in ipairs(o.ins) do ins[#ins + 1] = x end
  end
  return stream(self.env, nil, DataStream, ins)
end

--- A side output of the operator that produced this stream.
--- Records the operator emitted with `ctx:output(tag, v)` (or late window
--- records, see WindowedStream:side_output_late_data).
---@param tag flow.OutputTag from flow.output_tag
---@return flow.DataStream stream
--- Example:
---   local late = flow.output_tag("late")
---   local main = ds:process(fns)
---   main:get_side_output(late):print("late")
function DataStream:get_side_output(tag)
  if type(tag) ~= "table" or type(tag.name) ~= "string" then
    error("get_side_output expects a tag from flow.output_tag(name)", 2)
  end
  if not self.node then error("get_side_output: this stream has no operator (union)", 2) end
  return stream(self.env, self.node, DataStream, { { node = self.node, tag = tag.name } })
end

-- ------------------------------------------------------------ process functions

--- Keyed-only context methods a function names (found among its bytecode's
--- string constants, nested functions included): state and timers.
local KEYED_ONLY = { value_state = true, list_state = true, map_state = true, reducing_state = true,
  register_event_time_timer = true, register_processing_time_timer = true }
local function keyed_only_use(f, seen)
  seen = seen or {}
  if type(f) ~= "function" or seen[f] then return nil end
  seen[f] = true
  local ok, jutil = pcall(require, "jit.util")
  if not ok then return nil end
  local i = -1
  while true do
    local k = jutil.funck(f, i)
    if k == nil then break end
    if type(k) == "string" and KEYED_ONLY[k] then return k end
    if type(k) == "function" then -- a nested function's prototype
      local hit = keyed_only_use(k, seen)
      if hit then return hit end
    end
    i = i - 1
  end
  local u = 1
  while true do
    local name, v = debug.getupvalue(f, u)
    if not name then break end
    local hit = keyed_only_use(v, seen)
    if hit then return hit end
    u = u + 1
  end
  return nil
end

--- process{ process_element = function(self, v, ctx, out) end, open = ..., close = ... }
--- A process function (Flink's ProcessFunction; KeyedProcessFunction on a
--- keyed stream): `fns:process_element(v, ctx, out)` per record, with
--- optional open(ctx), close() and on_timer(ts, ctx, out). State and timers
--- (ctx:value_state, ctx:register_event_time_timer, ...) need a keyed
--- stream: a function using them on a non-keyed stream is refused when the
--- graph is built.
---@param fns flow.ProcessFunction
---@return flow.DataStream stream
--- Example:
---   ds:key_by(1):process{
---     process_element = function(self, v, ctx, out)
---       local n = ctx:value_state("n", 0)
---       n:update(n:value() + 1)
---       out:collect({ v[1], n:value() })
---     end,
---   }
function DataStream:process(fns)
  if type(fns) ~= "table" or type(fns.process_element) ~= "function" then
    error("process expects a table with a process_element function", 2)
  end
  if not self.key then
    for _, name in ipairs { "process_element", "on_timer", "open" } do
      local hit = keyed_only_use(fns[name])
      if hit then
        error("process(): " .. name .. " uses ctx:" .. hit .. "(), which needs a keyed stream: " ..
          "call key_by(...) first (" .. origin() .. ")", 2)
      end
    end
  end
  return one_input(self, "process", self.key and "KeyedProcess" or "Process", { kind = "process", fn = fns })
end

-- ------------------------------------------------------------ event time

--- Assigns event timestamps and generates watermarks (periodically, every
--- auto watermark interval) with a strategy from flow.watermarks.
---@param st flow.WatermarkStrategy
---@return flow.DataStream stream
--- Example:
---   local st = flow.watermarks.for_bounded_out_of_orderness(200)
---     :with_timestamp_assigner(function(v) return v[3] end)
---   ds:assign_timestamps_and_watermarks(st)
function DataStream:assign_timestamps_and_watermarks(st)
  if not watermark_strategy.is_strategy(st) then
    error("assign_timestamps_and_watermarks expects a flow.watermarks strategy", 2)
  end
  local plain = { delay = st.delay, idleness = st.idleness, assigner = st.assigner }
  return one_input(self, "timestamps", "Timestamps/Watermarks", { kind = "timestamps", strategy = plain,
    interval = self.env.auto_watermark_interval })
end

-- ------------------------------------------------------------ windows

--- Windows a keyed stream (Flink's KeyedStream.window); an error on a
--- non-keyed stream (use window_all).
---@param assigner flow.WindowAssigner a window assigner from flow.windows
---@return flow.WindowedStream windowed
--- Example:
---   ds:key_by(1):window(flow.windows.tumbling_event_time(5000)):sum(2)
function DataStream:window(assigner)
  if not self.key then
    error("window() needs a keyed stream: call key_by(...) first, or use window_all() (" .. origin() .. ")", 2)
  end
  return windowed_stream.new(self, assigner, false)
end

--- All-windows: one parallel instance sees every record.
--- Flink's windowAll; the window functions take no key.
---@param assigner flow.WindowAssigner a window assigner from flow.windows
---@return flow.WindowedStream windowed
--- Example:
---   ds:window_all(flow.windows.tumbling_processing_time(1000)):sum(1)
function DataStream:window_all(assigner)
  local keyed = self:key_by(function() return 0 end)
  return windowed_stream.new(keyed, assigner, true)
end

-- ------------------------------------------------------------ joins, connect

--- Starts a window join (Flink's join): then where, equal_to, window and
--- apply(f) with `f(left, right) -> v` for every pair in a window.
---@param other flow.DataStream the right side
---@return flow.JoinBuilder join
--- Example:
---   a:join(b):where(1):equal_to(1)
---     :window(flow.windows.tumbling_event_time(2000))
---     :apply(function(l, r) return { l[1], l[2], r[2] } end)
function DataStream:join(other) return joins.new_join(self, other, "join") end
--- Starts a window co-group (Flink's coGroup): as join, but apply(f) gets
--- `f(lefts, rights, out)` once per key and window.
---@param other flow.DataStream the right side
---@return flow.JoinBuilder co_group
--- Example:
---   a:co_group(b):where(1):equal_to(1)
---     :window(flow.windows.tumbling_event_time(2000))
---     :apply(function(ls, rs, out) out:collect({ #ls, #rs }) end)
function DataStream:co_group(other) return joins.new_join(self, other, "co_group") end

--- Connects two streams (Flink's connect) for a two-input operator.
---@param other flow.DataStream
---@return flow.ConnectedStreams connected
--- Example:
---   a:connect(b):map(function(x) return x end, function(y) return -y end)
function DataStream:connect(other)
  if type(other) ~= "table" or other.ins == nil then error("connect expects a data stream", 2) end
  return connected_streams.new(self.env, self, other)
end

-- ------------------------------------------------------------ operator settings

-- per-operator settings: they apply to the operator that produced this stream
local function the_node(self)
  if self.node == nil then error("this stream is a union: settings apply to an operator", 3) end
  return self.node
end

--- Sets the parallelism of the operator that produced this stream (a
--- non-parallel source takes only 1; an error on a union).
---@param n integer a positive number of subtasks
---@return flow.DataStream self
--- Example:
---   ds:map(f):set_parallelism(4)
function DataStream:set_parallelism(n)
  if type(n) ~= "number" or n < 1 then error("set_parallelism expects a positive number", 2) end
  local node = the_node(self)
  if node.non_parallel and n ~= 1 then
    error("the parallelism of a non-parallel source (" .. node.name .. ") must be 1", 2)
  end
  node.parallelism = n
  return self
end
--- Sets the maximum parallelism (key groups) of the operator that produced
--- this stream.
---@param n integer
---@return flow.DataStream self
--- Example:
---   ds:key_by(1):sum(2):set_max_parallelism(64)
function DataStream:set_max_parallelism(n)
  if type(n) ~= "number" then error("set_max_parallelism expects a number", 2) end
  the_node(self).max_parallelism = n
  return self
end
--- Names the operator that produced this stream (shown in explain, metrics
--- and errors).
---@param s string
---@return flow.DataStream self
--- Example:
---   ds:map(f):name("parse")
function DataStream:name(s)
  the_node(self).name = tostring(s)
  return self
end
--- Sets the operator's uid: its state is matched by uid on restore.
---@param s string
---@return flow.DataStream self
--- Example:
---   ds:key_by(1):sum(2):uid("sums")
function DataStream:uid(s)
  the_node(self).uid = tostring(s)
  return self
end
--- Puts the operator into a slot sharing group (default: its inputs' group
--- when they agree, else "default").
---@param s string
---@return flow.DataStream self
--- Example:
---   ds:map(f):slot_sharing_group("heavy")
function DataStream:slot_sharing_group(s)
  the_node(self).slot_sharing_group = tostring(s)
  return self
end
--- Starts a new chain at the operator that produced this stream.
---@return flow.DataStream self
--- Example:
---   ds:map(f):start_new_chain()
function DataStream:start_new_chain()
  the_node(self).chaining = "head"
  return self
end
--- Never chains the operator that produced this stream with its neighbours.
---@return flow.DataStream self
--- Example:
---   ds:map(f):disable_chaining()
function DataStream:disable_chaining()
  the_node(self).chaining = "never"
  return self
end
--- The parallelism of the operator that produced this stream (the
--- environment's when it has none of its own).
---@return integer parallelism
--- Example:
---   print(ds:map(f):get_parallelism())
function DataStream:get_parallelism()
  return the_node(self).parallelism or self.env.parallelism
end

-- the keyed aggregations are KeyedStream's (keyed_stream.lua); here they
-- name the mistake
for _, name in ipairs { "sum", "min", "max", "min_by", "max_by", "reduce" } do
  DataStream[name] = function(self)
    error(name .. "() needs a keyed stream: call key_by(...) first (" .. origin() .. ")", 2)
  end
end

-- ------------------------------------------------------------ sinks

--- Prints every record to standard output in Flink's format (`(a,1)`),
--- with a "N> " subtask prefix when the sink's parallelism is above 1.
---@param prefix? string printed before each record
---@return flow.Sink sink
--- Example:
---   ds:print()
---   ds:print("debug")
function DataStream:print(prefix)
  return sinks.add(self, "Sink: Print to Std. Out", { kind = "print", prefix = prefix })
end

--- Writes one record a line, in the print format: a file when the sink's
--- parallelism is 1, else a directory of files 1..p (as Flink).
---@param path string
---@return flow.Sink sink
--- Example:
---   ds:write_as_text("/tmp/out.txt"):set_parallelism(1)
function DataStream:write_as_text(path)
  if type(path) ~= "string" then error("write_as_text expects a path", 2) end
  local s = sinks.add(self, "Sink: Unnamed", { kind = "write_text", path = path })
  s.node.output_path = path
  return s
end

--- Writes the stream to a sink from flow.sinks (Flink's sinkTo).
---@param s table a sink from flow.sinks
---@return flow.Sink sink
--- Example:
---   ds:sink_to(flow.sinks.file{ path = "/tmp/out" })
function DataStream:sink_to(s)
  if type(s) ~= "table" or s.type ~= "file" then error("sink_to expects a sink from flow.sinks", 2) end
  local h = sinks.add(self, "Sink: File Sink", { kind = "file_sink", path = s.path })
  h.node.output_path = s.path
  h.node.output_dir = true
  return h
end

--- A user sink (Flink's addSink): `fn(v, ctx)` per record, or a table
--- `{ open = function(self, ctx) end, invoke = function(self, v, ctx) end,
--- close = function(self) end }`.
---@param fn flow.SinkFunction
---@return flow.Sink sink
--- Example:
---   ds:add_sink(function(v, ctx) io.stderr:write(tostring(v), "\n") end)
function DataStream:add_sink(fn)
  if type(fn) ~= "function" and type(fn) ~= "table" then
    error("add_sink expects a function or { invoke = fn }", 2)
  end
  return sinks.add(self, "Sink: Unnamed", { kind = "sink", sink = fn })
end

--- Runs the job and returns its records. With { limit = n } the job is
--- canceled once n records arrived (a job with unbounded sources needs one).
--- The arguments may also be just opts: `execute_and_collect{ limit = 5 }`.
---@param job_name? string|{limit?: integer}
---@param opts? {limit?: integer}
---@return any[] records
--- Example:
---   local xs = env:from_sequence(1, 10):map(function(x) return x * x end):execute_and_collect()
---   local first = env:socket_text_stream("localhost", 9999):execute_and_collect{ limit = 5 }
function DataStream:execute_and_collect(job_name, opts)
  if type(job_name) == "table" then job_name, opts = nil, job_name end
  opts = opts or {}
  local limit = opts.limit
  if limit ~= nil and (type(limit) ~= "number" or limit < 1) then
    error("execute_and_collect: limit must be a positive number", 2)
  end
  local target = core.cluster_target and core.cluster_target()
  if target then
    error("execute_and_collect runs on the local MiniCluster only: in cluster mode (" .. target ..
      ") results stay on the taskmanagers; write them with a sink instead", 2)
  end
  sinks.add(self, "Sink: Collect Stream Sink", { kind = "collect", limit = limit })
  if not limit then
    for _, n in ipairs(stream_graph_generator.reachable(self.env)) do
      if n.is_source and not n.bounded then
        error("execute_and_collect on an unbounded stream needs { limit = n }", 2)
      end
    end
  end
  self.env._collect_limit = limit
  local r = self.env:execute(job_name or "Flink Streaming Job")
  local out = {}
  -- loaded here, not with the API: a script that never collects does not
  -- pay for the record codec and the FFI declarations at start-up
  local ffi, codec = require("ffi"), require("flow.codec")
  for _, bytes in ipairs(r.collected) do
    local p = ffi.cast("const uint8_t *", bytes)
    local off, n = 0, #bytes
    while off < n do
      local v
      v, off = codec.decode(p, off)
      out[#out + 1] = v
      if limit and #out >= limit then return out end
    end
  end
  return out
end

return DataStream
