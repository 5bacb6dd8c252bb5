-- The runtime as Flink's: task and job lifecycle, restart strategies,
-- cancellation, clients and listeners, accumulators, unbounded sources,
-- buffer timeout, processing-time timers, bounded memory.
local h = require("helpers.flowlua")

local function run_ok(src, args, opts)
  local out, err, code = h.run_script(src, args, opts)
  assert.are.equal(0, code, "exit code; stderr:\n" .. err)
  return out, err
end

-- Counts this process's threads and open fds from inside a script.
local PROC = [[
local ffi = require("ffi")
pcall(ffi.cdef, "int getpid(void);")
local function count(dir)
  local p = io.popen("ls " .. dir .. " | wc -l")
  local n = tonumber(p:read("*a"))
  p:close()
  return n
end
local function threads() return count("/proc/" .. ffi.C.getpid() .. "/task") end
-- popen's own pipe can show twice (both ends) while ls runs: the least of
-- three counts is the steady number
local function fds()
  local m = math.huge
  for _ = 1, 3 do m = math.min(m, count("/proc/" .. ffi.C.getpid() .. "/fd")) end
  return m
end
]]

describe("restart strategies", function()
  it("fixed_delay{attempts=2}: three attempts, then the root cause; no thread or fd leaks", function()
    local out = run_ok(PROC .. [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      env:set_restart_strategy("fixed_delay", { attempts = 2, delay_ms = 10 })
      -- a first job: libuv opens a few process-wide fds once
      env:from_elements(1):add_sink(function() end)
      env:execute("warm-up")
      local t0, f0 = threads(), fds()
      env:from_sequence(1, 1000):map(function(x)
        if x == 500 then error("bad record " .. x) end
        return x
      end):name("fragile"):add_sink(function() end)
      local ok, err = pcall(env.execute, env, "retrying")
      print(ok, threads() - t0, fds() - f0)
      print(err)
    ]])
    local first, rest = out:match("^([^\n]*)\n(.*)$")
    -- no growth; the previous job's last handles may still be closing on the
    -- cluster's loop when f0 is taken, so a count can also drop
    local ok, dt, df = first:match("^(%a+)\t(%-?%d+)\t(%-?%d+)$")
    assert.are.equal("false", ok, first)
    assert.is_true(tonumber(dt) <= 0, "threads grew: " .. first)
    assert.is_true(tonumber(df) <= 0, "fds grew: " .. first)
    assert.truthy(rest:find("after 2 restarts", 1, true), rest)
    assert.truthy(rest:find("(attempt 2)", 1, true), rest)     -- the third attempt failed
    assert.truthy(rest:find("bad record 500", 1, true), rest)  -- root cause
    assert.truthy(rest:find("fragile", 1, true), rest)         -- operator
    assert.truthy(rest:find("stack traceback", 1, true), rest)
  end)

  it("a job that fails once and then succeeds finishes, with complete output", function()
    local marker = h.tmpname(".marker")
    local out = run_ok(([[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      env:set_restart_strategy("fixed_delay", { attempts = 3, delay_ms = 10 })
      local marker = %q
      local r = env:from_sequence(1, 100):map(function(x)
        if x == 50 and not io.open(marker) then
          io.open(marker, "w"):close()
          error("transient")
        end
        return x
      end):execute_and_collect()
      local sum = 0
      for _, x in ipairs(r) do sum = sum + x end
      print(#r, sum)
    ]]):format(marker))
    os.remove(marker)
    assert.are.equal("100\t5050\n", out)
  end)

  it("restarts are reported in the result", function()
    local marker = h.tmpname(".marker")
    local out = run_ok(([[
      local flow = require("flow")
      local env = flow.env{ parallelism = 1 }
      env:set_restart_strategy("exponential_delay", { initial_ms = 10, max_ms = 50, jitter = 0 })
      local marker = %q
      env:from_sequence(1, 10):map(function(x)
        if x == 5 and not io.open(marker) then io.open(marker, "w"):close() error("once") end
        return x
      end):add_sink(function() end)
      local r = env:execute()
      print(r.restarts)
    ]]):format(marker))
    os.remove(marker)
    assert.are.equal("1\n", out)
  end)

  it("none fails at the first failure", function()
    local _, err, code = h.run_script [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 1 }
      env:set_restart_strategy("none")
      env:from_sequence(1, 10):map(function(x) error("no second chance") end):add_sink(function() end)
      env:execute()
    ]]
    assert.are.equal(1, code)
    assert.truthy(err:find("no second chance", 1, true), err)
    assert.truthy(err:find("(attempt 0)", 1, true), err)
  end)

  it("failure_rate refuses once max_failures fall within the interval", function()
    local _, err, code = h.run_script [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 1 }
      env:set_restart_strategy("failure_rate", { max_failures = 3, interval_ms = 60000, delay_ms = 10 })
      env:from_sequence(1, 10):map(function(x) error("always") end):add_sink(function() end)
      env:execute()
    ]]
    assert.are.equal(1, code)
    assert.truthy(err:find("failure_rate restart strategy after 2 restarts", 1, true), err)
  end)

  it("exponential_delay waits longer each time (measured bounds)", function()
    local out = run_ok [[
      local flow = require("flow")
      local ffi = require("ffi")
      ffi.cdef "int64_t flow_mono_ms(void);"
      local env = flow.env{ parallelism = 1 }
      env:set_restart_strategy("exponential_delay",
        { initial_ms = 100, max_ms = 1000, multiplier = 2, jitter = 0, attempts = 3 })
      env:from_sequence(1, 10):map(function(x) error("always") end):add_sink(function() end)
      local t0 = tonumber(ffi.C.flow_mono_ms())
      local ok, err = pcall(env.execute, env)
      print(tonumber(ffi.C.flow_mono_ms()) - t0, err:match("after (%d+) restarts"))
    ]]
    local ms, restarts = out:match("^(%d+)\t(%d+)")
    assert.are.equal("3", restarts)
    -- backoffs 100 + 200 + 400 ms
    assert.is_true(tonumber(ms) >= 700, out)
    assert.is_true(tonumber(ms) < 5000, out)
  end)

  it("an invalid strategy is refused", function()
    local _, err, code = h.run_script [[
      local flow = require("flow")
      local env = flow.env()
      env:set_restart_strategy("sometimes")
    ]]
    assert.are.equal(1, code)
    assert.truthy(err:find("unknown restart strategy 'sometimes'", 1, true), err)
  end)
