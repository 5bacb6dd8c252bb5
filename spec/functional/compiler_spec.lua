-- `flowlua explain --format json`: StreamGraph -> JobGraph as Flink would
-- chain it. Expected groupings follow Flink's chaining rules (one input,
-- forward edge, same parallelism/max parallelism/slot sharing group,
-- chaining strategies), not our own output.
local h = require("helpers.flowlua")

local function plan(body)
  local p, err = h.explain("local flow = require('flow')\n" .. body)
  assert(p, err)
  return p
end

describe("explain --format json", function()
  it("has the contract's shape", function()
    local p = plan [[
      local env = flow.env{ parallelism = 2 }
      env:from_elements("a"):map(function(x) return x end):print()
      env:execute("shape")
    ]]
    assert.are.equal("shape", p.job_name)
    assert.are.equal("batch", p.runtime_mode)
    local n = p.stream_graph.nodes[2]
    assert.are.same({ 2, "Map", 2, 128, "default" },
      { n.id, n.name, n.parallelism, n.max_parallelism, n.slot_sharing_group })
    assert.are.equal("rebalance", p.stream_graph.edges[1].partitioner) -- 1 -> 2 parallelism
    assert.are.equal(2, p.slots_required)
  end)

  it("chains source -> map -> filter -> sink of equal parallelism into one vertex", function()
    local p = plan [[
      local env = flow.env{ parallelism = 2 }
      env:from_sequence(1, 10):map(function(x) return x end):filter(function() return true end):print()
      env:execute()
    ]]
    assert.are.same({ { "Source: Sequence Source", "Map", "Filter", "Sink: Print to Std. Out" } }, h.groups(p))
    assert.are.equal("Source: Sequence Source -> Map -> Filter -> Sink: Print to Std. Out",
      p.job_graph.vertices[1].name)
    assert.are.same({}, h.job_edges(p))
  end)

  it("splits WordCount at the source (parallelism 1 -> 2) and at key_by (hash)", function()
    local p = plan [[
      local env = flow.env{ parallelism = 2 }
      env:from_elements("a b"):flat_map(function(l, out) out:collect({l, 1}) end)
        :key_by(1):sum(2):print()
      env:execute()
    ]]
    assert.are.same({ { "Source: Collection Source" }, { "Flat Map" },
      { "Keyed Aggregation", "Sink: Print to Std. Out" } }, h.groups(p))
    assert.are.same({ "1->2:rebalance", "2->3:hash" }, h.job_edges(p))
    assert.are.equal(2, p.slots_required)
  end)

  it("chains a parallel source with its flat_map when parallelism matches", function()
    local p = plan [[
      local env = flow.env{ parallelism = 4 }
      env:from_sequence(1, 9):flat_map(function(l, out) out:collect({l, 1}) end)
        :key_by(1):sum(2):print()
      env:execute()
    ]]
    assert.are.same({ { "Source: Sequence Source", "Flat Map" },
      { "Keyed Aggregation", "Sink: Print to Std. Out" } }, h.groups(p))
    assert.are.equal(4, p.slots_required)
  end)

  it("a per-operator parallelism change breaks the chain with rebalance", function()
    local p = plan [[
      local env = flow.env{ parallelism = 2 }
      env:from_sequence(1, 9):map(function(x) return x end):set_parallelism(3)
        :map(function(x) return x end):name("second"):print()
      env:execute()
    ]]
    assert.are.same({ { "Source: Sequence Source" }, { "Map" }, { "second", "Sink: Print to Std. Out" } },
      h.groups(p))
    assert.are.same({ "1->2:rebalance", "2->3:rebalance" }, h.job_edges(p))
    assert.are.equal(3, p.slots_required)
  end)

  it("names set with :name() are the node names", function()
    local p = plan [[
      local env = flow.env{ parallelism = 1 }
      env:from_sequence(1, 2):name("numbers"):map(function(x) return x end):name("double"):print():name("out")
      env:execute()
    ]]
    assert.are.same({ { "numbers", "double", "out" } }, h.groups(p))
  end)

  it("a sink of its own parallelism is its own vertex", function()
    local p = plan [[
      local env = flow.env{ parallelism = 2 }
      env:from_sequence(1, 2):map(function(x) return x end):print():set_parallelism(1)
      env:execute()
    ]]
    assert.are.same({ { "Source: Sequence Source", "Map" }, { "Sink: Print to Std. Out" } }, h.groups(p))
    assert.are.same({ "1->2:rebalance" }, h.job_edges(p))
  end)

  it("streaming mode is reported when set", function()
    local p = plan [[
      local env = flow.env{ parallelism = 1 }
      env:set_runtime_mode("streaming")
      env:from_sequence(1, 2):print()
      env:execute()
    ]]
    assert.are.equal("streaming", p.runtime_mode)
  end)

  it("the WordCount example compiles as Flink would", function()
    local out, err, code = h.run({ "explain", h.source_dir .. "/examples/wordcount.lua", "--format", "json",
      "--parallelism", "2" })
    assert.are.equal(0, code, err)
    local p = require("cjson").decode(out)
    assert.are.same({ { "Source: Collection Source" }, { "tokenizer" }, { "counter", "print-sink" } }, h.groups(p))
  end)

  it("text format is the default", function()
    local out, err, code = h.run({ "explain", h.source_dir .. "/examples/wordcount.lua" })
    assert.are.equal(0, code, err)
    assert.truthy(out:find("tokenizer", 1, true))
    assert.truthy(out:find("hash", 1, true))
  end)
end)
