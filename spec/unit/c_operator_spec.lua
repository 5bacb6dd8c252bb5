-- The C-operator adapter (flow.runtime.operators.c_operator), loaded
-- directly with the built-in C operators of flow_native.so: batches, and
-- the C side of an edge's batch combiner (the same spec.out_combine the
-- record writer reads).
local u = require("helpers.unit")
u.native()
local c_operator = require("flow.runtime.operators.c_operator")

--- A C operator feeding network output 1 (target node 7), its emit captured
--- (what would reach the writer).
local function words_op(out_combine, symbol)
  local ctx = u.context { desc = { mode = "batch", outputs = { { target = { id = 7 }, source_node = 1 } } } }
  local op = u.op({ kind = "c_op", symbol = symbol or "flowlua_op_words", out_combine = out_combine }, ctx,
    { outputs = { { target = 7, net = 1 } } })
  ctx.chain = { op }
  local push = c_operator.c_op(op, ctx)
  return op, push, ctx
end

local function counts(op)
  local t, n = {}, 0
  for _, r in ipairs(u.values(op)) do
    t[r[1]] = (t[r[1]] or 0) + r[2]
    n = n + 1
  end
  return t, n
end

local LINES = { "the quick fox", "The lazy dog", "the end" }

describe("C operators in a chain", function()
  it("run whole batches: words() emits one (word, 1) per word", function()
    local op, push = words_op(nil)
    for _, l in ipairs(LINES) do push(l) end
    assert.are.same({}, op.out) -- held in the batch until it is full or flushed
    op.finish()
    local t, n = counts(op)
    assert.are.equal(8, n)
    assert.are.same({ the = 3, quick = 1, fox = 1, lazy = 1, dog = 1, ["end"] = 1 }, t)
  end)

  it("fuse words() with the edge's sum(2) by field 1 into one C pass", function()
    local op, push = words_op({ [7] = { agg = "sum", field = 2, key = { field = 1 } } })
    assert.is_not_nil(op.fused)
    for _, l in ipairs(LINES) do push(l) end
    op.finish()
    local t, n = counts(op)
    assert.are.equal(6, n) -- one record per word
    assert.are.same({ the = 3, quick = 1, fox = 1, lazy = 1, dog = 1, ["end"] = 1 }, t)
  end)

  it("pre-aggregate in C for the edge's max", function()
    local op, push = words_op({ [7] = { agg = "max", field = 2, key = { field = 1 } } })
    assert.is_nil(op.fused)
    assert.is_not_nil(op.combiner)
    for _, l in ipairs(LINES) do push(l) end
    op.finish()
    local t, n = counts(op)
    assert.are.equal(6, n)
    assert.are.equal(1, t.the)
  end)

  it("leave an edge's combiner to Lua when C cannot do it", function()
    -- min_by is not a C aggregation; the record writer combines in Lua
    local op, push = words_op({ [7] = { agg = "min_by", field = 2, key = { field = 1 } } })
    assert.is_nil(op.fused)
    assert.is_nil(op.combiner)
    for _, l in ipairs(LINES) do push(l) end
    op.finish()
    local _, n = counts(op)
    assert.are.equal(8, n)
  end)

  it("report a missing symbol clearly", function()
    assert.has_error(function() words_op(nil, "no_such_operator_symbol") end)
  end)
end)