end)

describe("job clients, listeners and accumulators", function()
  it("execute_async: status, cancel, wait", function()
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      env:add_source(function(ctx) while ctx:is_running() do ctx:collect(1) end end, { bounded = false })
        :add_sink(function() end)
      local client = env:execute_async("endless")
      print(#client.job_id, client:wait(200))
      print(client:status())
      client:cancel()
      local ok, err = pcall(client.wait, client)
      print(ok, client:status(), err)
    ]]
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal("32\tnil\ttimeout", lines[1])
    assert.are.equal("RUNNING", lines[2])
    assert.truthy(lines[3]:find("^false\tCANCELED\tjob 'endless' was canceled"), lines[3])
  end)

  it("job listeners hear of submission and of the result or the error", function()
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 1 }
      env:register_job_listener{
        on_job_submitted = function(_, client, err) print("submitted", #client.job_id, err) end,
        on_job_executed = function(_, result, err)
          print("executed", result and result.job_name, err and err:match("'(.-)' failed"))
        end,
      }
      env:from_elements(1):add_sink(function() end)
      env:execute("good")
      env:from_elements(1):map(function() error("x") end):add_sink(function() end)
      pcall(env.execute, env, "bad")
    ]]
    assert.are.equal("submitted\t32\tnil\nexecuted\tgood\tnil\nsubmitted\t32\tnil\nexecuted\tnil\tbad\n", out)
  end)

  it("accumulators are summed over subtasks", function()
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 3 }
      env:from_sequence(1, 100)
        :process{ process_element = function(self, v, ctx, out)
          ctx:counter("records"):add(1)
          ctx:counter("sum"):add(v)
        end }
        :add_sink(function() end)
      local r = env:execute()
      print(r.accumulators.records, r.accumulators.sum)
    ]]
    assert.are.equal("100\t5050\n", out)
  end)

  it("execute_and_collect with a limit cancels an unbounded job", function()
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 1 }
      local r = env:add_source(function(ctx) local i = 0 while ctx:is_running() do i = i + 1 ctx:collect(i) end end,
        { bounded = false }):execute_and_collect({ limit = 7 })
      print(#r)
    ]]
    assert.are.equal("7\n", out)
  end)

  it("execute_and_collect without a limit on an unbounded stream is refused", function()
    local _, err, code = h.run_script [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 1 }
      env:stdin():execute_and_collect()
    ]]
    assert.are.equal(1, code)
    assert.truthy(err:find("needs { limit = n }", 1, true), err)
  end)
