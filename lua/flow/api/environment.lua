--- flowlua's DataStream API (shared/API.md): a StreamExecutionEnvironment
--- records transformations; `execute` turns them into a StreamGraph in C
--- (flow.core), which compiles it into a JobGraph and runs it on a
--- MiniCluster.
---
--- A record: a string, number, boolean or table; a tuple is an array table
--- `{word, 1}` whose fields are addressed 1-based.
---@alias flow.Record any
--- Picks a record's key: a function of the record, or a field index / name.
---@alias flow.KeySelector integer|string|fun(v: any): any
--- What a flat_map or process function emits through: `out:collect(v)`.
---@alias flow.Collector {collect: fun(self: flow.Collector, v: any)}
--- A side output's tag, from flow.output_tag.
---@alias flow.OutputTag {name: string}
--- The result of a finished job (Flink's JobExecutionResult).
---@alias flow.JobExecutionResult {job_id: string, job_name: string, net_runtime_ms: number, restarts: integer, status: string, accumulators: table<string, number>}
--- A (keyed) process function: methods get `self` (the table), the record, the context and the collector.
---@alias flow.ProcessFunction {process_element: fun(self: table, v: any, ctx: table, out: flow.Collector), on_timer?: fun(self: table, ts: integer, ctx: table, out: flow.Collector), open?: fun(self: table, ctx: table), close?: fun(self: table)}
--- A co-process function: one process_element per input.
---@alias flow.CoProcessFunction {process_element1: fun(self: table, v: any, ctx: table, out: flow.Collector), process_element2: fun(self: table, v: any, ctx: table, out: flow.Collector), on_timer?: fun(self: table, ts: integer, ctx: table, out: flow.Collector), open?: fun(self: table, ctx: table), close?: fun(self: table)}
--- A user source: a function of the source context, or a table with run (and cancel, snapshot_state, restore_state).
---@alias flow.SourceFunction {run: fun(self: table, ctx: table), cancel?: fun(self: table), snapshot_state?: fun(self: table): any, restore_state?: fun(self: table, state: any)}|fun(ctx: table)
--- A user sink: a function of the record and the sink context, or a table with invoke (and open, close).
---@alias flow.SinkFunction {invoke: fun(self: table, v: any, ctx: table), open?: fun(self: table, ctx: table), close?: fun(self: table)}|fun(v: any, ctx: table)
--- Flink's AggregateFunction for WindowedStream:aggregate.
---@alias flow.AggregateFunction {create: fun(): any, add: fun(v: any, acc: any): any, result: fun(acc: any): any, merge?: fun(a: any, b: any): any}
local core = require("flow.core")
local ship = require("flow.ship")
local codec = require("flow.codec")
local sbuf = require("string.buffer")


--- The module, `local flow = require("flow")`: flow.env builds the
--- environment; flow.watermarks, flow.windows, flow.triggers, flow.evictors,
--- flow.sinks and flow.ops make what the stream methods take.
---@class flow
---@field version string flowlua's version
local flow = { version = core.version }

--- A stream of records (Flink's DataStream). Each transformation adds an
--- operator to the environment and returns the stream it produces; nothing
--- runs before Env:execute.
---@class flow.DataStream
---@field env flow.Env the environment the stream belongs to
local DataStream = {}
DataStream.__index = DataStream
--- A stream partitioned by key (Flink's KeyedStream), from DataStream:key_by.
--- Every DataStream method applies to it, and the edge into the next
--- operator is hash-partitioned by key.
---@class flow.KeyedStream : flow.DataStream
---@field sum fun(self: flow.KeyedStream, field: integer|string): flow.DataStream
---@field min fun(self: flow.KeyedStream, field: integer|string): flow.DataStream
---@field max fun(self: flow.KeyedStream, field: integer|string): flow.DataStream
---@field min_by fun(self: flow.KeyedStream, field: integer|string): flow.DataStream
---@field max_by fun(self: flow.KeyedStream, field: integer|string): flow.DataStream
local KeyedStream = setmetatable({}, { __index = DataStream })
KeyedStream.__index = KeyedStream
--- The handle a sink call returns (Flink's DataStreamSink): settings of the
--- sink operator, each returning the handle.
---@class flow.Sink
local Sink = {}
Sink.__index = Sink
--- The StreamExecutionEnvironment: sources, job settings and execution.
--- Made by flow.env.
---@class flow.Env
local Env = {}
Env.__index = Env

--- "script.lua:12" of the first caller outside the flow modules.
local function origin()
  for level = 3, 20 do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    local src = info.short_src or ""
    if info.what ~= "C" and not src:match("^lua/flow/") and not src:match("^stdlib/") then
      return src .. ":" .. (info.currentline or 0)
    end
  end
  return "?"
end

local function check_fn(f, what)
  if type(f) ~= "function" and not (type(f) == "table" and getmetatable(f) and getmetatable(f).__call) then
    error(what .. " expects a function, got " .. type(f), 3)
  end
end

-- ------------------------------------------------------------ C operators

--- A C operator (flow.c_operator, flow.ops.*): accepted by DataStream:map,
--- :flat_map and :filter in place of a Lua function.
---@class flow.COperator
local COp = {}
COp.__index = COp

--- A config table becomes "key=value" lines for the C side; a string passes.
local function c_config(config)
  if config == nil then return "" end
  if type(config) == "string" then return config end
  if type(config) ~= "table" then error("c_operator: config must be a table or a string", 3) end
  local keys = {}
  for k in pairs(config) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local lines = {}
  for _, k in ipairs(keys) do lines[#lines + 1] = k .. "=" .. tostring(config[k]) end
  return table.concat(lines, "\n")
end

--- flow.c_operator(library_path, symbol [, config]): an operator written in
--- C against include/flowlua.h, for map / flat_map / filter.
--- Pass the result to map, flat_map or filter. A relative library path is
--- made absolute (tasks may run elsewhere); a config table reaches the C
--- side as sorted "key=value" lines. Raises an error when the library file
--- cannot be opened.
---@param library string path of the shared library
---@param symbol string name of the exported function returning the operator's descriptor
---@param config? table|string options for the operator: a table of key/value pairs, or a string passed as is
---@return flow.COperator op
--- Example:
---   local upper = flow.c_operator("./libupper.so", "upper_operator", { min = 3 })
---   env:from_elements("flink", "is", "fast"):map(upper):print()
function flow.c_operator(library, symbol, config)
  if type(library) ~= "string" or type(symbol) ~= "string" then
    error("c_operator expects a library path and a symbol name", 2)
  end
  if not library:find("/", 1, true) then library = "./" .. library end
  local f = io.open(library, "rb")
  if not f then error("c_operator: cannot open library '" .. library .. "'", 2) end
  f:close()
  if library:sub(1, 1) ~= "/" then -- tasks may run elsewhere: make it absolute
    local p = io.popen("pwd")
    library = p:read("*l") .. "/" .. library:gsub("^%./", "")
    p:close()
  end
  return setmetatable({ library = library, symbol = symbol, config = c_config(config) }, COp)
end

--- C operators that ship with flowlua, for DataStream:map and :flat_map.
---@class flow.ops
flow.ops = {}
--- Flink WordCount's tokenizer in C: a string record becomes one (word, 1)
--- per lower-cased run of [A-Za-z0-9_].
---@return flow.COperator op a flat_map operator emitting `{word, 1}`
--- Example:
---   env:read_text_file("input.txt"):flat_map(flow.ops.words())
---     :key_by(1):sum(2):print()
function flow.ops.words() return setmetatable({ symbol = "flowlua_op_words", config = "" }, COp) end
--- A string record, lower-cased (ASCII), in C.
---@return flow.COperator op a map operator
--- Example:
---   env:from_elements("Flink", "LUA"):map(flow.ops.lower()):print() -- flink, lua
function flow.ops.lower() return setmetatable({ symbol = "flowlua_op_lower", config = "" }, COp) end

local function is_c_op(f) return getmetatable(f) == COp end

-- ------------------------------------------------------------ environment

--- Options of flow.env; an option left out comes from the command line
--- configuration (`flowlua --set key=value`), else its default.
---@class flow.EnvOptions
---@field slots? integer task slots of the MiniCluster (default: what the job needs)
---@field restore? string a checkpoint or savepoint directory to start the next job from
---@field parallelism? integer
---@field max_parallelism? integer
---@field runtime_mode? "automatic"|"streaming"|"batch"
---@field buffer_timeout? integer

--- Configuration from the command line (`flowlua --set key=value`, with
--- Flink's key names), read by flow.env for what the script leaves unset.
local function config(key)
  local c = rawget(_G, "FLOWLUA_CONFIG")
  return type(c) == "table" and c[key] or nil
end

local function config_number(key)
  local v = config(key)
  if v == nil then return nil end
  local n = tonumber((tostring(v):gsub("%s*ms$", "")))
  if n == nil then error("configuration " .. key .. " must be a number, got '" .. tostring(v) .. "'", 3) end
  return n
end

--- `flowlua SCRIPT --from-savepoint DIR` (or --from-checkpoint): the
--- script's own arguments may name the restore path too.
local function restore_from_args()
  local a = rawget(_G, "arg")
  if type(a) ~= "table" then return nil end
  for i = 1, #a do
    local k, v = tostring(a[i]):match("^%-%-from%-(%a+)=(.+)$")
    if k == "savepoint" or k == "checkpoint" then return v end
    if a[i] == "--from-savepoint" or a[i] == "--from-checkpoint" then return a[i + 1] end
  end
end

--- Creates a StreamExecutionEnvironment (Flink's
--- `getExecutionEnvironment`). Options the script leaves out come from the
--- command line configuration (`--set parallelism.default=4`, restart
--- strategy, checkpointing, chaining, pipeline.name; the restore path also
--- from the script's --from-savepoint / --from-checkpoint argument), else the defaults:
--- parallelism = number of CPU cores, max_parallelism = 128,
--- runtime_mode = "automatic", buffer_timeout = 100 ms.
---@param opts? flow.EnvOptions
---@return flow.Env env
--- Example:
---   local flow = require("flow")
---   local env = flow.env{ parallelism = 2 }
function flow.env(opts)
  opts = opts or {}
  local env = setmetatable({
    parallelism = opts.parallelism or config_number("parallelism.default") or core.cpu_count(),
    max_parallelism = opts.max_parallelism or config_number("pipeline.max-parallelism") or 128,
    runtime_mode = opts.runtime_mode or config("execution.runtime-mode") or "automatic",
    buffer_timeout = opts.buffer_timeout or config_number("execution.buffer-timeout") or 100,
    auto_watermark_interval = config_number("pipeline.auto-watermark-interval"),
    -- task slots of the MiniCluster; default: what the job needs
    slots = opts.slots or config_number("taskmanager.numberOfTaskSlots"),
    restore_dir = opts.restore or config("execution.savepoint.path") or restore_from_args(),
    chaining = true,
    listeners = {},
    nodes = {}, -- transformations in creation order
    sinks = {},
  }, Env)
  local rs = config("restart-strategy.type")
  if rs then
    rs = rs:gsub("-", "_")
    if rs == "disable" or rs == "off" then rs = "none" end
    local o = {}
    if rs == "fixed_delay" then
      o.attempts = config_number("restart-strategy.fixed-delay.attempts")
      o.delay_ms = config_number("restart-strategy.fixed-delay.delay")
    elseif rs == "failure_rate" then
      o.max_failures = config_number("restart-strategy.failure-rate.max-failures-per-interval")
      o.interval_ms = config_number("restart-strategy.failure-rate.failure-rate-interval")
      o.delay_ms = config_number("restart-strategy.failure-rate.delay")
    elseif rs == "exponential_delay" then
      o.initial_ms = config_number("restart-strategy.exponential-delay.initial-backoff")
      o.max_ms = config_number("restart-strategy.exponential-delay.max-backoff")
      o.multiplier = config_number("restart-strategy.exponential-delay.backoff-multiplier")
      o.reset_ms = config_number("restart-strategy.exponential-delay.reset-backoff-threshold")
      o.jitter = config_number("restart-strategy.exponential-delay.jitter-factor")
      o.attempts = config_number("restart-strategy.exponential-delay.attempts-before-reset-backoff")
    end
    env:set_restart_strategy(rs, o)
  end
  local cpi = config_number("execution.checkpointing.interval")
  if cpi then
    local mode = config("execution.checkpointing.mode")
    env:enable_checkpointing(cpi, { dir = config("state.checkpoints.dir"),
      mode = mode and mode:lower():gsub("-", "_") or nil,
      timeout_ms = config_number("execution.checkpointing.timeout"),
      min_pause_ms = config_number("execution.checkpointing.min-pause") })
  end
  local chaining = config("pipeline.operator-chaining") or config("pipeline.operator-chaining.enabled")
  if chaining == "false" then env:disable_operator_chaining() end
  env.default_job_name = config("pipeline.name")
  return env
end
--- Flink's name for flow.env.
---@param opts? flow.EnvOptions
---@return flow.Env env
--- Example:
---   local env = flow.get_execution_environment()
flow.get_execution_environment = flow.env

--- Sets the default parallelism of the job's operators.
---@param n integer a positive number of parallel subtasks
---@return flow.Env self
--- Example:
---   env:set_parallelism(4)
function Env:set_parallelism(n)
  assert(type(n) == "number" and n >= 1, "set_parallelism expects a positive number")
  self.parallelism = n
  return self
end
--- The default parallelism of the job's operators.
---@return integer parallelism
--- Example:
---   print(env:get_parallelism())
function Env:get_parallelism() return self.parallelism end
--- Sets the maximum parallelism: the number of key groups (default 128).
---@param n integer number of key groups
---@return flow.Env self
--- Example:
---   env:set_max_parallelism(256)
function Env:set_max_parallelism(n)
  self.max_parallelism = n
  return self
end
--- The maximum parallelism (number of key groups).
---@return integer max_parallelism
--- Example:
---   print(env:get_max_parallelism()) -- 128
function Env:get_max_parallelism() return self.max_parallelism end
--- Sets the runtime mode. In "batch" mode (and in "automatic" mode when every
--- source is bounded) a keyed reduce/sum/min/max emits one final record per
--- key; in "streaming" mode it emits a running result per record.
---@param mode "automatic"|"streaming"|"batch"
---@return flow.Env self
--- Example:
---   env:set_runtime_mode("batch")
function Env:set_runtime_mode(mode)
  if mode ~= "automatic" and mode ~= "streaming" and mode ~= "batch" then
    error("runtime mode must be 'automatic', 'streaming' or 'batch', got " .. tostring(mode), 2)
  end
  self.runtime_mode = mode
  return self
end
--- Sets how long a network buffer may wait before it is sent: 0 flushes
--- every record, -1 only full buffers (default 100).
---@param ms integer milliseconds
---@return flow.Env self
--- Example:
---   env:set_buffer_timeout(10)
function Env:set_buffer_timeout(ms)
  self.buffer_timeout = ms
  return self
end
--- Disables operator chaining for the whole job: every operator runs as its
--- own task.
---@return flow.Env self
--- Example:
---   env:disable_operator_chaining()
function Env:disable_operator_chaining()
  self.chaining = false
  return self
end

--- Adds a transformation; returns its node.
local function add_node(env, t)
  t.env = env
  t.inputs = t.inputs or {}
  t.origin = t.origin or origin()
  env.nodes[#env.nodes + 1] = t
  return t
end

--- A stream: the operator that produces it (`node`, nil after union) and
--- the inputs the next operator will read (`ins`: node, partitioner, side
--- output tag).
local function stream(env, node, mt, ins)
  return setmetatable({ env = env, node = node, ins = ins or { { node = node } } }, mt or DataStream)
end

local function source(env, name, spec, opts)
  opts = opts or {}
  spec.source = true
  local node = add_node(env, {
    kind = "source",
    name = name,
    spec = spec,
    parallelism = opts.parallelism,
    non_parallel = opts.non_parallel,
    bounded = opts.bounded ~= false,
    is_source = true,
  })
  return stream(env, node)
end

--- A bounded source of the given values, in order (parallelism 1, as Flink).
---@param ... any the records
---@return flow.DataStream stream
--- Example:
---   env:from_elements(1, 2, 3):map(function(x) return x * 2 end):print()
function Env:from_elements(...)
  local n = select("#", ...)
  return source(self, "Source: Collection Source", { kind = "elements", elements = { ... }, n = n },
    { parallelism = 1, non_parallel = true })
end

--- A bounded source of an array's elements, in order (parallelism 1).
---@param xs any[] an array table of records
---@return flow.DataStream stream
--- Example:
---   env:from_collection({ {"a", 1}, {"b", 2} }):print()
function Env:from_collection(xs)
  if type(xs) ~= "table" then error("from_collection expects an array table", 2) end
  return source(self, "Source: Collection Source", { kind = "elements", elements = xs, n = #xs },
    { parallelism = 1, non_parallel = true })
end

--- A bounded source of the numbers from..to (inclusive), split across the
--- source's subtasks.
---@param from integer first number
---@param to integer last number
---@return flow.DataStream stream
--- Example:
---   local xs = env:from_sequence(1, 100):execute_and_collect()
function Env:from_sequence(from, to)
  if type(from) ~= "number" or type(to) ~= "number" then
    error("from_sequence expects two numbers", 2)
  end
  return source(self, "Source: Sequence Source", { kind = "sequence", from = from, to = to })
end

--- A bounded source of a text file's lines (without "\n"), the file split
--- across the source's subtasks. A missing file is reported when the job is
--- built.
---@param path string the file
---@return flow.DataStream stream of strings
--- Example:
---   env:read_text_file("input.txt"):flat_map(flow.ops.words()):key_by(1):sum(2):print()
function Env:read_text_file(path)
  if type(path) ~= "string" then error("read_text_file expects a path", 2) end
  local s = source(self, "Source: File Source", { kind = "text_file", path = path })
  s.node.input_file = path
  return s
end

--- Lines from a TCP server (unbounded; ends when the server closes).
--- Parallelism 1.
---@param host string
---@param port integer
---@param delimiter? string a non-empty record delimiter (default "\n")
---@return flow.DataStream stream of strings
--- Example:
---   env:socket_text_stream("localhost", 9999):print()
function Env:socket_text_stream(host, port, delimiter)
  if type(host) ~= "string" or type(port) ~= "number" then
    error("socket_text_stream expects a host and a port", 2)
  end
  if delimiter ~= nil and (type(delimiter) ~= "string" or delimiter == "") then
    error("socket_text_stream: the delimiter must be a non-empty string", 2)
  end
  return source(self, "Source: Socket Stream", { kind = "socket", host = host, port = port,
    delimiter = delimiter or "\n" }, { parallelism = 1, non_parallel = true, bounded = false })
end

--- Lines of standard input (unbounded: streaming mode by default).
--- Parallelism 1.
---@return flow.DataStream stream of strings
--- Example:
---   env:stdin():map(string.upper):print()
function Env:stdin()
  return source(self, "Source: Stdin", { kind = "stdin" },
    { parallelism = 1, non_parallel = true, bounded = false })
end

--- A user source (Flink's addSource). `fn(ctx)` emits with
--- `ctx:collect(v)`, `ctx:collect_with_timestamp(v, ts)` and
--- `ctx:emit_watermark(ts)`; `ctx:is_running()`, `ctx:sleep(ms)`,
--- `ctx:subtask_index()` and `ctx:parallelism()` help it. A table
--- `{ run = fn, cancel = fn }` gets cancel() when the job is canceled, and
--- may checkpoint with snapshot_state() / restore_state(state). Without
--- opts.parallelism the source is non-parallel (parallelism 1); it is
--- bounded unless opts.bounded is false.
---@param fn flow.SourceFunction
---@param opts? {name?: string, parallelism?: integer, bounded?: boolean}
---@return flow.DataStream stream
--- Example:
---   env:add_source(function(ctx)
---     for i = 1, 10 do ctx:collect(i) end
---   end, { name = "numbers" }):print()
function Env:add_source(fn, opts)
  opts = opts or {}
  if type(fn) ~= "function" and type(fn) ~= "table" then
    error("add_source expects a function or { run = fn, cancel = fn }", 2)
  end
  local s = source(self, "Source: " .. (opts.name or "Custom Source"), { kind = "user", fn = fn },
    { parallelism = opts.parallelism or 1, non_parallel = opts.parallelism == nil, bounded = opts.bounded })
  return s
end

-- ------------------------------------------------------------ DataStream

--- A one-input operator fed by `self`; the edge partitioner comes from a
--- pending partitioning call (`rebalance()` ...) or key_by, else forward.
local function edges_from(s, type_number)
  local inputs = {}
  for _, i in ipairs(s.ins) do
    inputs[#inputs + 1] = { node = i.node, part = i.part or "forward", explicit = i.part ~= nil,
      tag = i.tag, type_number = type_number or 0 }
  end
  return inputs
end

local function one_input(self, kind, name, spec, extra)
  local t = extra or {}
  t.kind, t.name, t.spec = kind, name, spec
  t.inputs = edges_from(self)
  if self.key then
    spec.key = self.key
    t.keyed = true
  end
  return stream(self.env, add_node(self.env, t))
end

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

local function key_spec(sel)
  if type(sel) == "function" then return { fn = sel } end
  if type(sel) == "number" or type(sel) == "string" then return { field = sel } end
  error("key_by expects a function or a field index/name, got " .. type(sel), 3)
end

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
  local k = partitioned(self, "hash", KeyedStream)
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

--- Makes a side output tag (Flink's OutputTag), for `ctx:output(tag, v)`,
--- get_side_output and side_output_late_data.
---@param name string
---@return flow.OutputTag tag
--- Example:
---   local late = flow.output_tag("late")
function flow.output_tag(name)
  if type(name) ~= "string" or name == "" then error("output_tag expects a non-empty name", 2) end
  return { name = name }
end

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

--- Two connected streams (Flink's ConnectedStreams), from DataStream:connect:
--- a two-input operator with a function per input.
---@class flow.ConnectedStreams
local Connected = {}
Connected.__index = Connected
local two_input

-- ------------------------------------------------------------ event time

local windows = require("flow.runtime.windows")
flow.windows, flow.triggers, flow.evictors = windows.windows, windows.triggers, windows.evictors

--- Watermark strategies (Flink's WatermarkStrategy): plain data plus the
--- builder methods, so they ship with the job.
---@class flow.WatermarkStrategy
local Strategy = {}
Strategy.__index = Strategy
local function strategy(t) return setmetatable(t, Strategy) end
--- A copy of the strategy that takes event timestamps from
--- `f(v, previous_ts) -> ts` (ms; previous_ts is the record's timestamp so
--- far, if any).
---@param f fun(v: any, previous_ts?: integer): integer
---@return flow.WatermarkStrategy strategy
--- Example:
---   flow.watermarks.for_monotonous_timestamps()
---     :with_timestamp_assigner(function(v) return v.ts end)
function Strategy:with_timestamp_assigner(f)
  if type(f) ~= "function" then error("with_timestamp_assigner expects a function(v, previous_ts) -> ts", 2) end
  return strategy { delay = self.delay, idleness = self.idleness, assigner = f }
end
--- A copy of the strategy that marks a source subtask idle after ms without
--- records, so it does not hold back the watermark.
---@param ms integer a positive number of milliseconds
---@return flow.WatermarkStrategy strategy
--- Example:
---   flow.watermarks.for_bounded_out_of_orderness(500):with_idleness(10000)
function Strategy:with_idleness(ms)
  if type(ms) ~= "number" or ms <= 0 then error("with_idleness expects a positive number of ms", 2) end
  return strategy { delay = self.delay, idleness = ms, assigner = self.assigner }
end
--- Watermark strategies (Flink's WatermarkStrategy factory methods), for
--- DataStream:assign_timestamps_and_watermarks.
---@class flow.watermarks
flow.watermarks = {
  --- Watermarks for ascending timestamps: the watermark is the largest
  --- timestamp seen minus 1.
  ---@return flow.WatermarkStrategy strategy
  --- Example:
  ---   ds:assign_timestamps_and_watermarks(flow.watermarks.for_monotonous_timestamps()
  ---     :with_timestamp_assigner(function(v) return v[2] end))
  for_monotonous_timestamps = function() return strategy { delay = 0 } end,
  --- Watermarks for records out of order by at most ms: the largest
  --- timestamp seen minus ms minus 1.
  ---@param ms integer the bound, >= 0
  ---@return flow.WatermarkStrategy strategy
  --- Example:
  ---   ds:assign_timestamps_and_watermarks(flow.watermarks.for_bounded_out_of_orderness(1000)
  ---     :with_timestamp_assigner(function(v) return v.ts end))
  for_bounded_out_of_orderness = function(ms)
    if type(ms) ~= "number" or ms < 0 then error("for_bounded_out_of_orderness expects ms >= 0", 2) end
    return strategy { delay = ms }
  end,
}

--- Assigns event timestamps and generates watermarks (periodically, every
--- auto watermark interval) with a strategy from flow.watermarks.
---@param st flow.WatermarkStrategy
---@return flow.DataStream stream
--- Example:
---   local st = flow.watermarks.for_bounded_out_of_orderness(200)
---     :with_timestamp_assigner(function(v) return v[3] end)
---   ds:assign_timestamps_and_watermarks(st)
function DataStream:assign_timestamps_and_watermarks(st)
  if getmetatable(st) ~= Strategy then
    error("assign_timestamps_and_watermarks expects a flow.watermarks strategy", 2)
  end
  local plain = { delay = st.delay, idleness = st.idleness, assigner = st.assigner }
  return one_input(self, "timestamps", "Timestamps/Watermarks", { kind = "timestamps", strategy = plain,
    interval = self.env.auto_watermark_interval })
end

--- pipeline.auto-watermark-interval (ms, default 200)
--- Sets the interval of periodic watermarks.
---@param ms integer milliseconds between periodic watermarks
---@return flow.Env self
--- Example:
---   env:set_auto_watermark_interval(50)
function Env:set_auto_watermark_interval(ms)
  self.auto_watermark_interval = ms
  return self
end

-- ------------------------------------------------------------ windows

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

local function windowed(input, assigner, all)
  if type(assigner) ~= "table" or not assigner.type then
    error("window expects a window assigner from flow.windows", 3)
  end
  return setmetatable({ input = input, env = input.env, assigner = assigner, all = all, lateness = 0,
    origin = origin() }, WindowedStream)
end

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
  return windowed(self, assigner, false)
end

--- All-windows: one parallel instance sees every record.
--- Flink's windowAll; the window functions take no key.
---@param assigner flow.WindowAssigner a window assigner from flow.windows
---@return flow.WindowedStream windowed
--- Example:
---   ds:window_all(flow.windows.tumbling_processing_time(1000)):sum(1)
function DataStream:window_all(assigner)
  local keyed = self:key_by(function() return 0 end)
  return windowed(keyed, assigner, true)
end

--- Flink's countWindow: global windows with a count trigger (and a count evictor when sliding).
---@param size integer records per window
---@param slide? integer fire every slide records (a sliding count window)
---@return flow.WindowedStream windowed
--- Example:
---   ds:key_by(1):count_window(100):sum(2)
---   ds:key_by(1):count_window(10, 5):max(2)
function KeyedStream:count_window(size, slide)
  local w = windowed(self, windows.windows.global(), false)
  if slide then
    w._evictor = windows.evictors.count(size)
    w._trigger = windows.triggers.count(slide)
  else
    w._trigger = windows.triggers.purging(windows.triggers.count(size))
  end
  return w
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

-- ------------------------------------------------------------ joins

--- Window join and co-group, as Flink builds them: both inputs tagged and
--- unioned, keyed by their own key selectors, windowed, then a co-group
--- function over the window's two sides.
---@class flow.JoinBuilder
local JoinBuilder = {}
JoinBuilder.__index = JoinBuilder

--- Starts a window join (Flink's join): then where, equal_to, window and
--- apply(f) with `f(left, right) -> v` for every pair in a window.
---@param other flow.DataStream the right side
---@return flow.JoinBuilder join
--- Example:
---   a:join(b):where(1):equal_to(1)
---     :window(flow.windows.tumbling_event_time(2000))
---     :apply(function(l, r) return { l[1], l[2], r[2] } end)
function DataStream:join(other) return setmetatable({ a = self, b = other, kind = "join" }, JoinBuilder) end
--- Starts a window co-group (Flink's coGroup): as join, but apply(f) gets
--- `f(lefts, rights, out)` once per key and window.
---@param other flow.DataStream the right side
---@return flow.JoinBuilder co_group
--- Example:
---   a:co_group(b):where(1):equal_to(1)
---     :window(flow.windows.tumbling_event_time(2000))
---     :apply(function(ls, rs, out) out:collect({ #ls, #rs }) end)
function DataStream:co_group(other) return setmetatable({ a = self, b = other, kind = "co_group" }, JoinBuilder) end
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
--- Starts an interval join (Flink's intervalJoin) of two keyed streams with
--- event timestamps.
---@param other flow.KeyedStream the right side
---@return flow.IntervalJoin join
--- Example:
---   a:key_by(1):interval_join(b:key_by(1)):between(-1000, 1000)
---     :process(function(l, r, ctx, out) out:collect({ l, r }) end)
function KeyedStream:interval_join(other)
  if getmetatable(other) ~= KeyedStream then error("interval_join expects a keyed stream", 2) end
  return setmetatable({ a = self, b = other }, IntervalJoin)
end
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
  local c = setmetatable({ env = self.a.env, first = self.a, second = self.b }, Connected)
  return two_input(c, "interval_join", "IntervalJoin",
    { kind = "interval_join", f = f, lower = self.lower, upper = self.upper })
end

-- ------------------------------------------------------------ ConnectedStreams

--- Connects two streams (Flink's connect) for a two-input operator.
---@param other flow.DataStream
---@return flow.ConnectedStreams connected
--- Example:
---   a:connect(b):map(function(x) return x end, function(y) return -y end)
function DataStream:connect(other)
  if type(other) ~= "table" or other.ins == nil then error("connect expects a data stream", 2) end
  return setmetatable({ env = self.env, first = self, second = other }, Connected)
end

--- Keys both inputs, each with its own selector.
---@param sel1 flow.KeySelector key of the first input
---@param sel2 flow.KeySelector key of the second input
---@return flow.ConnectedStreams connected
--- Example:
---   a:connect(b):key_by(1, 1):process(fns)
function Connected:key_by(sel1, sel2)
  local a, b = self.first:key_by(sel1), self.second:key_by(sel2)
  return setmetatable({ env = self.env, first = a, second = b }, Connected)
end

function two_input(self, kind, name, spec)
  local inputs = edges_from(self.first, 1)
  for _, e in ipairs(edges_from(self.second, 2)) do inputs[#inputs + 1] = e end
  if self.first.key or self.second.key then spec.keys = { self.first.key, self.second.key } end
  local node = add_node(self.env, { kind = kind, name = name, spec = spec, inputs = inputs,
    two_input = true, keyed = spec.keys ~= nil })
  return stream(self.env, node)
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
  return two_input(self, "co_map", "Co-Map", { kind = "co_map", fn1 = f1, fn2 = f2 })
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
  return two_input(self, "co_flat_map", "Co-Flat Map", { kind = "co_flat_map", fn1 = f1, fn2 = f2 })
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
  return two_input(self, "co_process", self.first.key and "Keyed Co-Process" or "Co-Process",
    { kind = "co_process", fn = fns })
end

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

-- ------------------------------------------------------------ KeyedStream

--- A running reduce per key (Flink's reduce): `f(acc, v) -> acc'`. Streaming
--- mode emits the running result per record; batch mode the final one per key.
---@param f fun(acc: any, v: any): any
---@return flow.DataStream stream
--- Example:
---   ds:key_by(1):reduce(function(a, b) return { a[1], a[2] + b[2] } end)
function KeyedStream:reduce(f)
  check_fn(f, "reduce")
  return one_input(self, "reduce", "Keyed Reduce", { kind = "reduce", fn = f })
end

local function aggregation(agg)
  return function(self, field)
    if type(field) ~= "number" and type(field) ~= "string" then
      error(agg .. " expects a field index or name", 2)
    end
    return one_input(self, "reduce", "Keyed Aggregation", { kind = "reduce", agg = agg, field = field })
  end
end
--- Sums a field per key; the other fields are the first record's (a
--- non-table record is summed itself).
---@param field integer|string field index or name
---@return flow.DataStream stream
--- Example:
---   ds:key_by(1):sum(2)
KeyedStream.sum = aggregation("sum")
--- The smallest value of a field per key, in the key's first record.
---@param field integer|string field index or name
---@return flow.DataStream stream
--- Example:
---   ds:key_by(1):min(2)
KeyedStream.min = aggregation("min")
--- The largest value of a field per key, in the key's first record.
---@param field integer|string field index or name
---@return flow.DataStream stream
--- Example:
---   ds:key_by(1):max(2)
KeyedStream.max = aggregation("max")
--- The record with the smallest field per key (the first among ties).
---@param field integer|string field index or name
---@return flow.DataStream stream
--- Example:
---   ds:key_by(1):min_by(2)
KeyedStream.min_by = aggregation("min_by")
--- The record with the largest field per key (the first among ties).
---@param field integer|string field index or name
---@return flow.DataStream stream
--- Example:
---   ds:key_by(1):max_by(2)
KeyedStream.max_by = aggregation("max_by")

for _, name in ipairs { "sum", "min", "max", "min_by", "max_by", "reduce" } do
  DataStream[name] = function(self)
    error(name .. "() needs a keyed stream: call key_by(...) first (" .. origin() .. ")", 2)
  end
end

-- ------------------------------------------------------------ sinks

local function sink(self, name, spec)
  local s = one_input(self, "sink", name, spec)
  s.node.is_sink = true
  self.env.sinks[#self.env.sinks + 1] = s.node
  return setmetatable({ env = self.env, node = s.node }, Sink)
end

--- Names the sink operator.
---@param s string
---@return flow.Sink self
--- Example:
---   ds:print():name("stdout")
function Sink:name(s) self.node.name = tostring(s) return self end
--- Sets the sink operator's uid.
---@param s string
---@return flow.Sink self
--- Example:
---   ds:sink_to(flow.sinks.file{ path = "out" }):uid("file-sink")
function Sink:uid(s) self.node.uid = tostring(s) return self end
--- Sets the sink's parallelism.
---@param n integer
---@return flow.Sink self
--- Example:
---   ds:write_as_text("out.txt"):set_parallelism(1)
function Sink:set_parallelism(n) self.node.parallelism = n return self end
--- Puts the sink into a slot sharing group.
---@param s string
---@return flow.Sink self
--- Example:
---   ds:print():slot_sharing_group("sinks")
function Sink:slot_sharing_group(s) self.node.slot_sharing_group = tostring(s) return self end
--- Never chains the sink with its input operator.
---@return flow.Sink self
--- Example:
---   ds:print():disable_chaining()
function Sink:disable_chaining() self.node.chaining = "never" return self end

--- Prints every record to standard output in Flink's format (`(a,1)`),
--- with a "N> " subtask prefix when the sink's parallelism is above 1.
---@param prefix? string printed before each record
---@return flow.Sink sink
--- Example:
---   ds:print()
---   ds:print("debug")
function DataStream:print(prefix)
  return sink(self, "Sink: Print to Std. Out", { kind = "print", prefix = prefix })
end

--- Writes one record a line, in the print format: a file when the sink's
--- parallelism is 1, else a directory of files 1..p (as Flink).
---@param path string
---@return flow.Sink sink
--- Example:
---   ds:write_as_text("/tmp/out.txt"):set_parallelism(1)
function DataStream:write_as_text(path)
  if type(path) ~= "string" then error("write_as_text expects a path", 2) end
  local s = sink(self, "Sink: Unnamed", { kind = "write_text", path = path })
  s.node.output_path = path
  return s
end

--- Sinks for DataStream:sink_to (Flink's Sink API).
---@class flow.sinks
flow.sinks = {}
--- Flink's FileSink (exactly once with checkpoints): { path = directory }.
--- In-progress and pending part files are hidden (".part-..."); committed
--- ones are `part-<subtask>-<n>`, one record a line in the print format.
---@param opts {path: string} the output directory
---@return table sink a sink descriptor for DataStream:sink_to
--- Example:
---   env:enable_checkpointing(1000)
---   ds:sink_to(flow.sinks.file{ path = "/tmp/out" })
function flow.sinks.file(opts)
  if type(opts) ~= "table" or type(opts.path) ~= "string" then
    error("flow.sinks.file expects { path = directory }", 2)
  end
  return { type = "file", path = opts.path }
end

--- Writes the stream to a sink from flow.sinks (Flink's sinkTo).
---@param s table a sink from flow.sinks
---@return flow.Sink sink
--- Example:
---   ds:sink_to(flow.sinks.file{ path = "/tmp/out" })
function DataStream:sink_to(s)
  if type(s) ~= "table" or s.type ~= "file" then error("sink_to expects a sink from flow.sinks", 2) end
  local h = sink(self, "Sink: File Sink", { kind = "file_sink", path = s.path })
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
  return sink(self, "Sink: Unnamed", { kind = "sink", sink = fn })
end

-- ------------------------------------------------------------ execution

--- The nodes that lead to a sink, in creation order.
local function reachable(env)
  local keep = {}
  local function visit(n)
    if keep[n] then return end
    keep[n] = true
    for _, i in ipairs(n.inputs) do visit(i.node) end
  end
  for _, s in ipairs(env.sinks) do visit(s) end
  local out = {}
  for _, n in ipairs(env.nodes) do
    if keep[n] then out[#out + 1] = n end
  end
  return out
end

local function runtime_mode(env, nodes)
  if env.runtime_mode ~= "automatic" then return env.runtime_mode end
  for _, n in ipairs(nodes) do
    if n.is_source and not n.bounded then return "streaming" end
  end
  return "batch"
end

--- Builds the C StreamGraph; raises a clear error for user mistakes.
local function build_graph(env, job_name)
  local nodes = reachable(env)
  if #env.sinks == 0 then
    error("no sinks defined in the job: call print(), write_as_text(), add_sink() or " ..
      "execute_and_collect() before execute()", 0)
  end
  local mode = runtime_mode(env, nodes)
  local g = core.graph(job_name or "Flink Streaming Job")
  g:configure { mode = mode, chaining = env.chaining, max_parallelism = env.max_parallelism }
  local ids = {}
  for i, n in ipairs(nodes) do ids[n] = i end -- add_node numbers nodes 1.. in this order
  -- Flink's slot sharing group rule: an operator without its own group takes
  -- its inputs' group when they all agree, else "default"
  local ssg = {}
  for _, n in ipairs(nodes) do
    local g = n.slot_sharing_group
    if g == nil then
      for _, i in ipairs(n.inputs) do
        local ig = ssg[i.node]
        if g == nil then g = ig elseif g ~= ig then g = "default" end
      end
    end
    ssg[n] = g or "default"
  end
  for _, n in ipairs(nodes) do
    for _, i in ipairs(n.inputs) do
      if i.tag then
        local spec = i.node.spec
        spec.out_tags = spec.out_tags or {}
        spec.out_tags[ids[n]] = i.tag
      end
    end
  end
  for _, n in ipairs(nodes) do
    if n.input_file then
      local f, err = io.open(n.input_file, "rb")
      if not f then
        error("read_text_file: cannot open input file '" .. n.input_file .. "': " ..
          tostring(err):gsub("^[^:]*: ", "") .. " (" .. n.origin .. ")", 0)
      end
      f:close()
    end
    if n.output_path and (n.output_dir or (n.parallelism or env.parallelism) > 1) then
      local ok, err = core.mkdir(n.output_path)
      if not ok then
        error("write_as_text: cannot create directory '" .. n.output_path .. "': " .. err ..
          " (" .. n.origin .. ")", 0)
      end
    end
    local ok, payload = pcall(ship.encode, n.spec)
    if not ok then
      error("cannot ship operator '" .. n.name .. "' (" .. n.origin .. "): " .. tostring(payload), 0)
    end
    local id = g:add_node {
      name = n.name,
      kind = n.is_sink and "sink" or n.kind,
      parallelism = n.parallelism or env.parallelism,
      max_parallelism = n.max_parallelism or 0,
      slot_sharing_group = ssg[n],
      uid = n.uid,
      chaining = n.chaining or (n.is_source and "head" or "always"),
      source = n.is_source or false,
      keyed = n.keyed or false,
      origin = n.origin,
      payload = sbuf.encode { package_path = package.path, spec = payload },
    }
    assert(id == ids[n], "node ids out of order")
  end
  for _, n in ipairs(nodes) do
    for _, i in ipairs(n.inputs) do
      g:add_edge(ids[i.node], ids[n], i.part, i.explicit, i.type_number or 0)
    end
  end
  local ok, err = g:validate()
  if not ok then error(err, 0) end
  return g, mode
end

--- Flink clears its transformations after execute: a later execute runs
--- only what was added since.
local function reset(env)
  env.nodes, env.sinks = {}, {}
end

--- Sums the per-task accumulator tables (name -> number) of a result.
local function sum_accumulators(blobs)
  local acc = {}
  for _, blob in ipairs(blobs or {}) do
    for name, v in pairs(sbuf.decode(blob)) do acc[name] = (acc[name] or 0) + v end
  end
  return acc
end

--- The JobExecutionResult a script sees.
local function job_result(r, job_name)
  return {
    job_id = r.job_id,
    job_name = job_name,
    net_runtime_ms = r.net_runtime_ms,
    restarts = r.restarts,
    accumulators = sum_accumulators(r.accumulators),
    collected = r.collected,
    status = r.status,
  }
end

local function notify(env, event, ...)
  for _, l in ipairs(env.listeners) do
    local f = l[event]
    if f then f(l, ...) end
  end
end

--- Options of one execution, from the environment's settings.
local function execution_options(env, mode)
  local o = { buffer_timeout_ms = env.buffer_timeout, slots = env.slots, restart = env.restart,
    restore_dir = env.restore_dir }
  local cp = env.checkpointing
  if cp and mode == "batch" then
    -- as Flink: checkpoints are for streaming; a batch job recovers by rerunning
    cp = nil
  end
  if cp then
    o.checkpoint = cp
    -- as Flink: with checkpoints the default restart strategy is exponential delay
    if o.restart == nil then o.restart = { kind = "exponential_delay" } end
  end
  return o
end

--- Builds the graph, or prints the plan in `flowlua explain` mode.
local function prepare(env, job_name)
  local sinks = {}
  for _, n in ipairs(env.sinks) do
    if n.spec.kind == "file_sink" then sinks[#sinks + 1] = n.spec.path end
  end
  local g, mode = build_graph(env, job_name)
  if flow._explain_format then
    io.stdout:write(g:explain(flow._explain_format), "\n")
    io.stdout:flush()
    -- the plan is all `flowlua explain` does: end here, even if the script
    -- would catch an error (nothing runs yet, no thread to join); closing
    -- the state runs the finalizers that free the graphs
    os.exit(0, true)
  end
  reset(env)
  return g, mode, sinks
end

--- Commits what file sinks left pending once the whole job finished (with
--- checkpoints the last part files wait for this: Flink's final checkpoint).
local function commit_file_sinks(dirs)
  for _, dir in ipairs(dirs) do
    local p = io.popen("ls -1a '" .. dir:gsub("'", "'\\''") .. "' 2>/dev/null")
    for f in p:lines() do
      local final = f:match("^%.(part%-%d+%-%d+)%.pending$")
      if final then os.rename(dir .. "/" .. f, dir .. "/" .. final) end
    end
    p:close()
  end
end

--- Runs the job built so far and waits for it (Flink's execute); the
--- transformations are cleared, so a later execute runs only what was added
--- since. Raises the job's root cause when it fails. The result also has
--- restarts and status (see flow.JobExecutionResult).
---@param job_name? string default "Flink Streaming Job" (or pipeline.name)
---@return table result { job_id, job_name, net_runtime_ms, accumulators }
--- Example:
---   local result = env:execute("word count")
---   print(result.net_runtime_ms, result.accumulators.lines)
function Env:execute(job_name)
  local client = self:execute_async(job_name or self.default_job_name)
  return client:wait()
end

--- A submitted job (Flink's JobClient), from Env:execute_async.
---@class flow.JobClient
---@field job_id string
---@field job_name string
local JobClient = {}
JobClient.__index = JobClient

--- JobStatus name: "RUNNING", "FINISHED", ...
---@return string status
--- Example:
---   while client:status() == "RUNNING" do os.execute("sleep 1") end
function JobClient:status()
  if self._status then return self._status end
  return self._core:status()
end
--- Cancels the job (nothing once it ended); wait() then raises "was canceled".
---@return nil
--- Example:
---   local client = env:execute_async()
---   client:cancel()
---   pcall(client.wait, client)
function JobClient:cancel()
  if not self._status then self._core:cancel() end
end

--- Takes a savepoint of the running job into dir; returns its path.
--- Raises an error when the job has ended or the savepoint failed.
---@param dir string the directory for the savepoint
---@return string path the savepoint's directory
--- Example:
---   local path = client:trigger_savepoint("/tmp/savepoints")
function JobClient:trigger_savepoint(dir)
  if self._status then error("the job has ended", 2) end
  local path, err = self._core:savepoint(dir, false)
  if not path then error("savepoint failed: " .. tostring(err), 2) end
  return path
end

--- Takes a savepoint, then cancels the job (Flink's stop-with-savepoint);
--- returns the savepoint's path once the job has ended.
---@param dir string the directory for the savepoint
---@return string path the savepoint's directory
--- Example:
---   local path = client:stop_with_savepoint("/tmp/savepoints")
---   env2:set_restore_path(path)
function JobClient:stop_with_savepoint(dir)
  if self._status then error("the job has ended", 2) end
  local path, err = self._core:savepoint(dir, true)
  if not path then error("stop_with_savepoint failed: " .. tostring(err), 2) end
  self:wait() -- FINISHED, with what the savepoint covers committed
  return path
end

--- Waits for the job; returns its JobExecutionResult, or raises the job's
--- root cause. With timeout_ms: nil, "timeout" if it is still running.
---@param timeout_ms? integer wait at most this long
---@return flow.JobExecutionResult|nil result
---@return string? err "timeout" when the job is still running
--- Example:
---   local client = env:execute_async("job")
---   local r, err = client:wait(1000)
---   if err == "timeout" then client:cancel() end
function JobClient:wait(timeout_ms)
  if self._result then return self._result end
  local r, err, partial = self._core:wait(timeout_ms)
  if r == nil and err == "timeout" and partial == nil then return nil, "timeout" end
  self._status = (r and r.status) or (partial and partial.status) or "FAILED"
  if r and r.status == "FINISHED" then commit_file_sinks(self._file_sinks or {}) end
  self._core:close() -- every thread of the job is joined here
  local name = self.job_name
  if r == nil and self._collect_limit and partial and partial.status == "CANCELED"
      and #partial.collected > 0 then
    r = partial -- the collect limit was reached and the job canceled for it, as Flink
  end
  if r == nil then
    local msg = "job '" .. name .. "' " .. (partial and partial.status == "CANCELED" and "was canceled" or "failed") ..
      ": " .. tostring(err)
    self._error = msg
    notify(self._env, "on_job_executed", nil, msg)
    error(msg, 0)
  end
  self._result = job_result(r, name)
  notify(self._env, "on_job_executed", self._result, nil)
  return self._result
end

--- Submits the job built so far without waiting (Flink's executeAsync);
--- the transformations are cleared as by execute.
---@param job_name? string default "Flink Streaming Job" (or pipeline.name)
---@return flow.JobClient
--- Example:
---   local client = env:execute_async("background job")
---   print(client.job_id, client:status())
---   client:wait()
function Env:execute_async(job_name)
  job_name = job_name or self.default_job_name or "Flink Streaming Job"
  local g, mode, file_sinks = prepare(self, job_name)
  local core_client = g:submit(execution_options(self, mode))
  local client = setmetatable({ _core = core_client, _env = self, job_name = job_name,
    job_id = core_client:job_id(), _collect_limit = self._collect_limit, _file_sinks = file_sinks }, JobClient)
  self._collect_limit = nil
  notify(self, "on_job_submitted", client, nil)
  return client
end

--- listener = { on_job_submitted = function(self, client, err) end,
---              on_job_executed = function(self, result, err) end }
--- Called on the client: on_job_submitted(self, client) at submission,
--- on_job_executed(self, result, err) at the end (result nil and err the
--- message on failure).
---@param listener {on_job_submitted?: fun(self: table, client: flow.JobClient, err: string?), on_job_executed?: fun(self: table, result: flow.JobExecutionResult?, err: string?)}
---@return flow.Env self
--- Example:
---   env:register_job_listener{
---     on_job_executed = function(self, result, err) print(err or result.job_id) end,
---   }
function Env:register_job_listener(listener)
  if type(listener) ~= "table" then error("register_job_listener expects a table", 2) end
  self.listeners[#self.listeners + 1] = listener
  return self
end

--- Checkpointing (Flink's CheckpointConfig): every interval_ms the sources
--- inject barriers; opts = { mode = "exactly_once" | "at_least_once",
--- dir = path (default $TMPDIR/flowlua-checkpoints), timeout_ms = 600000,
--- min_pause_ms = 0, retained = 1 }. Checkpoints go to dir/<job id>/chk-<n>.
--- Batch runs take no checkpoints; with checkpoints the default restart
--- strategy is exponential_delay.
---@param interval_ms integer at least 10
---@param opts? {mode?: "exactly_once"|"at_least_once", dir?: string, timeout_ms?: integer, min_pause_ms?: integer, retained?: integer}
---@return flow.Env self
--- Example:
---   env:enable_checkpointing(1000, { mode = "exactly_once", dir = "/tmp/chk" })
function Env:enable_checkpointing(interval_ms, opts)
  if type(interval_ms) ~= "number" or interval_ms < 10 then
    error("enable_checkpointing expects an interval of at least 10 ms", 2)
  end
  opts = opts or {}
  local mode = opts.mode or "exactly_once"
  if mode ~= "exactly_once" and mode ~= "at_least_once" then
    error("checkpointing mode must be 'exactly_once' or 'at_least_once'", 2)
  end
  self.checkpointing = {
    interval_ms = interval_ms,
    exactly_once = mode == "exactly_once",
    dir = opts.dir or ((os.getenv("TMPDIR") or "/tmp") .. "/flowlua-checkpoints"),
    timeout_ms = opts.timeout_ms or 600000,
    min_pause_ms = opts.min_pause_ms or 0,
    retained = opts.retained or 1,
  }
  return self
end

--- Start the next job from a checkpoint or savepoint directory (a chk-<n>
--- directory, or a job's directory: its newest complete checkpoint).
---@param dir string
---@return flow.Env self
--- Example:
---   env:set_restore_path("/tmp/chk/" .. job_id)
function Env:set_restore_path(dir)
  if type(dir) ~= "string" then error("set_restore_path expects a directory", 2) end
  self.restore_dir = dir
  return self
end

--- Flink's restart strategies: "none", "fixed_delay" {attempts, delay_ms},
--- "failure_rate" {max_failures, interval_ms, delay_ms}, "exponential_delay"
--- {initial_ms, max_ms, multiplier, jitter, reset_ms, attempts}.
--- Options left out take Flink's defaults; every option is a number.
---@param kind "none"|"fixed_delay"|"failure_rate"|"exponential_delay"
---@param opts? table<string, number>
---@return flow.Env self
--- Example:
---   env:set_restart_strategy("fixed_delay", { attempts = 3, delay_ms = 1000 })
function Env:set_restart_strategy(kind, opts)
  local known = { none = true, fixed_delay = true, failure_rate = true, exponential_delay = true }
  if not known[kind] then
    error("unknown restart strategy '" .. tostring(kind) ..
      "' (none, fixed_delay, failure_rate, exponential_delay)", 2)
  end
  local r = { kind = kind }
  for k, v in pairs(opts or {}) do
    if type(v) ~= "number" then error("restart strategy option '" .. tostring(k) .. "' must be a number", 2) end
    r[k] = v
  end
  self.restart = r
  return self
end

--- The job's plan (Flink's getExecutionPlan) without running it.
---@param fmt? "text"|"json"|"dot" default "text"
---@return string
--- Example:
---   print(env:explain("dot"))
function Env:explain(fmt)
  local g = build_graph(self, "Flink Streaming Job")
  local s, err = g:explain(fmt or "text")
  if not s then error(err, 2) end
  return s
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
  sink(self, "Sink: Collect Stream Sink", { kind = "collect", limit = limit })
  if not limit then
    for _, n in ipairs(reachable(self.env)) do
      if n.is_source and not n.bounded then
        error("execute_and_collect on an unbounded stream needs { limit = n }", 2)
      end
    end
  end
  self.env._collect_limit = limit
  local r = self.env:execute(job_name or "Flink Streaming Job")
  local out = {}
  local ffi = require("ffi")
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

--- The running task's context (subtask_index(), get_parallelism(), counter(name))
--- from inside any user function; an error on the client.
--- Its methods: subtask_index(), get_parallelism(), counter(name):add(n).
---@return table ctx
--- Example:
---   ds:map(function(v)
---     flow.get_runtime_context():counter("seen"):add(1)
---     return v
---   end)
function flow.get_runtime_context()
  local ctx = require("flow.context").current
  if not ctx then error("get_runtime_context() works only inside a running task", 2) end
  return ctx
end

--- Sentinel raised by execute() in `flowlua explain` mode.
flow._EXPLAINED = setmetatable({}, { __tostring = function() return "explained" end, __flow_sentinel = true })

--- Flink's ParameterTool over the script's arguments.
--- Methods: get(key, default), get_number, get_bool, get_required, has,
--- keys, size, to_table.
---@param argv? string[] default: the script's arguments (`arg`)
---@return table params
--- Example:
---   local params = flow.params()
---   local input = params:get("input", "input.txt")
---   local p = params:get_number("parallelism", 1)
function flow.params(argv)
  return require("flow.params").from_args(argv or _G.arg or {})
end

return flow
