-- The command line: help, version, -e, -i, piped scripts, options that
-- reach FLOWLUA_CONFIG, usage errors and exit codes (docs/cli.md).
local h = require("helpers.flowlua")

local function stdin_file(text) return h.write(h.tmpname(".in"), text) end

describe("cli", function()
  it("--help lists the commands, options and exit codes", function()
    local out, _, code = h.run({ "--help" })
    assert.are.equal(0, code)
    for _, s in ipairs({ "explain", "--parallelism", "--set", "--log-level", "-q", "-e CODE", "-i", "130" }) do
      assert.truthy(out:find(s, 1, true), s)
    end
  end)

  it("--version prints the version", function()
    local out, _, code = h.run({ "--version" })
    assert.are.equal(0, code)
    assert.truthy(out:match("^flowlua %d+%.%d+%.%d+"), out)
  end)

  it("help COMMAND explains run, explain and repl; an unknown one is a usage error", function()
    for _, c in ipairs({ "run", "explain", "repl" }) do
      local out, _, code = h.run({ "help", c })
      assert.are.equal(0, code)
      assert.truthy(out:find("usage: flowlua", 1, true), out)
      assert.truthy(out:find(c == "repl" and "show(ds" or c, 1, true), out)
    end
    local _, err, code = h.run({ "help", "frobnicate" })
    assert.are.equal(2, code)
    assert.truthy(err:find("frobnicate", 1, true), err)
  end)

  it("-e runs code with flow available through require", function()
    local out, _, code = h.run({ "-e", "local flow = require('flow') print(#flow.env{parallelism=2}:from_sequence(1,10):execute_and_collect())" })
    assert.are.equal(0, code)
    assert.are.equal("10\n", out)
  end)

  it("piped stdin is run as a script", function()
    local f = stdin_file("local flow = require('flow')\nprint('from stdin', #arg)\n")
    local out, err, code = h.run({}, { stdin = f })
    os.remove(f)
    assert.are.equal(0, code, err)
    assert.are.equal("from stdin\t0\n", out)
  end)

  it("-i runs the script, then reads statements (results printed)", function()
    local script = h.write(h.tmpname(".lua"), "answer = 6 * 7\n")
    local f = stdin_file("answer + 1\nt = {\n1, 2,\n3}\nprint(#t)\nenv:get_parallelism() > 0\n")
    local out, err, code = h.run({ "-i", script }, { stdin = f })
    os.remove(f)
    os.remove(script)
    assert.are.equal(0, code, err)
    assert.are.equal("43\n3\ntrue\n", out)
  end)

  it("-i reads piped lines of any length (longer than any fixed buffer)", function()
    local script = h.write(h.tmpname(".lua"), "x = 1\n")
    local long = string.rep("a", 20000)
    local f = stdin_file("#'" .. long .. "'\n")
    local out, err, code = h.run({ "-i", script }, { stdin = f })
    os.remove(f)
    os.remove(script)
    assert.are.equal(0, code, err)
    assert.are.equal("20000\n", out)
  end)

  it("explain prints the plan and stops, even when the script pcall-wraps execute", function()
    local script = h.write(h.tmpname(".lua"), [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      env:from_sequence(1, 3):map(function(x) return x end):print()
      local ok, err = pcall(env.execute, env, "caught")
      print("AFTER EXECUTE", ok, err)
    ]])
    local out, err, code = h.run({ "explain", script })
    os.remove(script)
    assert.are.equal(0, code, err)
    assert.truthy(out:find("Map", 1, true), out)
    assert.falsy(out:find("AFTER EXECUTE", 1, true), out)
  end)

  it("-p and --set reach FLOWLUA_CONFIG, durations in milliseconds", function()
    local out, err, code = h.run({ "-p", "3", "--set", "execution.buffer-timeout=2s",
      "--set=pipeline.auto-watermark-interval=250ms", "--set", "restart-strategy.type=fixed-delay",
      "--set", "taskmanager.numberOfTaskSlots=4", "-e",
      "for _, k in ipairs({'parallelism.default','execution.buffer-timeout','pipeline.auto-watermark-interval'," ..
      "'restart-strategy.type','taskmanager.numberOfTaskSlots'}) do print(k, FLOWLUA_CONFIG[k]) end" })
    assert.are.equal(0, code, err)
    assert.are.equal(table.concat({
      "parallelism.default\t3", "execution.buffer-timeout\t2000", "pipeline.auto-watermark-interval\t250",
      "restart-strategy.type\tfixed-delay", "taskmanager.numberOfTaskSlots\t4", "" }, "\n"), out)
  end)

  it("a later --set of a key wins over -p; the config reaches a script", function()
    local out, err, code = h.run_script("print(FLOWLUA_CONFIG['parallelism.default'], ...)",
      { "a", "b" }, nil)
    assert.are.equal(0, code, err)
    assert.are.equal("nil\ta\tb\n", out)
    out, err, code = h.run({ "-p", "2", "--set", "parallelism.default=5", "-e", "print(FLOWLUA_CONFIG['parallelism.default'])" })
    assert.are.equal(0, code, err)
    assert.are.equal("5\n", out)
  end)

  it("usage errors exit 2: unknown option, bad values, missing script", function()
    for _, args in ipairs({ { "--frobnicate" }, { "-p", "zero" }, { "-p", "0" }, { "--set", "novalue" },
        { "--set", "execution.buffer-timeout=soon" }, { "--log-level", "loud" }, { "explain" },
        { "explain", "x.lua", "--format", "png" }, { "-e" } }) do
      local _, err, code = h.run(args)
      assert.are.equal(2, code, table.concat(args, " ") .. ": " .. err)
      assert.truthy(err:find("flowlua:", 1, true), err)
    end
  end)

  it("exit codes: 0 ok, 1 script error, 1 failed job", function()
    local _, _, code = h.run({ "-e", "x = 1" })
    assert.are.equal(0, code)
    local _, err
    _, err, code = h.run({ "-e", "error('boom')" })
    assert.are.equal(1, code)
    assert.truthy(err:find("boom", 1, true), err)
    _, err, code = h.run_script([[
      local flow = require("flow")
      local env = flow.env{ parallelism = 1 }
      env:from_sequence(1, 3):map(function(x) error("bad " .. x) end):print()
      env:execute("doomed")
    ]])
    assert.are.equal(1, code)
    assert.truthy(err:find("job 'doomed' failed", 1, true), err)
    _, err, code = h.run({ "/nonexistent/script.lua" })
    assert.are.equal(1, code)
  end)

  it("--log-level and -q filter flowlua_log lines", function()
    local code_s = "flowlua_log('info', 'an info') flowlua_log('warn', 'a warning') flowlua_log('error', 'an error')"
    local _, err = h.run({ "-e", code_s })
    assert.are.equal("flowlua: WARN a warning\nflowlua: ERROR an error\n", err)
    _, err = h.run({ "--log-level", "info", "-e", code_s })
    assert.are.equal("flowlua: INFO an info\nflowlua: WARN a warning\nflowlua: ERROR an error\n", err)
    _, err = h.run({ "-q", "-e", code_s })
    assert.are.equal("flowlua: ERROR an error\n", err)
  end)
end)
