-- The live progress line: on a terminal only, never through a pipe or
-- with --quiet, and cleared when the job ends.
local h = require("helpers.flowlua")

local JOB = [[
local flow = require("flow")
local env = flow.env{ parallelism = 2 }
env:add_source(function(ctx)
  for i = 1, 40 do ctx:collect(i) ctx:sleep(25) end
end):map(function(x) return x end):add_sink(function() end)
env:execute("slow job")
print("done")
]]

local function has_script()
  local r = os.execute("command -v script >/dev/null 2>&1")
  return r == 0 or r == true -- Lua 5.1 and 5.2-style results (busted may load either)
end

describe("progress line", function()
  local path
  setup(function() path = h.write(h.tmpname(".lua"), JOB) end)
  teardown(function() os.remove(path) end)

  it("is shown on a terminal and cleared at the end", function()
    if not has_script() then
      pending("util-linux script(1) is not installed")
      return
    end
    -- script(1) runs flowlua in a pseudo-terminal
    local p = io.popen("script -qfc " .. h.quote(h.quote(h.bin) .. " " .. h.quote(path)) .. " /dev/null")
    local out = p:read("*a")
    p:close()
    assert.truthy(out:find("rec/s", 1, true), out)
    assert.truthy(out:find("Source: Custom Source", 1, true), out)
    assert.truthy(out:find("\r\27%[K"), "the line is cleared")
    assert.truthy(out:find("done", 1, true), out)
  end)

  it("is absent through a pipe", function()
    local out, err, code = h.run({ path })
    assert.are.equal(0, code, err)
    assert.are.equal("done\n", out)
    assert.is_nil(err:find("rec/s", 1, true))
  end)

  it("is absent with --quiet on a terminal", function()
    if not has_script() then
      pending("util-linux script(1) is not installed")
      return
    end
    local p = io.popen("script -qfc " .. h.quote(h.quote(h.bin) .. " --quiet " .. h.quote(path)) .. " /dev/null")
    local out = p:read("*a")
    p:close()
    assert.is_nil(out:find("rec/s", 1, true), out)
    assert.truthy(out:find("done", 1, true), out)
  end)
end)
