-- print / write_as_text format whole buffers in C (src/runtime/text_format.c);
-- the text must be exactly what flow.format (Lua) prints.
local h = require("helpers.flowlua")

describe("C text formatting", function()
  it("matches flow.format for numbers, strings, tuples and other tables", function()
    local out, err, code = h.run_script [=[
      local flow = require("flow")
      local format = require("flow.format")
      local values = { 0, -0.0, 1, -7, 3.0, 0.5, 15.277777777777777, 1791.6666666666674, 1e-3, 9.99e-4,
        1e7, 1e7 + 0.5, 123456789.125, 2^53, 2^53 + 2, 2^62, 2^63, -2^63, 2^64, 1e300, 4.9e-324, 2.2250738585072014e-308,
        0 / 0, 1 / 0, -1 / 0, 0.1, 0.2 + 0.1, 1 / 3, -2.5e-7, 6.02214076e23,
        "plain", "", "comma,inside", true, false,
        { "a", 1, 3 }, { "b", { "c", 2.5 } }, {}, { { {} } }, { true, false, "x" },
        { user = "u", n = 1 }, { 1, 2, name = "mixed" } }
      local seed = 3
      for i = 1, 300 do
        seed = (seed * 1103515245 + 12345) % 2147483648
        values[#values + 1] = (seed / 2147483648 - 0.5) * 10 ^ ((seed % 40) - 20)
      end
      -- the sink is the head of its chain (after rebalance): C formats buffers
      local got = {}
      local env = flow.env{ parallelism = 1 }
      local indexed = {}
      for i, v in ipairs(values) do indexed[i] = { i, v } end
      env:from_collection(indexed):rebalance():add_sink(function() end)
      local path = os.tmpname()
      env:from_collection(indexed):map(function(t) return t[2] end):rebalance():write_as_text(path)
      env:execute()
      local lines = {}
      for l in io.lines(path) do lines[#lines + 1] = l end
      os.remove(path)
      local bad = 0
      for i, v in ipairs(values) do
        if lines[i] ~= format.value(v) then
          bad = bad + 1
          io.stderr:write(("value %d: C %q, Lua %q\n"):format(i, tostring(lines[i]), format.value(v)))
        end
      end
      print(#lines, #values, bad)
    ]=]
    assert.are.equal(0, code, err)
    local n_lines, n_values, bad = out:match("^(%d+)\t(%d+)\t(%d+)")
    assert.are.equal(n_values, n_lines, err)
    assert.are.equal("0", bad, err)
  end)
end)
