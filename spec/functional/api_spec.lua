-- The Lua API subset of the walking skeleton, run end to end through the
-- binary (client state -> StreamGraph -> JobGraph -> MiniCluster -> task threads).
local h = require("helpers.flowlua")

local function run_ok(src, args)
  local out, err, code = h.run_script(src, args)
  assert.are.equal(0, code, "exit code; stderr:\n" .. err)
  return out, err
end

describe("sources", function()
  it("from_elements emits every element once", function()
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      env:from_elements(1, 2, 3, "x", true):map(function(v) return v end):print()
      env:execute()
    ]]
    assert.are.same({ "1", "2", "3", "true", "x" }, h.sorted_lines(out, true))
  end)

  it("from_collection keeps tuples and prints them as Flink does", function()
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 1 }
      env:from_collection({ {"a", 1, 3}, {"b", {"c", 2}}, {} }):print()
      env:execute()
    ]]
    assert.are.same({ "()", "(a,1,3)", "(b,(c,2))" }, h.sorted_lines(out))
  end)

  it("from_sequence is inclusive and split across subtasks without loss", function()
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 3 }
      local xs = env:from_sequence(1, 1000):execute_and_collect()
      local sum, n, seen = 0, 0, {}
      for _, x in ipairs(xs) do sum = sum + x; n = n + 1; seen[x] = true end
      print(n, sum, seen[1], seen[1000])
    ]]
    assert.are.equal("1000\t500500\ttrue\ttrue\n", out)
  end)

  it("read_text_file splits a file by subtask and reads each line once", function()
    local path = h.tmpname(".txt")
    local lines = {}
    for i = 1, 5000 do lines[i] = ("line %d %s"):format(i, ("x"):rep(i % 50)) end
    h.write(path, table.concat(lines, "\n") .. "\r\n") -- a CRLF last line
    for _, p in ipairs { 1, 2, 4, 7 } do
      local out = run_ok(([[
        local flow = require("flow")
        local env = flow.env{ parallelism = %d }
        local got = env:read_text_file(%q):execute_and_collect()
        table.sort(got)
        print(#got, got[1], got[#got])
      ]]):format(p, path))
      assert.are.equal("5000\tline 1 x\tline 999 " .. ("x"):rep(999 % 50) .. "\n", out)
    end
    os.remove(path)
  end)

  it("read_text_file hands many splits out on request and still reads each line once", function()
    -- 2.4 MB: several 256 KiB splits, lines of many lengths across their edges
    local path = h.tmpname(".txt")
    local lines = {}
    for i = 1, 60000 do lines[i] = ("%d %s"):format(i, ("y"):rep(i % 77)) end
    h.write(path, table.concat(lines, "\n") .. "\n")
    for _, p in ipairs { 2, 3, 8 } do
      local out = run_ok(([[
        local flow = require("flow")
        local env = flow.env{ parallelism = %d }
        local seen, n, sum, dup = {}, 0, 0, 0
        for _, l in ipairs(env:read_text_file(%q):execute_and_collect()) do
          local i = tonumber(l:match("^(%%d+) "))
          if seen[i] then dup = dup + 1 end
          seen[i] = true
          n, sum = n + 1, sum + i
        end
        print(n, sum, dup)
      ]]):format(p, path))
      assert.are.equal("60000\t1800030000\t0\n", out)
    end
    os.remove(path)
  end)
end)

