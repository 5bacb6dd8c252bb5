-- Checkpoints and exactly-once recovery: barriers, snapshots, restore,
-- the exactly-once file sink, savepoints, rescaling, corruption detection.
local h = require("helpers.flowlua")

local function tmpdir()
  local d = h.tmpname(".d")
  os.execute("mkdir -p " .. h.quote(d))
  return d
end

local sh = h.sh

-- a deterministic input: 3000 lines of 6 words out of 50
local function make_input(dir)
  local lines, seed = {}, 11
  for i = 1, 3000 do
    local ws = {}
    for j = 1, 6 do
      seed = (seed * 1103515245 + 12345) % 2147483648
      ws[j] = "w" .. (math.floor(seed / 65536) % 50)
    end
    lines[i] = table.concat(ws, " ")
  end
  return h.write(dir .. "/in.txt", table.concat(lines, "\n") .. "\n")
end

-- every (w, k) for k = 1..count(w): streaming WordCount's exact output
local function expected_running(input)
  local counts, out = {}, {}
  for line in io.lines(input) do
    for w in line:gmatch("%S+") do
      counts[w] = (counts[w] or 0) + 1
      out[#out + 1] = "(" .. w .. "," .. counts[w] .. ")"
    end
  end
  table.sort(out)
  return out
end

local function committed(dir)
  return h.sorted_lines(sh("cat " .. h.quote(dir) .. "/part-* 2>/dev/null"))
end

local WORDCOUNT = [[
local flow = require("flow")
local params = flow.params()
local env = flow.env{ parallelism = params:get_number("p", 2) }
env:set_runtime_mode("streaming")
env:enable_checkpointing(params:get_number("interval", 50), { dir = params:get("ck"),
  mode = params:get("mode", "exactly_once") })
env:set_restart_strategy("fixed_delay", { attempts = 3, delay_ms = 20 })
if params:has("restore") then env:set_restore_path(params:get("restore")) end
env:read_text_file(params:get("input"))
  :flat_map(function(line, out)
    for w in line:gmatch("%S+") do out:collect({ w, 1 }) end
    local t = os.clock() + 0.0002 while os.clock() < t do end -- slow: checkpoints happen meanwhile
  end):name("tokenizer")
  :key_by(1):sum(2):name("counter")
  :sink_to(flow.sinks.file{ path = params:get("out") })
local r = env:execute("checkpointed wordcount")
print("restarts " .. r.restarts)
]]

describe("exactly-once recovery", function()
  local dir, input, expected, script
  setup(function()
    dir = tmpdir()
    input = make_input(dir)
    expected = expected_running(input)
    script = h.write(dir .. "/wc.lua", WORDCOUNT)
  end)
  teardown(function() os.execute("rm -rf " .. h.quote(dir)) end)

  for _, p in ipairs { "1", "2" } do
    for _, k in ipairs { 10, 2000, 6000 } do
      it(("WordCount with a failure after %d records at parallelism %s is exact"):format(k, p), function()
        local out, ck = dir .. "/out-" .. p .. "-" .. k, dir .. "/ck-" .. p .. "-" .. k
        local log = sh(("FLOWLUA_FAULT=%s timeout 120 %s %s --input %s --out %s --ck %s --p %s"):format(
          h.quote("op=counter,subtask=0,after=" .. k), h.quote(h.bin), h.quote(script), h.quote(input),
          h.quote(out), h.quote(ck), p))
        assert.truthy(log:find("restarts 1", 1, true), log)
        assert.are.same(expected, committed(out))
        -- nothing hidden is left behind
        assert.are.equal("", sh("ls -A " .. h.quote(out) .. " | grep '^%.' || true"))
      end)
    end
  end

  it("checkpoint files are as documented", function()
    local out, ck = dir .. "/out-doc", dir .. "/ck-doc"
    local log = sh(("FLOWLUA_FAULT=%s timeout 120 %s %s --input %s --out %s --ck %s --p 2"):format(
      h.quote("op=counter,subtask=1,after=8000,kill"), h.quote(h.bin), h.quote(script), h.quote(input),
      h.quote(out), h.quote(ck)))
    local job = sh("ls " .. h.quote(ck)):match("%x+")
    assert.truthy(job and #job == 32, "ck/<job id>: " .. log)
    -- the completed checkpoint (a later one may have been pending at the kill)
    local chk
    for c in sh("ls " .. h.quote(ck .. "/" .. job)):gmatch("chk%-%d+") do
      if h.read(ck .. "/" .. job .. "/" .. c .. "/_metadata") then chk = c end
    end
    assert.truthy(chk, "a completed checkpoint is kept")
    local meta = h.read(ck .. "/" .. job .. "/" .. chk .. "/_metadata")
    assert.truthy(meta:find("^flowlua checkpoint v1\njob " .. job .. "\ncheckpoint %d+\n"), meta)
    assert.truthy(meta:find("\ntask 1 0 2 task%-1%-0%.state op%-1,op%-2\n"), meta)
    assert.truthy(meta:find("\nend %d+\n$"), meta)
    local state = h.read(ck .. "/" .. job .. "/" .. chk .. "/task-2-1.state")
    assert.truthy(state:find("^FLOWLUA%-STATE 1 %d+ %d+\n"), state:sub(1, 40))
  end)

  it("a process killed with SIGKILL resumes from its checkpoint with exactly-once output", function()
    local out, ck = dir .. "/out-kill", dir .. "/ck-kill"
    local log = sh(("FLOWLUA_FAULT=%s timeout 120 %s %s --input %s --out %s --ck %s --p 2; echo exit=$?"):format(
      h.quote("op=counter,subtask=0,after=7000,kill"), h.quote(h.bin), h.quote(script), h.quote(input),
      h.quote(out), h.quote(ck)))
    assert.truthy(log:find("exit=137", 1, true), log) -- killed
    assert.are_not.same(expected, committed(out)) -- not done yet
    local job = sh("ls " .. h.quote(ck)):match("%x+")
    -- as Flink's `flink run -s`: the restore path on the command line
    log = sh(("timeout 120 %s %s --input %s --out %s --ck %s --p 2 --from-checkpoint %s"):format(
      h.quote(h.bin), h.quote(script), h.quote(input), h.quote(out), h.quote(dir .. "/ck-kill2"),
      h.quote(ck .. "/" .. job)))
    assert.truthy(log:find("restarts 0", 1, true), log)
    assert.are.same(expected, committed(out))
  end)

  it("at-least-once mode recovers without losing records", function()
    local out, ck = dir .. "/out-alo", dir .. "/ck-alo"
    sh(("FLOWLUA_FAULT=%s timeout 120 %s %s --input %s --out %s --ck %s --p 2 --mode at_least_once"):format(
      h.quote("op=counter,subtask=0,after=3000"), h.quote(h.bin), h.quote(script), h.quote(input),
      h.quote(out), h.quote(ck)))
    local got, seen = committed(out), {}
    for _, l in ipairs(got) do seen[l] = true end
    for _, e in ipairs(expected) do assert.truthy(seen[e], e) end
  end)

  it("a corrupted or truncated snapshot is detected, not loaded", function()
    local out, ck = dir .. "/out-bad", dir .. "/ck-bad"
    sh(("FLOWLUA_FAULT=%s timeout 120 %s %s --input %s --out %s --ck %s --p 1"):format(
      h.quote("op=counter,subtask=0,after=9000,kill"), h.quote(h.bin), h.quote(script), h.quote(input),
      h.quote(out), h.quote(ck)))
    local job = sh("ls " .. h.quote(ck)):match("%x+")
    local chk
    for c in sh("ls " .. h.quote(ck .. "/" .. job)):gmatch("chk%-%d+") do
      if h.read(ck .. "/" .. job .. "/" .. c .. "/_metadata") then chk = ck .. "/" .. job .. "/" .. c end
    end
    local state = chk .. "/task-2-0.state"
    local good = h.read(state)
    -- one flipped byte in the payload
    local i = #good - 5
    h.write(state, good:sub(1, i - 1) .. string.char((good:byte(i) + 1) % 256) .. good:sub(i + 1))
    local _, err, code = h.run({ script, "--input", input, "--out", out, "--ck", dir .. "/ck-bad2",
      "--p", "1", "--restore", chk })
    assert.are.equal(1, code)
    assert.truthy(err:find("corrupted (checksum mismatch)", 1, true), err)
    h.write(state, good:sub(1, #good - 10))
    _, err, code = h.run({ script, "--input", input, "--out", out, "--ck", dir .. "/ck-bad2",
      "--p", "1", "--restore", chk })
    assert.are.equal(1, code)
    assert.truthy(err:find("truncated", 1, true), err)
  end)
end)

describe("savepoints", function()
  it("stop_with_savepoint, then a new job from the savepoint, is exactly once", function()
    local dir = tmpdir()
    local input = make_input(dir)
    local script = h.write(dir .. "/sp.lua", ([[
      local flow = require("flow")
      local params = flow.params()
      local env = flow.env{ parallelism = 2 }
      env:set_runtime_mode("streaming")
      env:enable_checkpointing(600000, { dir = %q })
      if params:has("restore") then env:set_restore_path(params:get("restore")) end
      env:read_text_file(%q)
        :flat_map(function(line, out)
          for w in line:gmatch("%%S+") do out:collect({ w, 1 }) end
          local t = os.clock() + 0.001 while os.clock() < t do end
        end):key_by(1):sum(2)
        :sink_to(flow.sinks.file{ path = %q })
      if params:has("restore") then
        env:execute("resumed")
        print("resumed")
      else
        local c = env:execute_async("first")
        c:wait(300)
        print(c:stop_with_savepoint(%q), c:status())
      end
    ]]):format(dir .. "/ck", input, dir .. "/out", dir .. "/sp"))
    local out1 = sh("timeout 60 " .. h.quote(h.bin) .. " " .. h.quote(script))
    assert.are.equal(dir .. "/sp\tFINISHED\n", out1) -- as Flink: stop-with-savepoint finishes
    local out2 = sh("timeout 60 " .. h.quote(h.bin) .. " " .. h.quote(script) .. " --restore " .. h.quote(dir .. "/sp"))
    assert.are.equal("resumed\n", out2)
    assert.are.same(expected_running(input), committed(dir .. "/out"))
    os.execute("rm -rf " .. h.quote(dir))
  end)
end)

describe("rescaling", function()
  it("a keyed window job restored at another parallelism gives the uninterrupted result", function()
    local dir = tmpdir()
    local script = h.write(dir .. "/win.lua", [[
      local flow = require("flow")
      local params = flow.params()
      local env = flow.env{ parallelism = params:get_number("p", 2) }
      env:set_runtime_mode("streaming")
      if params:has("ck") then env:enable_checkpointing(50, { dir = params:get("ck") }) end
      env:set_restart_strategy("none")
      if params:has("restore") then env:set_restore_path(params:get("restore")) end
      env:from_sequence(1, 6000):set_parallelism(1):name("numbers")
        :map(function(x) local t = os.clock() + 0.0002 while os.clock() < t do end return { x % 7, x, 1 } end)
        :set_parallelism(1)
        :assign_timestamps_and_watermarks(flow.watermarks.for_monotonous_timestamps()
          :with_timestamp_assigner(function(e) return e[2] end)):set_parallelism(1)
        :key_by(1) -- one input channel per window subtask: a deterministic order
        :window(flow.windows.tumbling_event_time(500))
        :sum(3):uid("windows")
        :map(function(e) return e[1] .. ":" .. e[2] .. ":" .. e[3] end):uid("fmt")
        :sink_to(flow.sinks.file{ path = params:get("out") }):uid("sink"):set_parallelism(1)
      env:execute("windows")
    ]])
    local function run(args, env)
      return sh((env or "") .. " timeout 120 " .. h.quote(h.bin) .. " " .. h.quote(script) .. " " .. args)
    end
    run("--out " .. h.quote(dir .. "/ref"))
    local reference = committed(dir .. "/ref")
    assert.is_true(#reference > 50)
    run("--out " .. h.quote(dir .. "/out") .. " --ck " .. h.quote(dir .. "/ck") .. " --p 2",
      "FLOWLUA_FAULT=" .. h.quote("op=numbers,subtask=0,after=3000,kill"))
    local job = sh("ls " .. h.quote(dir .. "/ck")):match("%x+")
    assert.truthy(job, "a checkpoint directory")
    run("--out " .. h.quote(dir .. "/out") .. " --ck " .. h.quote(dir .. "/ck2") .. " --p 3 --restore " ..
      h.quote(dir .. "/ck/" .. job))
    assert.are.same(reference, committed(dir .. "/out"))
    os.execute("rm -rf " .. h.quote(dir))
  end)
end)
