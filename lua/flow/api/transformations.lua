--- The transformations an environment records (Flink's Transformation):
--- each API call that adds an operator adds a node here, and returns a
--- stream pointing at it. stream_graph_generator.lua turns the nodes into
--- the C StreamGraph when the job runs.
---
--- A node: { kind, name, spec, inputs, env, origin } plus settings
--- (parallelism, uid, chaining, ...; is_source / is_sink, keyed, two_input).
--- `spec` is the operator's table shipped to its tasks (lua/flow/runtime/
--- reads it: kind, fn, key, agg, field, keys, out_tags, path, ...).
--- An input: { node, part (partitioner), explicit, tag (side output),
--- type_number (0 for a one-input operator, 1 or 2 for a two-input one) }.
local classes = require("flow.api.classes")

local DataStream = classes.DataStream

local M = {}

--- "script.lua:12" of the first caller outside the flow modules.
function M.origin()
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

--- Raises "<what> expects a function" at the user's call (level 3: call it
--- straight from the public method).
function M.check_fn(f, what)
  if type(f) ~= "function" and not (type(f) == "table" and getmetatable(f) and getmetatable(f).__call) then
    error(what .. " expects a function, got " .. type(f), 3)
  end
end

--- A key selector as a spec: { fn = f } or { field = index or name }
--- (level 3 errors, as check_fn).
function M.key_spec(sel)
  if type(sel) == "function" then return { fn = sel } end
  if type(sel) == "number" or type(sel) == "string" then return { field = sel } end
  error("key_by expects a function or a field index/name, got " .. type(sel), 3)
end

--- Adds a transformation; returns its node.
function M.add_node(env, t)
  t.env = env
  t.inputs = t.inputs or {}
  t.origin = t.origin or M.origin()
  env.nodes[#env.nodes + 1] = t
  return t
end

--- A stream: the operator that produces it (`node`, nil after union) and
--- the inputs the next operator will read (`ins`: node, partitioner, side
--- output tag). `mt` is its class (default DataStream).
function M.stream(env, node, mt, ins)
  return setmetatable({ env = env, node = node, ins = ins or { { node = node } } }, mt or DataStream)
end

--- The inputs of an operator fed by stream `s`; the edge partitioner comes
--- from a pending partitioning call (`rebalance()` ...) or key_by, else
--- forward.
function M.edges_from(s, type_number)
  local inputs = {}
  for _, i in ipairs(s.ins) do
    inputs[#inputs + 1] = { node = i.node, part = i.part or "forward", explicit = i.part ~= nil,
      tag = i.tag, type_number = type_number or 0 }
  end
  return inputs
end

--- A one-input operator fed by stream `s` (keyed when `s` is); returns the
--- stream it produces. `extra`: more fields of the node.
function M.one_input(s, kind, name, spec, extra)
  local t = extra or {}
  t.kind, t.name, t.spec = kind, name, spec
  t.inputs = M.edges_from(s)
  if s.key then
    spec.key = s.key
    t.keyed = true
  end
  return M.stream(s.env, M.add_node(s.env, t))
end

--- A two-input operator reading `first` (type_number 1) and `second` (2);
--- keyed when either input is. Returns the stream it produces.
function M.two_input(env, first, second, kind, name, spec)
  local inputs = M.edges_from(first, 1)
  for _, e in ipairs(M.edges_from(second, 2)) do inputs[#inputs + 1] = e end
  if first.key or second.key then spec.keys = { first.key, second.key } end
  local node = M.add_node(env, { kind = kind, name = name, spec = spec, inputs = inputs,
    two_input = true, keyed = spec.keys ~= nil })
  return M.stream(env, node)
end

return M