describe("transformations", function()
  it("map, filter and flat_map chain in order", function()
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      local r = env:from_sequence(1, 10)
        :map(function(x) return x * 10 end)
        :filter(function(x) return x % 20 == 0 end)
        :flat_map(function(x, out) out:collect(x); out:collect(-x) end)
        :execute_and_collect()
      table.sort(r)
      print(table.concat(r, ","))
    ]]
    assert.are.equal("-100,-80,-60,-40,-20,20,40,60,80,100\n", out)
  end)

  it("closures carry their upvalues to the task threads", function()
    local out = run_ok [[
      local flow = require("flow")
      local factor, names = 3, { "zero", "one", "two" }
      local function scale(x) return x * factor end
      local env = flow.env{ parallelism = 2 }
      local r = env:from_elements(0, 1, 2)
        :map(function(x) return names[x + 1] .. "=" .. scale(x) end)
        :execute_and_collect()
      table.sort(r)
      print(table.concat(r, " "))
    ]]
    assert.are.equal("one=3 two=6 zero=0\n", out)
  end)

  it("key_by + reduce in streaming mode emits a running result per record", function()
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      env:set_runtime_mode("streaming")
      env:from_elements({"a", 1}, {"b", 5}, {"a", 2}, {"a", 3})
        :key_by(function(t) return t[1] end)
        :reduce(function(acc, v) return { acc[1], acc[2] + v[2] } end)
        :print()
      env:execute()
    ]]
    assert.are.same({ "(a,1)", "(a,3)", "(a,6)", "(b,5)" }, h.sorted_lines(out, true))
  end)

  it("batch mode emits one final record per key (automatic mode, bounded sources)", function()
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      env:from_elements({"a", 1, "first"}, {"b", 5, "x"}, {"a", 2, "second"}, {"a", 3, "third"})
        :key_by(1):sum(2):print()
      env:execute()
    ]]
    -- sum keeps the other fields of the first record, as Flink
    assert.are.same({ "(a,6,first)", "(b,5,x)" }, h.sorted_lines(out, true))
  end)

  it("sum over a key selected by field name, on a scalar-free record", function()
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      local r = env:from_collection({ {user="u1", n=2}, {user="u2", n=1}, {user="u1", n=5} })
        :key_by("user"):sum("n"):execute_and_collect()
      table.sort(r, function(a, b) return a.user < b.user end)
      print(r[1].user, r[1].n, r[2].user, r[2].n)
    ]]
    assert.are.equal("u1\t7\tu2\t1\n", out)
  end)

  it("per-operator set_parallelism and name show in the plan and run", function()
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      local r = env:from_sequence(1, 100):map(function(x) return x end):name("ident")
        :set_parallelism(3):execute_and_collect()
      print(#r)
    ]]
    assert.are.equal("100\n", out)
  end)
end)

describe("sinks", function()
  it("print prefixes the subtask when parallelism > 1, as Flink", function()
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      env:from_sequence(1, 4):print("p")
      env:execute()
    ]]
    for line in out:gmatch("[^\n]+") do assert.truthy(line:match("^p:[12]> %d$"), line) end
  end)

  it("write_as_text writes a file at parallelism 1 and a directory of files 1..p otherwise", function()
    local file, dir = h.tmpname(".txt"), h.tmpname(".d")
    run_ok(([[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      local s = env:from_sequence(1, 6):map(function(x) return {x, x * x} end)
      s:write_as_text(%q):set_parallelism(1)
      s:write_as_text(%q)
      env:execute()
    ]]):format(file, dir))
    local expect = { "(1,1)", "(2,4)", "(3,9)", "(4,16)", "(5,25)", "(6,36)" }
    table.sort(expect)
    assert.are.same(expect, h.file_lines(file))
    local all = (h.read(dir .. "/1") or "") .. (h.read(dir .. "/2") or "")
    assert.are.same(expect, h.sorted_lines(all))
    os.remove(file)
    os.remove(dir .. "/1"); os.remove(dir .. "/2"); os.remove(dir)
  end)

  it("execute returns a JobExecutionResult", function()
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 1 }
      env:from_elements(1):map(function(x) return x end):add_sink(function() end)
      local r = env:execute("my job")
      print(r.job_name, #r.job_id, type(r.net_runtime_ms))
    ]]
    assert.are.equal("my job\t32\tnumber\n", out)
  end)
end)

describe("flow.params", function()
  it("parses --key value and --flag", function()
    local out = run_ok([[
      local flow = require("flow")
      local p = flow.params()
      print(p:get("input"), p:get_number("parallelism", 1), p:has("verbose"), p:get("missing", "dflt"))
    ]], { "--input", "in.txt", "--parallelism", "4", "--verbose" })
    assert.are.equal("in.txt\t4\ttrue\tdflt\n", out)
  end)
end)
