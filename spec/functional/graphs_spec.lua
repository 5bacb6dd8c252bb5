-- A table of job graphs and how Flink's StreamingJobGraphGenerator would
-- chain them. Expected vertex groupings, job edges and slots follow Flink's
-- rules (isChainable: one input, forward partitioner, same parallelism, same
-- max parallelism, same slot sharing group, chaining strategies, chaining
-- enabled; sources are heads; slot sharing: per group the largest
-- parallelism, summed) — written by hand, not copied from our output.
local h = require("helpers.flowlua")

local S_SEQ, S_COL = "Source: Sequence Source", "Source: Collection Source"
local PRINT = "Sink: Print to Std. Out"
local id = "function(x) return x end"

local cases = {
  { "forward chain of equal parallelism is one vertex",
    "env:from_sequence(1, 9):map(" .. id .. "):filter(function() return true end):print()",
    { { S_SEQ, "Map", "Filter", PRINT } }, {}, 2 },
  { "explicit forward() with equal parallelism still chains",
    "env:from_sequence(1, 9):forward():map(" .. id .. "):print()",
    { { S_SEQ, "Map", PRINT } }, {}, 2 },
  { "rebalance() splits the chain",
    "env:from_sequence(1, 9):rebalance():map(" .. id .. "):print()",
    { { S_SEQ }, { "Map", PRINT } }, { "1->2:rebalance" }, 2 },
  { "rescale() splits the chain",
    "env:from_sequence(1, 9):rescale():map(" .. id .. "):print()",
    { { S_SEQ }, { "Map", PRINT } }, { "1->2:rescale" }, 2 },
  { "shuffle() splits the chain",
    "env:from_sequence(1, 9):shuffle():map(" .. id .. "):print()",
    { { S_SEQ }, { "Map", PRINT } }, { "1->2:shuffle" }, 2 },
  { "broadcast() splits the chain",
    "env:from_sequence(1, 9):broadcast():map(" .. id .. "):print()",
    { { S_SEQ }, { "Map", PRINT } }, { "1->2:broadcast" }, 2 },
  { "global() splits the chain",
    "env:from_sequence(1, 9):global():map(" .. id .. "):print()",
    { { S_SEQ }, { "Map", PRINT } }, { "1->2:global" }, 2 },
  { "key_by is a hash edge; the keyed operator chains with what follows",
    "env:from_sequence(1, 9):key_by(" .. id .. "):map(" .. id .. "):filter(" .. id .. "):print()",
    { { S_SEQ }, { "Map", "Filter", PRINT } }, { "1->2:hash" }, 2 },
  { "a parallelism change without a partitioner is a rebalance (the sink keeps the default)",
    "env:from_sequence(1, 9):map(" .. id .. "):set_parallelism(1):print()",
    { { S_SEQ }, { "Map" }, { PRINT } }, { "1->2:rebalance", "2->3:rebalance" }, 2 },
  { "a non-parallel source feeding a parallel map",
    "env:from_elements(1, 2):map(" .. id .. "):print()",
    { { S_COL }, { "Map", PRINT } }, { "1->2:rebalance" }, 2 },
  { "mixed parallelism 1 -> 1 -> 2 -> 2",
    "env:from_elements(1):map(" .. id .. "):set_parallelism(1):map(" .. id .. "):name('m2'):print()",
    { { S_COL, "Map" }, { "m2", PRINT } }, { "1->2:rebalance" }, 2 },
  { "union: the unioned operator is never chained to its inputs",
    "local a = env:from_sequence(1, 9) local b = env:from_sequence(1, 9):name('b')\n" ..
    "a:union(b):map(" .. id .. "):print()",
    { { S_SEQ }, { "b" }, { "Map", PRINT } }, { "1->3:forward", "2->3:forward" }, 2 },
  { "union of inputs with different parallelism",
    "env:from_elements(1):union(env:from_sequence(1, 9)):map(" .. id .. "):print()",
    { { S_COL }, { S_SEQ }, { "Map", PRINT } }, { "1->3:rebalance", "2->3:forward" }, 2 },
  { "connect: a two-input operator is its own chain head",
    "env:from_sequence(1, 9):connect(env:from_sequence(1, 9):name('b'))" ..
    ":map(" .. id .. ", " .. id .. "):print()",
    { { S_SEQ }, { "b" }, { "Co-Map", PRINT } }, { "1->3:forward", "2->3:forward" }, 2 },
  { "keyed connect: both inputs hash",
    "env:from_sequence(1, 9):connect(env:from_sequence(1, 9):name('b'))" ..
    ":key_by(" .. id .. ", " .. id .. "):flat_map(" .. id .. ", " .. id .. "):print()",
    { { S_SEQ }, { "b" }, { "Co-Flat Map", PRINT } }, { "1->3:hash", "2->3:hash" }, 2 },
  { "side outputs are edges of their own and chain when forward",
    "local tag = flow.output_tag('t')\n" ..
    "local p = env:from_sequence(1, 9):process{ process_element = function(s, v, c, o) o:collect(v) end }\n" ..
    "p:print():name('main') p:get_side_output(tag):map(" .. id .. "):print():name('side')",
    { { S_SEQ, "Process", "main", "Map", "side" } }, {}, 2 },
  { "fan-out: one operator with two chainable outputs",
    "local s = env:from_sequence(1, 9) s:map(" .. id .. "):name('a'):print() s:map(" .. id .. "):name('b'):print()",
    { { S_SEQ, "a", PRINT, "b", PRINT } }, {}, 2 },
  { "start_new_chain() makes a chain head",
    "env:from_sequence(1, 9):map(" .. id .. "):start_new_chain():filter(" .. id .. "):print()",
    { { S_SEQ }, { "Map", "Filter", PRINT } }, { "1->2:forward" }, 2 },
  { "disable_chaining() isolates the operator on both sides",
    "env:from_sequence(1, 9):map(" .. id .. "):disable_chaining():filter(" .. id .. "):print()",
    { { S_SEQ }, { "Map" }, { "Filter", PRINT } }, { "1->2:forward", "2->3:forward" }, 2 },
  { "env:disable_operator_chaining() chains nothing",
    "env:disable_operator_chaining() env:from_sequence(1, 9):map(" .. id .. "):print()",
    { { S_SEQ }, { "Map" }, { PRINT } }, { "1->2:forward", "2->3:forward" }, 2 },
  { "two slot sharing groups: slots are the sum of each group's widest vertex",
    "env:from_sequence(1, 9):map(" .. id .. "):slot_sharing_group('b'):set_parallelism(3):print()",
    { { S_SEQ }, { "Map" }, { PRINT } }, { "1->2:rebalance", "2->3:rebalance" }, 5 },
  { "downstream operators inherit their input's slot sharing group",
    "env:from_sequence(1, 9):map(" .. id .. "):slot_sharing_group('b'):filter(" .. id .. "):print()",
    { { S_SEQ }, { "Map", "Filter", PRINT } }, { "1->2:forward" }, 4 },
  { "a different max parallelism breaks the chain",
    "env:from_sequence(1, 9):map(" .. id .. "):set_max_parallelism(64):print()",
    { { S_SEQ }, { "Map" }, { PRINT } }, { "1->2:forward", "2->3:forward" }, 2 },
  { "a sink of its own parallelism",
    "env:from_sequence(1, 9):map(" .. id .. "):print():set_parallelism(1)",
    { { S_SEQ, "Map" }, { PRINT } }, { "1->2:rebalance" }, 2 },
  { "diamond: split and re-union",
    "local s = env:from_sequence(1, 9) local a = s:map(" .. id .. "):name('a')\n" ..
    "local b = s:filter(" .. id .. "):name('b') a:union(b):map(" .. id .. "):name('c'):print()",
    { { S_SEQ, "a", "b" }, { "c", PRINT } }, { "1->2:forward", "1->2:forward" }, 2 },
  { "WordCount shape: combiner-side chain, hash, aggregation chained with its sink",
    "env:from_sequence(1, 9):flat_map(function(x, o) o:collect({x, 1}) end):key_by(1):sum(2):print()",
    { { S_SEQ, "Flat Map" }, { "Keyed Aggregation", PRINT } }, { "1->2:hash" }, 2 },
}

