--- require("flow"): flowlua's DataStream API (shared/API.md). A
--- StreamExecutionEnvironment records transformations; `execute` turns them
--- into a StreamGraph in C (flow.core), which compiles it into a JobGraph
--- and runs it on a MiniCluster.
---
--- This file is the facade: it assembles the `flow` table from the modules
--- of lua/flow/api/, one per Flink class (see each file's head):
---   environment.lua            StreamExecutionEnvironment (flow.env)
---   datastream.lua             DataStream, with the operator settings
---   keyed_stream.lua           KeyedStream
---   windowed_stream.lua        WindowedStream and AllWindowedStream
---   connected_streams.lua      ConnectedStreams
---   joins.lua                  window join, co-group, interval join
---   sinks.lua                  DataStreamSink, flow.sinks
---   watermark_strategy.lua     WatermarkStrategy, flow.watermarks
---   windows.lua                flow.windows, flow.triggers, flow.evictors
---   c_operators.lua            flow.c_operator, flow.ops
---   functions.lua              flow.output_tag, flow.get_runtime_context, flow.params
---   job_client.lua             JobClient, job results, the file sinks' final commit
---   stream_graph_generator.lua the recorded transformations -> the C StreamGraph
---   transformations.lua        the recorded graph, and adding an operator to it
---   classes.lua                the DataStream and KeyedStream method tables
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

require("flow.jit_guard") -- first: before any trace is compiled
local core = require("flow.core")
local environment = require("flow.api.environment")
local c_operators = require("flow.api.c_operators")
local functions = require("flow.api.functions")
local watermark_strategy = require("flow.api.watermark_strategy")
local windows = require("flow.api.windows")
local sinks = require("flow.api.sinks")
-- the stream classes' methods (they come to scripts through the streams
-- that flow.env's sources return)
require("flow.api.datastream")
require("flow.api.keyed_stream")

--- The module, `local flow = require("flow")`: flow.env builds the
--- environment; flow.watermarks, flow.windows, flow.triggers, flow.evictors,
--- flow.sinks and flow.ops make what the stream methods take.
---@class flow
---@field version string flowlua's version
local flow = { version = core.version }

-- the StreamExecutionEnvironment
flow.env = environment.env
flow.get_execution_environment = environment.get_execution_environment

-- what the stream methods take
flow.watermarks = watermark_strategy.watermarks
flow.windows, flow.triggers, flow.evictors = windows.windows, windows.triggers, windows.evictors
flow.sinks = sinks.sinks
flow.c_operator, flow.ops = c_operators.c_operator, c_operators.ops
-- the connectors' record formats (JSON, CSV)
flow.formats = require("flow.formats")

-- for scripts and their user functions
flow.output_tag = functions.output_tag
flow.get_runtime_context = functions.get_runtime_context
flow.params = functions.params

--- Sentinel raised by execute() in `flowlua explain` mode.
flow._EXPLAINED = setmetatable({}, { __tostring = function() return "explained" end, __flow_sentinel = true })

return flow
