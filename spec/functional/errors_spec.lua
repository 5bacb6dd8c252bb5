-- Every user mistake gets a clear message and a non-zero exit: never a
-- crash, a hang or a thread left behind.
local h = require("helpers.flowlua")

describe("errors", function()
  it("a syntax error names file:line and exits non-zero", function()
    local out, err, code, path = h.run_script("local flow = require('flow')\nlocal x = = 1\n")
    assert.are_not.equal(0, code)
    assert.truthy(err:find(path:match("[^/]+$") .. ":2:", 1, true), err)
    assert.are.equal("", out)
  end)

  it("a runtime error in a user function fails the job with operator, subtask and traceback", function()
    local _, err, code = h.run_script [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      env:from_sequence(1, 100)
        :map(function(x)
          if x == 42 then error("bad record " .. x) end
          return x
        end):name("picky")
        :print()
      env:execute("failing")
    ]]
    assert.are.equal(1, code)
    assert.truthy(err:find("job 'failing' failed", 1, true), err)
    assert.truthy(err:find("bad record 42", 1, true), err)
    assert.truthy(err:find("picky", 1, true), err)      -- the operator
    assert.truthy(err:find("%(%d/2%)"), err)             -- the subtask
    assert.truthy(err:find("stack traceback", 1, true), err)
    assert.truthy(err:find(":5:", 1, true), err)        -- the user's line
    -- the root cause's traceback once: not the client's execute() after it
    local _, tracebacks = err:gsub("stack traceback:", "")
    assert.are.equal(1, tracebacks, err)
    assert.is_nil(err:find("job_client.lua", 1, true), err)
  end)

  it("a failure downstream of a blocked producer does not hang", function()
    local _, err, code = h.run_script([[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      env:from_sequence(1, 5000000):rebalance()
        :map(function(x) if x > 1000 then error("stop") end return x end)
        :add_sink(function() end)
      env:execute()
    ]], {}, { timeout = 30 })
    assert.are.equal(1, code, err)
    assert.truthy(err:find("stop", 1, true), err)
  end)

  it("a missing input file is a clear error before anything runs", function()
    local _, err, code = h.run_script [[
      local flow = require("flow")
      local env = flow.env()
      env:read_text_file("/nonexistent/input.txt"):print()
      env:execute()
    ]]
    assert.are.equal(1, code)
    assert.truthy(err:find("cannot open input file '/nonexistent/input.txt'", 1, true), err)
    assert.truthy(err:find("No such file", 1, true), err)
  end)

  it("a job without sinks is refused", function()
    local _, err, code = h.run_script [[
      local flow = require("flow")
      local env = flow.env()
      env:from_elements(1):map(function(x) return x end)
      env:execute()
    ]]
    assert.are.equal(1, code)
    assert.truthy(err:find("no sinks", 1, true), err)
  end)

  it("sum on a non-keyed stream points at key_by", function()
    local _, err, code = h.run_script [[
      local flow = require("flow")
      local env = flow.env()
      env:from_elements({"a", 1}):sum(2):print()
    ]]
    assert.are.equal(1, code)
    assert.truthy(err:find("key_by", 1, true), err)
  end)

  it("a function that cannot be shipped names its upvalue", function()
    local _, err, code = h.run_script [[
      local flow = require("flow")
      local env = flow.env()
      local co = coroutine.create(function() end)
      env:from_elements(1):map(function(x) return co and x end):print()
      env:execute()
    ]]
    assert.are.equal(1, code)
    assert.truthy(err:find("'co'", 1, true), err)
    assert.truthy(err:find("Map", 1, true), err)
  end)

  it("an explicit forward across different parallelisms is refused", function()
    local _, err, code = h.run_script [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      env:from_elements(1):forward():map(function(x) return x end):print()
      env:execute()
    ]]
    assert.are.equal(1, code)
    assert.truthy(err:find("forward", 1, true), err)
  end)

  it("an unknown command line option is refused", function()
    local _, err, code = h.run({ "--bogus" })
    assert.are.equal(2, code)
    assert.truthy(err:find("unknown option", 1, true), err)
  end)
end)
