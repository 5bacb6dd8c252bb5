--- Sinks: the handle a sink call returns (Flink's DataStreamSink) and the
--- sinks of flow.sinks (Flink's Sink API) for DataStream:sink_to. The
--- DataStream methods that add a sink (print, write_as_text, sink_to,
--- add_sink, execute_and_collect) are in datastream.lua; they call add.
local transformations = require("flow.api.transformations")

local M = {}

--- The handle a sink call returns (Flink's DataStreamSink): settings of the
--- sink operator, each returning the handle.
---@class flow.Sink
local Sink = {}
Sink.__index = Sink

--- Adds a sink operator fed by stream `s`; the environment remembers it
--- (a job runs what leads to its sinks). Returns its handle.
function M.add(s, name, spec)
  local out = transformations.one_input(s, "sink", name, spec)
  out.node.is_sink = true
  s.env.sinks[#s.env.sinks + 1] = out.node
  return setmetatable({ env = s.env, node = out.node }, Sink)
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

-- flow.sinks (lua/flow/init.lua puts it into `flow`)
---@class flow
local flow = {}

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

M.sinks = flow.sinks -- public: flow.sinks

return M
