--- Flink's StreamGraphGenerator: turns the transformations an environment
--- recorded (transformations.lua) into the C StreamGraph (flow.core), which
--- C compiles into a JobGraph. Each node's operator spec is shipped
--- (flow.ship) as the node's payload; the task side (lua/flow/runtime/)
--- reads it.
local core = require("flow.core")
local ship = require("flow.ship")
local sbuf = require("string.buffer")

local M = {}

--- The nodes that lead to a sink, in creation order.
function M.reachable(env)
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

--- The job's runtime mode: the environment's, or in "automatic" mode
--- "batch" when every source is bounded, else "streaming".
function M.runtime_mode(env, nodes)
  if env.runtime_mode ~= "automatic" then return env.runtime_mode end
  for _, n in ipairs(nodes) do
    if n.is_source and not n.bounded then return "streaming" end
  end
  return "batch"
end

--- The batch combiner of a hash-partitioned edge into an operator with spec
--- `t` (reading the edge as input type_number): { agg, field, key } when the
--- producer may pre-aggregate what it sends, else nil. Only a keyed reduce
--- combines, and only when combining cannot change a record's key: a
--- built-in aggregation keyed by a field other than the one it changes (a
--- user reduce, or a key selector function, might).
local function combiner(t, type_number)
  if t.kind ~= "reduce" then return nil end
  local key = t.key
  if t.keys and type_number and type_number > 0 then key = t.keys[type_number] end
  local safe = t.agg ~= nil and key ~= nil and key.field ~= nil and
    (t.agg == "min_by" or t.agg == "max_by" or key.field ~= t.field)
  if not safe then return nil end
  return { agg = t.agg, field = t.field, key = key }
end

--- Builds the C StreamGraph; raises a clear error for user mistakes.
--- Returns the graph and the job's runtime mode.
function M.build_graph(env, job_name)
  local nodes = M.reachable(env)
  if #env.sinks == 0 then
    error("no sinks defined in the job: call print(), write_as_text(), add_sink() or " ..
      "execute_and_collect() before execute()", 0)
  end
  local mode = M.runtime_mode(env, nodes)
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
  -- what a producer's spec says about each of its out edges, by target id:
  -- side output tags (out_tags), and in batch mode the combiner its writer
  -- applies before a keyed reduce (out_combine: decided here, once per edge)
  for _, n in ipairs(nodes) do n.spec.out_combine = nil end
  for _, n in ipairs(nodes) do
    for _, i in ipairs(n.inputs) do
      local spec = i.node.spec
      if i.tag then
        spec.out_tags = spec.out_tags or {}
        spec.out_tags[ids[n]] = i.tag
      end
      local c = mode == "batch" and i.part == "hash" and combiner(n.spec, i.type_number) or nil
      if c then
        spec.out_combine = spec.out_combine or {}
        spec.out_combine[ids[n]] = c
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

return M