end)

describe("cancellation from the command line", function()
  it("Ctrl-C cancels the job, joins every thread and exits 130", function()
    local path = h.write(h.tmpname(".lua"), [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      env:add_source(function(ctx) while ctx:is_running() do ctx:collect(1) end end, { bounded = false })
        :rebalance():map(function(x) return x end):add_sink(function() end)
      print("started")
      io.stdout:flush()
      env:execute("endless")
    ]])
    local p = io.popen("(" .. h.quote(h.bin) .. " " .. h.quote(path) ..
      " 2>&1 & pid=$!; sleep 0.5; kill -INT $pid; wait $pid; echo \"exit=$?\")")
    local out = p:read("*a")
    p:close()
    os.remove(path)
    assert.truthy(out:find("exit=130", 1, true), out)
    assert.truthy(out:find("canceled", 1, true), out)
    assert.is_nil(out:find("stack traceback", 1, true), out) -- a cancel is no error: one line
  end)

  it("exits 130 even when the script catches the canceled job's error", function()
    local path = h.write(h.tmpname(".lua"), [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 1 }
      env:add_source(function(ctx) while ctx:is_running() do ctx:collect(1) ctx:sleep(1) end end,
        { bounded = false }):add_sink(function() end)
      local ok = pcall(env.execute, env, "endless")
      print("caught", ok)
    ]])
    local p = io.popen("(" .. h.quote(h.bin) .. " " .. h.quote(path) ..
      " 2>&1 & pid=$!; sleep 0.5; kill -INT $pid; wait $pid; echo \"exit=$?\")")
    local out = p:read("*a")
    p:close()
    os.remove(path)
    assert.truthy(out:find("caught\tfalse", 1, true), out) -- the script went on
    assert.truthy(out:find("exit=130", 1, true), out)
  end)
end)

describe("unbounded sources", function()
  local function line_server(lines, interval)
    local portfile, logfile = h.tmpname(".port"), h.tmpname(".log")
    local cmd = "luajit " .. h.quote(h.source_dir .. "/spec/helpers/line_server.lua") .. " " ..
      h.quote(portfile) .. " " .. h.quote(logfile) .. " " .. interval
    for _, l in ipairs(lines) do cmd = cmd .. " " .. h.quote(l) end
    os.execute(cmd .. " >/dev/null 2>&1 &")
    local port
    for _ = 1, 200 do
      port = h.read(portfile)
      if port and port ~= "" then break end
      os.execute("sleep 0.02")
    end
    os.remove(portfile)
    return tonumber(port), logfile
  end

  it("socket_text_stream -> flat_map -> key_by -> sum -> print shows each count within the buffer timeout",
    function()
      local ok, socket = pcall(require, "socket")
      if not ok then
        pending("LuaSocket (lua-socket) is not installed")
        return
      end
      local port, logfile = line_server({ "to be", "or not", "to be" }, 400)
      local path = h.write(h.tmpname(".lua"), ([[
        local flow = require("flow")
        local env = flow.env{ parallelism = 2 }
        env:socket_text_stream("127.0.0.1", %d)
          :flat_map(function(l, out) for w in l:gmatch("%%a+") do out:collect({ w, 1 }) end end)
          :key_by(1):sum(2):print()
        env:execute("socket wordcount")
      ]]):format(port))
      local p = io.popen("timeout 30 " .. h.quote(h.bin) .. " " .. h.quote(path) .. " 2>&1")
      local got = {}
      for line in p:lines() do
        got[#got + 1] = { line = line:gsub("^%d+> ", ""), at = math.floor(socket.gettime() * 1000) }
      end
      p:close()
      os.remove(path)
      local sent = {}
      for i, t in (h.read(logfile) or ""):gmatch("(%d+) (%d+)") do sent[tonumber(i)] = tonumber(t) end
      os.remove(logfile)
      local lines = {}
      for _, g in ipairs(got) do lines[#lines + 1] = g.line end
      table.sort(lines)
      assert.are.same({ "(be,1)", "(be,2)", "(not,1)", "(or,1)", "(to,1)", "(to,2)" }, lines)
      -- the counts of line i arrive within the buffer timeout (100 ms) plus slack
      local function arrival(text)
        for _, g in ipairs(got) do if g.line == text then return g.at end end
      end
      assert.is_true(arrival("(to,1)") - sent[1] < 350, "first line late")
      assert.is_true(arrival("(not,1)") - sent[2] < 350, "second line late")
      assert.is_true(arrival("(to,2)") - sent[3] < 350, "third line late")
    end)

  it("a refused connection is a clear error", function()
    local _, err, code = h.run_script [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 1 }
      env:socket_text_stream("127.0.0.1", 1):print()
      env:execute()
    ]]
    assert.are.equal(1, code)
    assert.truthy(err:find("cannot connect to 127.0.0.1:1: Connection refused", 1, true), err)
  end)

  it("stdin() reads lines of standard input", function()
    local input = h.write(h.tmpname(".txt"), "a b\r\nc\nlast")
    local out = run_ok([[
      local flow = require("flow")
      local env = flow.env{ parallelism = 1 }
      env:stdin():map(function(l) return "<" .. l .. ">" end):print()
      env:execute()
    ]], {}, { stdin = input })
    os.remove(input)
    assert.are.equal("<a b>\n<c>\n<last>\n", out)
  end)

  it("bounded and unbounded inputs mix; the bounded end propagates", function()
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      local slow = env:add_source(function(ctx) for i = 1, 3 do ctx:collect(100 + i) ctx:sleep(50) end end,
        { bounded = false })
      local r = env:from_sequence(1, 5):union(slow):map(function(x) return x end):execute_and_collect({ limit = 8 })
      table.sort(r)
      print(table.concat(r, ","))
    ]]
    assert.are.equal("1,2,3,4,5,101,102,103\n", out)
  end)
