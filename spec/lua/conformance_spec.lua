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
