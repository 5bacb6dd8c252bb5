-- State written before a change still restores: spec/fixtures/compat holds
-- a checkpoint taken by flowlua before the restructure of issue 13 (a
-- streaming WordCount and a keyed event-time window over the same words,
-- killed mid-input). The job restored from it must continue exactly where
-- the checkpoint was: source offsets, keyed sums, window contents, timers.
local h = require("helpers.flowlua")

local fixture = h.source_dir .. "/spec/fixtures/compat"

local function lines_of(dir)
  local out = {}
  for l in h.sh("cat " .. h.quote(dir) .. "/part-* 2>/dev/null"):gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

describe("a checkpoint written by flowlua before the restructure", function()
  local dir, input
  setup(function()
    dir = h.tmpname(".d")
    os.execute("mkdir -p " .. h.quote(dir))
    input = dir .. "/input.txt"
    h.sh("luajit " .. h.quote(fixture .. "/make_input.lua") .. " " .. h.quote(input))
  end)
  teardown(function() os.execute("rm -rf " .. h.quote(dir)) end)

  it("restores and continues exactly once", function()
    local _, err, code = h.run({ fixture .. "/job.lua", "--input", input, "--ck", dir .. "/ck",
      "--counts", dir .. "/counts", "--windows", dir .. "/windows", "--restore", fixture .. "/checkpoint-v1" },
      { timeout = 120 })
    assert.are.equal(0, code, err)
    -- what the whole input holds
    local total, window = {}, {}
    for line in io.lines(input) do
      local n, rest = line:match("^(%d+) (.*)$")
      local start = (tonumber(n) * 10) - (tonumber(n) * 10) % 1000
      for w in rest:gmatch("%S+") do
        total[w] = (total[w] or 0) + 1
        local k = w .. " " .. start
        window[k] = (window[k] or 0) + 1
      end
    end
    -- running counts: per word exactly c+1 .. total, where c is the restored count
    local seen = {}
    for _, l in ipairs(lines_of(dir .. "/counts")) do
      local w, n = l:match("^(%S+) (%d+)$")
      assert.truthy(w, l)
      seen[w] = seen[w] or {}
      assert.is_nil(seen[w][tonumber(n)], "counted twice: " .. l)
      seen[w][tonumber(n)] = true
    end
    local restored = 0
    for w, t in pairs(total) do
      local s = seen[w] or {}
      local c = t
      for n in pairs(s) do if n - 1 < c then c = n - 1 end end
      for n = c + 1, t do assert.truthy(s[n], ("%s: %d missing (restored count %d, total %d)"):format(w, n, c, t)) end
      for n in pairs(s) do assert.truthy(n <= t, ("%s: %d beyond the total %d"):format(w, n, t)) end
      restored = restored + c
    end
    assert.is_true(restored > 0, "the keyed state was restored")
    -- windows: every window fired after the restore has its exact count,
    -- records from before the checkpoint included
    local fired = lines_of(dir .. "/windows")
    assert.is_true(#fired > 0)
    for _, l in ipairs(fired) do
      local w, start, n = l:match("^(%S+) (%d+) (%d+)$")
      assert.truthy(w, l)
      assert.are.equal(window[w .. " " .. start], tonumber(n), l)
    end
  end)
end)
