-- The keyed state backend (flow.runtime.state), loaded directly: value,
-- list, map and reducing state scoped to the current key and namespace,
-- and snapshots restored by key-group range.
local u = require("helpers.unit")
local state = require("flow.runtime.state")

-- numbers are their own key group modulo 8: ranges are easy to reason about
local function by_mod8(k) return k % 8 end

describe("keyed state backend", function()
  it("scopes value state to the current key and namespace", function()
    local b = state.new(by_mod8)
    local s = b:value_state("v", "none")
    b:set_key(1)
    assert.are.equal("none", s:value())
    s:update("one")
    b:set_key(2)
    assert.are.equal("none", s:value())
    s:update("two")
    b:set_namespace("w1")
    assert.are.equal("none", s:value())
    s:update("two in w1")
    b:set_namespace(nil)
    assert.are.equal("two", s:value())
    b:set_key(1)
    assert.are.equal("one", s:value())
    s:clear()
    assert.are.equal("none", s:value())
    assert.are.equal(2, b:count("v")) -- (2, ""), (2, "w1")
  end)

  it("keeps list, map and reducing state", function()
    local b = state.new(by_mod8)
    b:set_key(3)
    local l = b:list_state("l")
    assert.are.same({}, l:get())
    l:add("a")
    l:add("b")
    assert.are.same({ "a", "b" }, l:get())
    local given = { "x" }
    l:update(given)
    given[2] = "y" -- update copies
    assert.are.same({ "x" }, l:get())
    l:update({})
    assert.is_nil(b:get("l"))

    local m = b:map_state("m")
    m:put("k", 1)
    m:put("j", 2)
    assert.are.equal(1, m:get("k"))
    assert.is_true(m:contains("j"))
    local seen = {}
    for k, v in m:pairs() do seen[k] = v end
    assert.are.same({ k = 1, j = 2 }, seen)
    m:remove("k")
    m:remove("j")
    assert.is_false(m:contains("j"))
    assert.is_nil(b:get("m")) -- the last entry removed drops the state

    local r = b:reducing_state("r", function(a, v) return a + v end)
    assert.is_nil(r:get())
    r:add(5)
    r:add(7)
    assert.are.equal(12, r:get())
    r:clear()
    assert.is_nil(r:get())
  end)

  it("refuses a nil key, and keys tables by their contents", function()
    local b = state.new(function() return 0 end)
    assert.has_error(function() b:set_key(nil) end, "a key selector returned nil")
    local s = b:value_state("v")
    b:set_key({ "a", 1 })
    s:update(10)
    b:set_key({ "a", 1 }) -- another table, the same key
    assert.are.equal(10, s:value())
    b:set_key({ "a", 2 })
    assert.is_nil(s:value())
  end)

  it("restores only the key groups in range, merging snapshots", function()
    local b = state.new(by_mod8)
    local s = b:value_state("v")
    for k = 0, 15 do
      b:set_key(k)
      s:update(k * 10)
    end
    local snap = b:snapshot()
    local low, high = state.new(by_mod8), state.new(by_mod8)
    low:restore({ snap }, 0, 3)
    high:restore({ snap }, 4, 7)
    for k = 0, 15 do
      local mine, other = low, high
      if k % 8 > 3 then mine, other = high, low end
      mine:set_key(k)
      other:set_key(k)
      assert.are.equal(k * 10, mine:value_state("v"):value())
      assert.is_nil(other:value_state("v"):value())
    end
    -- two old subtasks' snapshots into one, with values rewritten on the way
    local a, c = state.new(by_mod8), state.new(by_mod8)
    a:set_key(1)
    a:value_state("v"):update(1)
    c:set_key(2)
    c:value_state("v"):update(2)
    local all = state.new(by_mod8)
    all:restore({ a:snapshot(), c:snapshot() }, nil, nil, function(name, v) return name .. v end)
    all:set_key(1)
    assert.are.equal("v1", all:value_state("v"):value())
    all:set_key(2)
    assert.are.equal("v2", all:value_state("v"):value())
  end)

  it("redistributes real key groups over a new parallelism", function()
    u.native()
    local keys = require("flow.runtime.keys")
    local maxp = 128
    local b = state.new(keys.assigner(maxp))
    local s = b:value_state("count")
    local words = {}
    for i = 1, 200 do
      words[i] = "w" .. i
      b:set_key(words[i])
      s:update(i)
    end
    local snap = b:snapshot()
    local owner = {}
    for i = 0, 2 do
      local first, last = keys.key_group_range(i, 3, maxp)
      local part = state.new(keys.assigner(maxp))
      part:restore({ snap }, first, last)
      for j, w in ipairs(words) do
        part:set_key(w)
        local v = part:value_state("count"):value()
        if v ~= nil then
          assert.are.equal(j, v)
          assert.is_nil(owner[w], w .. " restored twice")
          owner[w] = i
          local kg = keys.key_group(w, maxp)
          assert.is_true(kg >= first and kg <= last)
        end
      end
    end
    for _, w in ipairs(words) do assert.is_not_nil(owner[w], w .. " lost") end
  end)

  it("snapshots state outside and inside windows in one layout, by the key's group", function()
    u.native()
    local keys = require("flow.runtime.keys")
    local maxp = 128
    local b = state.new(keys.assigner(maxp))
    local s = b:value_state("v")
    local tkey = { "user", 7 } -- a table key: its group is its encoding's
    for _, k in ipairs { "a", 5, tkey } do
      b:set_key(k)
      s:update("plain")
      b:set_namespace("w1")
      s:update("in w1")
      b:set_namespace(nil)
    end
    local snap = b:snapshot()
    for _, k in ipairs { "a", 5, tkey } do
      local g = snap[keys.key_group(k, maxp)]
      assert.are.same({ [""] = "plain", w1 = "in w1" }, g.v[state.state_key(k)])
    end
    -- taking the snapshot changed nothing live
    b:set_key(5)
    s:clear()
    assert.are.equal("plain", snap[keys.key_group(5, maxp)].v[5][""])
    b:set_namespace("w1")
    assert.are.equal("in w1", s:value())
    -- restored by group ranges, both namespaces come back to their owner
    for i = 0, 1 do
      local first, last = keys.key_group_range(i, 2, maxp)
      local part = state.new(keys.assigner(maxp))
      part:restore({ snap }, first, last)
      for _, k in ipairs { "a", 5, tkey } do
        local kg = keys.key_group(k, maxp)
        part:set_key(k)
        local want = kg >= first and kg <= last
        assert.are.equal(want and "plain" or nil, part:value_state("v"):value())
        part:set_namespace("w1")
        assert.are.equal(want and "in w1" or nil, part:value_state("v"):value())
        part:set_namespace(nil)
      end
    end
  end)

  it("lists the state keys it holds", function()
    local b = state.new(by_mod8)
    for _, k in ipairs { 1, 9, 4 } do
      b:set_key(k)
      b:put("x", true)
    end
    local ks = {}
    b:each_key(function(sk) ks[#ks + 1] = sk end)
    table.sort(ks)
    assert.are.same({ 1, 4, 9 }, ks)
  end)
end)
