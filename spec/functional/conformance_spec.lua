-- Flink's WordCount, compared with Flink's own expected output
-- (shared/conformance/flink), as sorted lines.
local h = require("helpers.flowlua")

local dir = h.conformance
local have = h.read(dir .. "/wordcount_text.txt") ~= nil

local function wordcount(args)
  local a = { h.source_dir .. "/examples/wordcount.lua", "--input", dir .. "/wordcount_text.txt" }
  for _, x in ipairs(args) do a[#a + 1] = x end
  local out, err, code = h.run(a)
  assert.are.equal(0, code, err)
  return h.sorted_lines(out, true)
end

describe("WordCount conformance", function()
  if not have then
    pending("shared/conformance/flink is not beside the checkout")
    return
  end
  for _, p in ipairs { "1", "2", "4" } do
    it("batch output equals Flink's at parallelism " .. p, function()
      assert.are.same(h.file_lines(dir .. "/wordcount_expected_tuples.txt"), wordcount { "--parallelism", p })
    end)
  end
  it("streaming output equals Flink's running counts", function()
    assert.are.same(h.file_lines(dir .. "/wordcount_expected_streaming_tuples.txt"),
      wordcount { "--parallelism", "2", "--mode", "streaming" })
  end)
  for _, p in ipairs { "1", "2", "4" } do
    it("the C tokenizer (flow.ops.words) gives Flink's output at parallelism " .. p, function()
      local out, err, code = h.run({ h.source_dir .. "/examples/wordcount_c.lua", "--input",
        dir .. "/wordcount_text.txt", "--parallelism", p })
      assert.are.equal(0, code, err)
      assert.are.same(h.file_lines(dir .. "/wordcount_expected_tuples.txt"), h.sorted_lines(out, true))
    end)
  end
  it("the C tokenizer in streaming mode gives Flink's running counts", function()
    local out, err, code = h.run({ h.source_dir .. "/examples/wordcount_c.lua", "--input",
      dir .. "/wordcount_text.txt", "--parallelism", "2", "--mode", "streaming" })
    assert.are.equal(0, code, err)
    assert.are.same(h.file_lines(dir .. "/wordcount_expected_streaming_tuples.txt"), h.sorted_lines(out, true))
  end)
  it("the embedded default text is the same text", function()
    local out, err, code = h.run({ h.source_dir .. "/examples/wordcount.lua" }, { cwd = "/" })
    assert.are.equal(0, code, err)
    assert.are.same(h.file_lines(dir .. "/wordcount_expected_tuples.txt"), h.sorted_lines(out, true))
  end)
  it("writes the output file with --output", function()
    local path = h.tmpname(".txt")
    wordcount { "--parallelism", "1", "--output", path }
    assert.are.same(h.file_lines(dir .. "/wordcount_expected_tuples.txt"), h.file_lines(path))
    os.remove(path)
  end)
end)

-- Flink's event-time examples, on the conformance inputs.
describe("Flink example conformance", function()
  if not have then
    pending("shared/conformance/flink is not beside the checkout")
    return
  end
  local function example(name, args)
    local a = { h.source_dir .. "/examples/" .. name }
    for _, x in ipairs(args or {}) do a[#a + 1] = x end
    local out, err, code = h.run(a)
    assert.are.equal(0, code, err)
    return h.sorted_lines(out, true), out
  end

  it("SessionWindowing", function()
    assert.are.same(h.file_lines(dir .. "/session_windowing_expected.txt"),
      example("session_windowing.lua", { "--input", dir .. "/session_windowing_input.txt" }))
  end)
  for _, p in ipairs { "1", "2" } do
    it("CountProductSales at parallelism " .. p, function()
      assert.are.same(h.file_lines(dir .. "/count_product_sales_expected.csv"),
        example("count_product_sales.lua", { "--input", dir .. "/count_product_sales_orders.csv", "--parallelism", p }))
    end)
    it("CountNewsClicks at parallelism " .. p, function()
      assert.are.same(h.file_lines(dir .. "/count_news_clicks_expected.csv"),
        example("count_news_clicks.lua", { "--input", dir .. "/count_news_clicks_events.csv", "--parallelism", p }))
    end)
  end
  it("IncrementalLearning", function()
    assert.are.same(h.file_lines(dir .. "/incremental_learning_expected.txt"), example("incremental_learning.lua"))
  end)
  it("TopSpeedWindowing: all 73 lines, the first 71 in Flink's order", function()
    local sorted, raw = example("top_speed_windowing.lua", { "--input", dir .. "/topspeed_car_data.txt" })
    assert.are.same(h.file_lines(dir .. "/topspeed_expected.txt"), sorted)
    local expected = {}
    for l in h.read(dir .. "/topspeed_expected.txt"):gmatch("[^\n]+") do expected[#expected + 1] = l end
    local got = {}
    for l in raw:gmatch("[^\n]+") do got[#got + 1] = l end
    for i = 1, 71 do assert.are.equal(expected[i], got[i], "line " .. i) end
  end)
end)

describe("other Flink examples", function()
  it("WindowJoin: every grade meets every salary of its name in its window", function()
    local out, err, code = h.run({ h.source_dir .. "/examples/window_join.lua" })
    assert.are.equal(0, code, err)
    local lines = h.sorted_lines(out, true)
    -- 2 windows x 5 names x 4 grades x 4 salaries
    assert.are.equal(160, #lines)
    local n = 0
    for _, l in ipairs(lines) do if l == "(tom,1,1000)" then n = n + 1 end end
    -- window [0, 2000): tom's grades (i = 0, 5, 10, 15) are all 1; his only
    -- salary 1000 is at i = 0 -> 4 pairs
    assert.are.equal(4, n)
  end)
end)