end)

describe("processing time", function()
  it("keyed process functions get processing-time timers, deduplicated per key and time", function()
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      env:add_source(function(ctx)
        for _, x in ipairs { "a", "b", "a" } do ctx:collect(x) end
        ctx:sleep(700)
      end):key_by(function(x) return x end):process{
        process_element = function(self, v, ctx, out)
          ctx:register_processing_time_timer(math.floor(ctx:current_processing_time() / 1000) * 1000 + 1000)
        end,
        on_timer = function(self, ts, ctx, out) out:collect("timer " .. ctx:current_key()) end,
      }:print()
      env:execute()
    ]]
    -- each key once, whether its timer fell due before or after the sleep ended
    local lines = h.sorted_lines(out, true)
    for _, l in ipairs(lines) do assert.truthy(l == "timer a" or l == "timer b", l) end
    assert.is_true(#lines <= 2)
  end)

  it("a slow user source's records are flushed on the buffer timeout", function()
    local out = run_ok [[
      local flow = require("flow")
      local ffi = require("ffi")
      ffi.cdef "int64_t flow_mono_ms(void);"
      local env = flow.env{ parallelism = 1 }
      env:add_source(function(ctx)
        for i = 1, 3 do ctx:collect(tonumber(ffi.C.flow_mono_ms())) ctx:sleep(300) end
      end):map(function(t) return tonumber(ffi.C.flow_mono_ms()) - t end):set_parallelism(2)
        :print()
      env:execute()
    ]]
    for _, l in ipairs(h.sorted_lines(out, true)) do
      assert.is_true(tonumber(l) < 250, "record waited " .. l .. " ms")
    end
  end)
end)

describe("backpressure", function()
  it("a fast source into a slow sink keeps memory bounded", function()
    if os.getenv("FLOWLUA_SANITIZED") == "1" then
      pending("memory is not measured under AddressSanitizer")
      return
    end
    local out = run_ok [[
      local flow = require("flow")
      local env = flow.env{ parallelism = 2 }
      env:from_sequence(1, 3000000):map(function(x) return { x, "payload" } end):rebalance()
        :add_sink(function(v) if v[1] % 1000 == 0 then local t = os.clock() + 0.0005 while os.clock() < t do end end end)
      env:execute()
      for line in io.lines("/proc/self/status") do
        local kb = line:match("^VmHWM:%s+(%d+)")
        if kb then print(kb) end
      end
    ]]
    assert.is_true(tonumber(out) < 64 * 1024, "peak RSS " .. out .. " kB")
  end)
end)