describe("job graphs as Flink chains them", function()
  for _, c in ipairs(cases) do
    local name, body, groups, edges, slots = c[1], c[2], c[3], c[4], c[5]
    it(name, function()
      local src = "local flow = require('flow')\nlocal env = flow.env{ parallelism = 2 }\n" ..
        body .. "\nenv:execute()\n"
      local plan, err = h.explain(src)
      assert(plan, err)
      assert.are.same(groups, h.groups(plan))
      assert.are.same(edges, h.job_edges(plan))
      assert.are.equal(slots, plan.slots_required)
    end)
  end
  it("has at least 20 cases", function() assert.is_true(#cases >= 20) end)
end)

describe("graphs that cannot run are refused before anything runs", function()
  local function refused(body, needle)
    local src = "local flow = require('flow')\nlocal env = flow.env{ parallelism = 2 }\n" ..
      body .. "\nenv:execute()\nprint('RAN')\n"
    local out, err, code = h.run_script(src)
    assert.are.equal(1, code, err)
    assert.are.equal("", out) -- nothing ran, nothing printed
    assert.truthy(err:find(needle, 1, true), err)
    return err
  end

  it("explicit forward across parallelisms names the operator and line", function()
    local err = refused("env:from_elements(1):forward():map(" .. id .. "):print()", "forward")
    assert.truthy(err:find("'Map'", 1, true), err)
    assert.truthy(err:find(".lua:3", 1, true), err)
  end)
  it("parallelism above max parallelism", function()
    refused("env:from_sequence(1, 9):map(" .. id .. "):set_parallelism(200):print()", "exceeds its max parallelism")
  end)
  it("max parallelism out of 1..32768", function()
    refused("env:from_sequence(1, 9):map(" .. id .. "):set_max_parallelism(40000):print()", "40000")
  end)
  it("window on a non-keyed stream points at window_all", function()
    refused("env:from_sequence(1, 9):window()", "window_all")
  end)
  it("sum on a non-keyed stream points at key_by", function()
    refused("env:from_sequence(1, 9):sum(1):print()", "key_by")
  end)
  it("a job with no sinks", function()
    refused("env:from_sequence(1, 9):map(" .. id .. ")", "no sinks")
  end)
  it("a function that cannot be shipped names the upvalue", function()
    refused("local co = coroutine.create(print)\nenv:from_sequence(1, 9):map(function(x) return co and x end):print()",
      "upvalue 'co'")
  end)
end)

describe("explain formats", function()
  it("dot renders with graphviz", function()
    local out, err, code = h.run({ "explain", h.source_dir .. "/examples/wordcount.lua", "--format", "dot" })
    assert.are.equal(0, code, err)
    assert.truthy(out:find("digraph", 1, true))
    local have_dot = os.execute("command -v dot >/dev/null 2>&1")
    if have_dot ~= 0 and have_dot ~= true then -- Lua 5.1 and 5.2-style results
      pending("graphviz is not installed")
      return
    end
    local path = h.write(h.tmpname(".dot"), out)
    local p = io.popen("dot -Tsvg " .. h.quote(path) .. " 2>&1")
    local svg = p:read("*a")
    p:close()
    os.remove(path)
    assert.truthy(svg:find("<svg", 1, true), svg)
  end)
end)

describe("partitioners at run time", function()
  -- each record comes back as "subtask:value" from a parallelism-3 process
  local function placement(part, src)
    local out, err, code = h.run_script(([[
      local flow = require("flow")
      local env = flow.env{ parallelism = 3 }
      local r = %s:%s()
        :process{ process_element = function(self, v, ctx, out) out:collect(ctx:subtask_index() .. ":" .. v) end }
        :execute_and_collect()
      table.sort(r)
      print(table.concat(r, " "))
    ]]):format(src or "env:from_sequence(1, 6)", part))
    assert.are.equal(0, code, err)
    local by = {}
    for s, v in out:gmatch("(%d+):(%d+)") do
      by[tonumber(s)] = (by[tonumber(s)] or 0) + 1
    end
    return by, out
  end

  it("broadcast sends every record to every subtask", function()
    local by = placement("broadcast")
    assert.are.same({ [0] = 6, [1] = 6, [2] = 6 }, by)
  end)
  it("global sends everything to subtask 0", function()
    local by = placement("global")
    assert.are.same({ [0] = 6 }, by)
  end)
  it("rebalance spreads records round-robin", function()
    local by = placement("rebalance", "env:from_collection({1,2,3,4,5,6})")
    assert.are.same({ [0] = 2, [1] = 2, [2] = 2 }, by)
  end)
  it("forward keeps each record on its subtask", function()
    local _, out = placement("forward")
    -- from_sequence(1, 6) at parallelism 3: subtask i holds 2i+1, 2i+2
    assert.are.equal("0:1 0:2 1:3 1:4 2:5 2:6\n", out)
  end)
  it("shuffle loses nothing", function()
    local by = placement("shuffle")
    assert.are.equal(6, (by[0] or 0) + (by[1] or 0) + (by[2] or 0))
  end)
  it("rescale from 1 upstream subtask reaches every downstream subtask", function()
    local by = placement("rescale", "env:from_collection({1,2,3,4,5,6})")
    assert.are.same({ [0] = 2, [1] = 2, [2] = 2 }, by)
  end)
  it("hash sends equal keys to one subtask", function()
    local out, err, code = h.run_script [=[
      local flow = require("flow")
      local env = flow.env{ parallelism = 3 }
      local r = env:from_sequence(1, 300):map(function(x) return x % 5 end):key_by(function(x) return x end)
        :process{ process_element = function(self, v, ctx, out) out:collect({ v, ctx:subtask_index() }) end }
        :execute_and_collect()
      local where, bad = {}, 0
      for _, t in ipairs(r) do
        if where[t[1]] and where[t[1]] ~= t[2] then bad = bad + 1 end
        where[t[1]] = t[2]
      end
      print(#r, bad)
    ]=]
    assert.are.equal(0, code, err)
    assert.are.equal("300\t0\n", out)
  end)
end)

describe("task slots", function()
  it("a job needing more slots than configured fails with a clear message", function()
    local out, err, code = h.run_script [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2, slots = 1 }
      env:from_sequence(1, 9):print()
      env:execute()
    ]]
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.truthy(err:find("needs 2 task slots, 1 are free", 1, true), err)
  end)
end)

describe("keyed-only process functions", function()
  it("state in a process function on a non-keyed stream is refused at graph-build time", function()
    local out, err, code = h.run_script [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      env:from_sequence(1, 9):process{
        process_element = function(self, v, ctx, out) local s = ctx:value_state("n") out:collect(v) end,
      }:print()
      env:execute()
      print("RAN")
    ]]
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.truthy(err:find("ctx:value_state(), which needs a keyed stream", 1, true), err)
    assert.truthy(err:find(".lua:3", 1, true), err)
  end)
  it("timers too", function()
    local _, err, code = h.run_script [[
      local flow = require("flow")
      local env = flow.env()
      env:from_sequence(1, 9):process{
        process_element = function(self, v, ctx) ctx:register_processing_time_timer(1) end }:print()
    ]]
    assert.are.equal(1, code)
    assert.truthy(err:find("register_processing_time_timer", 1, true), err)
  end)
  it("a keyed stream may use them", function()
    local plan, err = h.explain [[
      local flow = require('flow')
      local env = flow.env{ parallelism = 2 }
      env:from_sequence(1, 9):key_by(function(x) return x % 2 end):process{
        process_element = function(self, v, ctx, out) ctx:register_processing_time_timer(1) end }:print()
      env:execute()
    ]]
    assert(plan, err)
    assert.are.same({ { "Source: Sequence Source" }, { "KeyedProcess", "Sink: Print to Std. Out" } }, h.groups(plan))
  end)
end)
