--- flowlua's DataStream API (shared/API.md): a StreamExecutionEnvironment
--- records transformations; `execute` turns them into a StreamGraph in C
--- (flow.core), which compiles it into a JobGraph and runs it on a
--- MiniCluster.
local core = require("flow.core")
local ship = require("flow.ship")
local codec = require("flow.codec")
local sbuf = require("string.buffer")


local flow = { version = core.version }

local DataStream = {}
DataStream.__index = DataStream
local KeyedStream = setmetatable({}, { __index = DataStream })
KeyedStream.__index = KeyedStream
local Sink = {}
Sink.__index = Sink
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

flow.ops = {}
--- Flink WordCount's tokenizer in C: a string record becomes one (word, 1)
--- per lower-cased run of [A-Za-z0-9_].
function flow.ops.words() return setmetatable({ symbol = "flowlua_op_words", config = "" }, COp) end
--- A string record, lower-cased (ASCII), in C.
function flow.ops.lower() return setmetatable({ symbol = "flowlua_op_lower", config = "" }, COp) end

local function is_c_op(f) return getmetatable(f) == COp end

-- ------------------------------------------------------------ environment

---@class flow.EnvOptions
---@field parallelism? integer
---@field max_parallelism? integer
---@field runtime_mode? "automatic"|"streaming"|"batch"
---@field buffer_timeout? integer

---@param opts? flow.EnvOptions
---@return flow.Env
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
flow.get_execution_environment = flow.env

function Env:set_parallelism(n)
  assert(type(n) == "number" and n >= 1, "set_parallelism expects a positive number")
  self.parallelism = n
  return self
end
function Env:get_parallelism() return self.parallelism end
function Env:set_max_parallelism(n)
  self.max_parallelism = n
  return self
end
function Env:get_max_parallelism() return self.max_parallelism end
function Env:set_runtime_mode(mode)
  if mode ~= "automatic" and mode ~= "streaming" and mode ~= "batch" then
    error("runtime mode must be 'automatic', 'streaming' or 'batch', got " .. tostring(mode), 2)
  end
  self.runtime_mode = mode
  return self
end
function Env:set_buffer_timeout(ms)
  self.buffer_timeout = ms
  return self
end
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

function Env:from_elements(...)
  local n = select("#", ...)
  return source(self, "Source: Collection Source", { kind = "elements", elements = { ... }, n = n },
    { parallelism = 1, non_parallel = true })
end

