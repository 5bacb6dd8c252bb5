--- Flink's StreamExecutionEnvironment: flow.env makes it; every Env
--- method is here — job settings (parallelism, runtime mode, buffer
--- timeout, chaining, watermark interval, checkpointing, restore path,
--- restart strategy), sources, job listeners, and execution: execute /
--- execute_async build the StreamGraph (stream_graph_generator.lua) and
--- submit it, returning a JobClient (job_client.lua); explain prints the
--- plan.
local core = require("flow.core")
local transformations = require("flow.api.transformations")
local stream_graph_generator = require("flow.api.stream_graph_generator")
local job_client = require("flow.api.job_client")

local add_node, stream = transformations.add_node, transformations.stream
local build_graph = stream_graph_generator.build_graph

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

--- The StreamExecutionEnvironment: sources, job settings and execution.
--- Made by flow.env.
---@class flow.Env
local Env = {}
Env.__index = Env

-- flow.env and flow.get_execution_environment (lua/flow/init.lua puts them
-- into `flow`)
---@class flow
local flow = {}

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

-- ------------------------------------------------------------ sources

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

--- Nexmark's events from the built-in generator (C, stdlib/nexmark.c):
--- `events` events of the Nexmark benchmark (1 person, 3 auctions and 46 bids
--- in every 50; person and auction ids from 1000; hot auctions, bidders and
--- sellers; event time from `base` (epoch ms) at `rate` events a second,
--- by default Nexmark's 10 M; one event in ten up to 3 s late). The same seed gives the same events at any parallelism. Each
--- record is one flat table: `event_type` (0 person, 1 auction, 2 bid) and
--- the event's fields with Nexmark's names (person: id, name, emailAddress,
--- creditCard, city, state, dateTime, extra; auction: id, itemName,
--- description, initialBid, reserve, dateTime, expires, seller, category,
--- extra; bid: auction, bidder, price, channel, url, dateTime, extra);
--- dateTime and expires are epoch milliseconds. Bounded.
---@param opts? {events?: integer, seed?: integer, base?: integer, rate?: integer, parallelism?: integer}
---@return flow.DataStream stream of events
--- Example:
---   env:from_nexmark{ events = 1000000, seed = 1 }
---     :filter(function(e) return e.event_type == 2 end):print()
function Env:from_nexmark(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("from_nexmark expects a table of options", 2) end
  local events, seed, base = opts.events or 100000000, opts.seed or 0, opts.base or 1700000000000
  local rate = opts.rate or 10000000
  for name, v in pairs { events = events, seed = seed, base = base, rate = rate } do
    if type(v) ~= "number" or v < 0 or v % 1 ~= 0 or v >= 2 ^ 53 then
      error("from_nexmark: " .. name .. " must be a non-negative integer", 2)
    end
  end
  if rate < 1 or rate > 1e12 then error("from_nexmark: rate must be in [1, 1e12] events a second", 2) end
  return source(self, "Source: Nexmark",
    { kind = "nexmark", events = events, seed = seed, base = base, rate = rate },
    { parallelism = opts.parallelism })
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

-- ------------------------------------------------------------ event time

--- pipeline.auto-watermark-interval (ms, default 200)
--- Sets the interval of periodic watermarks. A subtask also emits one after
--- every 32768 records, so that at high rates the records waiting for the
--- next watermark (their windows, their timers) stay bounded.
---@param ms integer milliseconds between periodic watermarks
---@return flow.Env self
--- Example:
---   env:set_auto_watermark_interval(50)
function Env:set_auto_watermark_interval(ms)
  self.auto_watermark_interval = ms
  return self
end

-- ------------------------------------------------------------ execution

--- Flink clears its transformations after execute: a later execute runs
--- only what was added since.
local function reset(env)
  env.nodes, env.sinks = {}, {}
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
  -- `flowlua explain` (src/main.c) sets _explain_format on the module
  local explain_format = require("flow")._explain_format
  if explain_format then
    io.stdout:write(g:explain(explain_format), "\n")
    io.stdout:flush()
    -- the plan is all `flowlua explain` does: end here, even if the script
    -- would catch an error (nothing runs yet, no thread to join); closing
    -- the state runs the finalizers that free the graphs
    os.exit(0, true)
  end
  reset(env)
  return g, mode, sinks
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
  local client = job_client.new(core_client, self, job_name, self._collect_limit, file_sinks)
  self._collect_limit = nil
  job_client.notify(self, "on_job_submitted", client, nil)
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

return {
  env = flow.env, -- public: flow.env
  get_execution_environment = flow.get_execution_environment, -- public
}
