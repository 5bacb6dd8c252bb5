-- Nexmark (issue 15): every query of examples/nexmark/ at parallelism 1 and
-- 2 on a small generated events file, its CSV rows compared with the
-- independent plain-Lua reference (spec/helpers/nexmark_ref.lua); the
-- generator's determinism; malformed event files.
local h = require("helpers.flowlua")
local ref = require("helpers.nexmark_ref")
local json = require("flow.json")

local dir = h.source_dir .. "/examples/nexmark/"

-- 20 000 events at 1000 a second: 20 s of event time, so windows, sessions
-- and auctions (which last a random horizon) all have something to do
local events_file = h.tmpname(".json")
local side_input = h.tmpname(".csv") -- q13's
local events

local function lines(path)
  local t = {}
  for l in (assert(h.read(path), "missing " .. path)):gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

describe("nexmark", function()
  setup(function()
    local _, err, code = h.run({ dir .. "generate.lua", "--output", events_file, "--events-count", "20000",
      "--seed", "7", "--rate", "1000", "--side-input", side_input })
    assert.are.equal(0, code, err)
    events = {}
    for i, l in ipairs(lines(events_file)) do events[i] = assert(json.decode(l)) end
    assert.are.equal(20000, #events)
  end)
  teardown(function()
    os.remove(events_file)
    os.remove(side_input)
  end)

  for _, q in ipairs(ref.QUERIES) do
    for _, p in ipairs { 1, 2 } do
      it(q .. " at parallelism " .. p .. " gives the reference's rows", function()
        local out = h.tmpname(".csv")
        local _, err, code = h.run({ dir .. q .. ".lua", "--events", events_file, "--output", out,
          "--parallelism", tostring(p), "--side-input", side_input }, { timeout = 120 })
        assert.are.equal(0, code, err)
        local got = lines(out)
        os.remove(out)
        local want = ref.run(q, events, { side_input = side_input })
        table.sort(got)
        table.sort(want)
        assert.is_true(#want > 0, q .. ": the reference has no rows: the events do not exercise it")
        assert.are.same(want, got)
      end)
    end
  end

  it("generates the same events for a seed at any parallelism, others for another seed", function()
    local function gen(p, seed)
      local out = h.tmpname(".txt")
      local _, err, code = h.run_script([[
        local flow = require("flow")
        local nexmark = require("flow.nexmark")
        local env = flow.env{ parallelism = ]] .. p .. [[ }
        env:from_nexmark{ events = 5000, seed = ]] .. seed .. [[, rate = 1000 }
          :map(function(e) return nexmark.format(e) end)
          :write_as_text(arg[1]):set_parallelism(1)
        env:execute("gen")
      ]], { out })
      assert.are.equal(0, code, err)
      local t = lines(out)
      os.remove(out)
      table.sort(t)
      return t
    end
    local a, b = gen(1, 7), gen(3, 7)
    assert.are.equal(5000, #a)
    assert.are.same(a, b)
    assert.are_not.same(a, gen(1, 8))
  end)

  it("fails on a malformed line with its file and line, or skips and counts it", function()
    local bad = h.tmpname(".json")
    local ls = lines(events_file)
    local f = assert(io.open(bad, "wb"))
    for i = 1, 10 do f:write(ls[i], "\n") end
    f:write('{"event_type":2,"bid":{"auction":1000}}\n') -- fields missing
    f:write("not json\n")
    f:close()
    local _, err, code = h.run({ dir .. "q0.lua", "--events", bad })
    assert.are_not.equal(0, code)
    assert.truthy(err:find(bad .. ":11: malformed event: bid.", 1, true), err)
    local out = h.tmpname(".csv")
    local stdout, err2, code2 = h.run({ dir .. "q0.lua", "--events", bad, "--skip-malformed", "--output", out })
    assert.are.equal(0, code2, err2)
    local q0 = 0
    for i = 1, 10 do if json.decode(ls[i]).event_type == 2 then q0 = q0 + 1 end end
    assert.are.equal(q0, #lines(out))
    assert.truthy(err2:find("Nexmark q0: 2 malformed event line(s) skipped", 1, true), stdout .. err2)
    os.remove(out)
    os.remove(bad)
  end)
end)