function Env:from_collection(xs)
  if type(xs) ~= "table" then error("from_collection expects an array table", 2) end
  return source(self, "Source: Collection Source", { kind = "elements", elements = xs, n = #xs },
    { parallelism = 1, non_parallel = true })
end

function Env:from_sequence(from, to)
  if type(from) ~= "number" or type(to) ~= "number" then
    error("from_sequence expects two numbers", 2)
  end
  return source(self, "Source: Sequence Source", { kind = "sequence", from = from, to = to })
end

function Env:read_text_file(path)
  if type(path) ~= "string" then error("read_text_file expects a path", 2) end
  local s = source(self, "Source: File Source", { kind = "text_file", path = path })
  s.node.input_file = path
  return s
end

--- Lines from a TCP server (unbounded; ends when the server closes).
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
function Env:stdin()
  return source(self, "Source: Stdin", { kind = "stdin" },
    { parallelism = 1, non_parallel = true, bounded = false })
end

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

function DataStream:map(f)
  if is_c_op(f) then return c_node(self, "Map", f) end
  check_fn(f, "map")
  return one_input(self, "map", "Map", { kind = "map", fn = f })
end

function DataStream:flat_map(f)
  if is_c_op(f) then return c_node(self, "Flat Map", f) end
  check_fn(f, "flat_map")
  return one_input(self, "flat_map", "Flat Map", { kind = "flat_map", fn = f })
end

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

---@return flow.KeyedStream
local function partitioned(self, part, mt)
  local ins = {}
  for i, x in ipairs(self.ins) do ins[i] = { node = x.node, tag = x.tag, part = part } end
  return stream(self.env, self.node, mt or DataStream, ins)
end

---@return flow.KeyedStream
function DataStream:key_by(sel)
  local k = partitioned(self, "hash", KeyedStream)
  k.key = key_spec(sel)
  return k
end
function DataStream:forward() return partitioned(self, "forward") end
function DataStream:rebalance() return partitioned(self, "rebalance") end
function DataStream:rescale() return partitioned(self, "rescale") end
function DataStream:shuffle() return partitioned(self, "shuffle") end
function DataStream:broadcast() return partitioned(self, "broadcast") end
function DataStream:global() return partitioned(self, "global") end

--- union(other, ...): one logical input made of several edges (no operator).
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
function DataStream:get_side_output(tag)
  if type(tag) ~= "table" or type(tag.name) ~= "string" then
    error("get_side_output expects a tag from flow.output_tag(name)", 2)
  end
  if not self.node then error("get_side_output: this stream has no operator (union)", 2) end
  return stream(self.env, self.node, DataStream, { { node = self.node, tag = tag.name } })
end

---@param name string
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

local Connected = {}
Connected.__index = Connected
local two_input

-- ------------------------------------------------------------ event time

local windows = require("flow.windows")
flow.windows, flow.triggers, flow.evictors = windows.windows, windows.triggers, windows.evictors

--- Watermark strategies (Flink's WatermarkStrategy): plain data plus the
--- builder methods, so they ship with the job.
local Strategy = {}
Strategy.__index = Strategy
local function strategy(t) return setmetatable(t, Strategy) end
function Strategy:with_timestamp_assigner(f)
  if type(f) ~= "function" then error("with_timestamp_assigner expects a function(v, previous_ts) -> ts", 2) end
  return strategy { delay = self.delay, idleness = self.idleness, assigner = f }
end
function Strategy:with_idleness(ms)
  if type(ms) ~= "number" or ms <= 0 then error("with_idleness expects a positive number of ms", 2) end
  return strategy { delay = self.delay, idleness = ms, assigner = self.assigner }
end
flow.watermarks = {
  for_monotonous_timestamps = function() return strategy { delay = 0 } end,
  for_bounded_out_of_orderness = function(ms)
    if type(ms) ~= "number" or ms < 0 then error("for_bounded_out_of_orderness expects ms >= 0", 2) end
    return strategy { delay = ms }
  end,
}

function DataStream:assign_timestamps_and_watermarks(st)
  if getmetatable(st) ~= Strategy then
    error("assign_timestamps_and_watermarks expects a flow.watermarks strategy", 2)
  end
  local plain = { delay = st.delay, idleness = st.idleness, assigner = st.assigner }
  return one_input(self, "timestamps", "Timestamps/Watermarks", { kind = "timestamps", strategy = plain,
    interval = self.env.auto_watermark_interval })
end

--- pipeline.auto-watermark-interval (ms, default 200)
function Env:set_auto_watermark_interval(ms)
  self.auto_watermark_interval = ms
  return self
end

-- ------------------------------------------------------------ windows

local WindowedStream = {}
WindowedStream.__index = WindowedStream

local function windowed(input, assigner, all)
  if type(assigner) ~= "table" or not assigner.type then
    error("window expects a window assigner from flow.windows", 3)
  end
  return setmetatable({ input = input, env = input.env, assigner = assigner, all = all, lateness = 0,
    origin = origin() }, WindowedStream)
end

function DataStream:window(assigner)
  if not self.key then
    error("window() needs a keyed stream: call key_by(...) first, or use window_all() (" .. origin() .. ")", 2)
  end
  return windowed(self, assigner, false)
end

--- All-windows: one parallel instance sees every record.
function DataStream:window_all(assigner)
  local keyed = self:key_by(function() return 0 end)
  return windowed(keyed, assigner, true)
end

--- Flink's countWindow: global windows with a count trigger (and a count evictor when sliding).
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

function WindowedStream:trigger(t)
  if type(t) ~= "table" or not t.type then error("trigger expects a trigger from flow.triggers", 2) end
  self._trigger = t
  return self
end
function WindowedStream:evictor(e)
  if type(e) ~= "table" or not e.type then error("evictor expects an evictor from flow.evictors", 2) end
  self._evictor = e
  return self
end
function WindowedStream:allowed_lateness(ms)
  if type(ms) ~= "number" or ms < 0 then error("allowed_lateness expects ms >= 0", 2) end
  if self.assigner.type == "global" or self.assigner.time == "processing" then
    -- Flink allows it only for event-time windows
    if ms > 0 then error("allowed_lateness needs event-time windows", 2) end
  end
  self.lateness = ms
  return self
end
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

function WindowedStream:reduce(f, window_fn)
  check_fn(f, "reduce")
  return window_op(self, { kind = "reduce", fn = f, window_fn = window_fn }, "reduce")
end
function WindowedStream:aggregate(agg, window_fn)
  if type(agg) ~= "table" or type(agg.create) ~= "function" or type(agg.add) ~= "function"
      or type(agg.result) ~= "function" then
    error("aggregate expects { create = fn, add = fn(v, acc), result = fn(acc), merge = fn(a, b) }", 2)
  end
  return window_op(self, { kind = "aggregate", agg = agg, window_fn = window_fn }, "aggregate")
end
function WindowedStream:process(f)
  check_fn(f, "process")
  return window_op(self, { kind = "process", f = f }, "process")
end
function WindowedStream:apply(f)
  check_fn(f, "apply")
  return window_op(self, { kind = "apply", f = f }, "apply")
end
for _, agg in ipairs { "sum", "min", "max", "min_by", "max_by" } do
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
local JoinBuilder = {}
JoinBuilder.__index = JoinBuilder

function DataStream:join(other) return setmetatable({ a = self, b = other, kind = "join" }, JoinBuilder) end
function DataStream:co_group(other) return setmetatable({ a = self, b = other, kind = "co_group" }, JoinBuilder) end
function JoinBuilder:where(sel) self.ka = key_spec(sel) return self end
function JoinBuilder:equal_to(sel) self.kb = key_spec(sel) return self end
function JoinBuilder:window(assigner)
  if not self.ka or not self.kb then error(self.kind .. ": call where(...) and equal_to(...) before window(...)", 2) end
  self.assigner = assigner
  return self
end
function JoinBuilder:trigger(t) self._trigger = t return self end
function JoinBuilder:evictor(e) self._evictor = e return self end
function JoinBuilder:allowed_lateness(ms) self.lateness = ms return self end

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
local IntervalJoin = {}
IntervalJoin.__index = IntervalJoin
function KeyedStream:interval_join(other)
  if getmetatable(other) ~= KeyedStream then error("interval_join expects a keyed stream", 2) end
  return setmetatable({ a = self, b = other }, IntervalJoin)
end
function IntervalJoin:between(lower, upper)
  if type(lower) ~= "number" or type(upper) ~= "number" or lower > upper then
    error("between expects lower <= upper (ms)", 2)
  end
  self.lower, self.upper = lower, upper
  return self
end
function IntervalJoin:process(f)
  check_fn(f, "process")
  if not self.lower then error("interval_join: call between(lower, upper) before process(...)", 2) end
  local c = setmetatable({ env = self.a.env, first = self.a, second = self.b }, Connected)
  return two_input(c, "interval_join", "IntervalJoin",
    { kind = "interval_join", f = f, lower = self.lower, upper = self.upper })
end

-- ------------------------------------------------------------ ConnectedStreams

function DataStream:connect(other)
  if type(other) ~= "table" or other.ins == nil then error("connect expects a data stream", 2) end
  return setmetatable({ env = self.env, first = self, second = other }, Connected)
end

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

function Connected:map(f1, f2)
  check_fn(f1, "map"); check_fn(f2, "map")
  return two_input(self, "co_map", "Co-Map", { kind = "co_map", fn1 = f1, fn2 = f2 })
end

function Connected:flat_map(f1, f2)
  check_fn(f1, "flat_map"); check_fn(f2, "flat_map")
  return two_input(self, "co_flat_map", "Co-Flat Map", { kind = "co_flat_map", fn1 = f1, fn2 = f2 })
end

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

function DataStream:set_parallelism(n)
  if type(n) ~= "number" or n < 1 then error("set_parallelism expects a positive number", 2) end
  local node = the_node(self)
  if node.non_parallel and n ~= 1 then
    error("the parallelism of a non-parallel source (" .. node.name .. ") must be 1", 2)
  end
  node.parallelism = n
  return self
end
function DataStream:set_max_parallelism(n)
  if type(n) ~= "number" then error("set_max_parallelism expects a number", 2) end
  the_node(self).max_parallelism = n
  return self
end
function DataStream:name(s)
  the_node(self).name = tostring(s)
  return self
end
function DataStream:uid(s)
  the_node(self).uid = tostring(s)
  return self
end
function DataStream:slot_sharing_group(s)
  the_node(self).slot_sharing_group = tostring(s)
  return self
end
function DataStream:start_new_chain()
  the_node(self).chaining = "head"
  return self
end
function DataStream:disable_chaining()
  the_node(self).chaining = "never"
  return self
end
function DataStream:get_parallelism()
  return the_node(self).parallelism or self.env.parallelism
end

-- ------------------------------------------------------------ KeyedStream

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
KeyedStream.sum = aggregation("sum")
KeyedStream.min = aggregation("min")
KeyedStream.max = aggregation("max")
KeyedStream.min_by = aggregation("min_by")
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

function Sink:name(s) self.node.name = tostring(s) return self end
function Sink:uid(s) self.node.uid = tostring(s) return self end
function Sink:set_parallelism(n) self.node.parallelism = n return self end
function Sink:slot_sharing_group(s) self.node.slot_sharing_group = tostring(s) return self end
function Sink:disable_chaining() self.node.chaining = "never" return self end

function DataStream:print(prefix)
  return sink(self, "Sink: Print to Std. Out", { kind = "print", prefix = prefix })
end

function DataStream:write_as_text(path)
  if type(path) ~= "string" then error("write_as_text expects a path", 2) end
  local s = sink(self, "Sink: Unnamed", { kind = "write_text", path = path })
  s.node.output_path = path
  return s
end

flow.sinks = {}
--- Flink's FileSink (exactly once with checkpoints): { path = directory }.
function flow.sinks.file(opts)
  if type(opts) ~= "table" or type(opts.path) ~= "string" then
    error("flow.sinks.file expects { path = directory }", 2)
  end
  return { type = "file", path = opts.path }
end

function DataStream:sink_to(s)
  if type(s) ~= "table" or s.type ~= "file" then error("sink_to expects a sink from flow.sinks", 2) end
  local h = sink(self, "Sink: File Sink", { kind = "file_sink", path = s.path })
  h.node.output_path = s.path
  h.node.output_dir = true
  return h
end

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
    error(flow._EXPLAINED, 0)
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

---@return table result { job_id, job_name, net_runtime_ms, accumulators }
function Env:execute(job_name)
  local client = self:execute_async(job_name or self.default_job_name)
  return client:wait()
end

---@class flow.JobClient
---@field job_id string
local JobClient = {}
JobClient.__index = JobClient

--- JobStatus name: "RUNNING", "FINISHED", ...
function JobClient:status()
  if self._status then return self._status end
  return self._core:status()
end
function JobClient:cancel()
  if not self._status then self._core:cancel() end
end

--- Takes a savepoint of the running job into dir; returns its path.
function JobClient:trigger_savepoint(dir)
  if self._status then error("the job has ended", 2) end
  local path, err = self._core:savepoint(dir, false)
  if not path then error("savepoint failed: " .. tostring(err), 2) end
  return path
end

--- Takes a savepoint, then cancels the job (Flink's stop-with-savepoint);
--- returns the savepoint's path once the job has ended.
function JobClient:stop_with_savepoint(dir)
  if self._status then error("the job has ended", 2) end
  local path, err = self._core:savepoint(dir, true)
  if not path then error("stop_with_savepoint failed: " .. tostring(err), 2) end
  pcall(self.wait, self)
  return path
end

--- Waits for the job; returns its JobExecutionResult, or raises the job's
--- root cause. With timeout_ms: nil, "timeout" if it is still running.
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

---@return flow.JobClient
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
function Env:register_job_listener(listener)
  if type(listener) ~= "table" then error("register_job_listener expects a table", 2) end
  self.listeners[#self.listeners + 1] = listener
  return self
end

--- Checkpointing (Flink's CheckpointConfig): every interval_ms the sources
--- inject barriers; opts = { mode = "exactly_once" | "at_least_once",
--- dir = path (default $TMPDIR/flowlua-checkpoints), timeout_ms = 600000,
--- min_pause_ms = 0, retained = 1 }. Checkpoints go to dir/<job id>/chk-<n>.
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
function Env:set_restore_path(dir)
  if type(dir) ~= "string" then error("set_restore_path expects a directory", 2) end
  self.restore_dir = dir
  return self
end

--- Flink's restart strategies: "none", "fixed_delay" {attempts, delay_ms},
--- "failure_rate" {max_failures, interval_ms, delay_ms}, "exponential_delay"
--- {initial_ms, max_ms, multiplier, jitter, reset_ms, attempts}.
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

---@return string
function Env:explain(fmt)
  local g = build_graph(self, "Flink Streaming Job")
  local s, err = g:explain(fmt or "text")
  if not s then error(err, 2) end
  return s
end

--- Runs the job and returns its records. With { limit = n } the job is
--- canceled once n records arrived (a job with unbounded sources needs one).
function DataStream:execute_and_collect(job_name, opts)
  if type(job_name) == "table" then job_name, opts = nil, job_name end
  opts = opts or {}
  local limit = opts.limit
  if limit ~= nil and (type(limit) ~= "number" or limit < 1) then
    error("execute_and_collect: limit must be a positive number", 2)
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

--- The running task's context (subtask_index(), parallelism(), counter(name))
--- from inside any user function; an error on the client.
function flow.get_runtime_context()
  local rt = package.loaded["flow.runtime"]
  local ctx = rt and rt.current_context
  if not ctx then error("get_runtime_context() works only inside a running task", 2) end
  return ctx
end

--- Sentinel raised by execute() in `flowlua explain` mode.
flow._EXPLAINED = setmetatable({}, { __tostring = function() return "explained" end, __flow_sentinel = true })

--- Flink's ParameterTool over the script's arguments.
function flow.params(argv)
  return require("flow.params").from_args(argv or _G.arg or {})
end

return flow
