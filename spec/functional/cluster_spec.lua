-- Cluster mode: a jobmanager and taskmanagers as separate processes on
-- loopback (scripts/start-cluster.sh), jobs submitted with
-- `flowlua run --jobmanager`, list / cancel, the REST endpoint's JSON (curl),
-- failover when a taskmanager is killed, malformed input, the cluster secret.
local h = require("helpers.flowlua")
local hc = require("helpers.cluster")
local cjson = require("cjson")
local socket = require("socket")

local sh, wait_for = hc.sh, hc.wait_for
local conformance = h.conformance
local have_conformance = h.read(conformance .. "/wordcount_text.txt") ~= nil

local function succeeds(cmd)
  local r = os.execute(cmd)
  return r == true or r == 0
end

local function tmpdir()
  local d = h.tmpname(".d")
  os.execute("mkdir -p " .. h.quote(d))
  return d
end

local function part_lines(dir)
  return h.sorted_lines(sh("cat " .. h.quote(dir) .. "/* 2>/dev/null"))
end

-- an endless source: runs until canceled
local ENDLESS = [[
local flow = require("flow")
local env = flow.env()
env:add_source(function(ctx)
  local i = 0
  while true do i = i + 1; ctx:collect(i); ctx:sleep(5) end
end, { name = "ticks", bounded = false }):filter(function() return false end):print()
env:execute(arg[1] or "endless")
]]

local function submit_detached(c, source, name)
  local path = h.write(h.tmpname(".lua"), source)
  local out, err, code = c:flowlua({ "run", "--detached", path, name })
  os.remove(path)
  assert.are.equal(0, code, err)
  local id = err:match("JobID (%x+)")
  assert.truthy(id, err)
  return id
end

describe("cluster mode", function()
  local c, dir
  setup(function()
    c = hc.start { n = 2, slots = 2 }
    dir = tmpdir()
  end)
  teardown(function()
    if c then c:stop() end
    os.execute("rm -rf " .. h.quote(dir))
  end)

  it("starts a jobmanager and two taskmanagers with pid files and logs", function()
    assert.truthy(c:pid("jobmanager"), c.start_log)
    assert.truthy(c:pid("taskmanager-1"))
    assert.truthy(c:pid("taskmanager-2"))
    wait_for(function() return c:json("/overview").taskmanagers == 2 end, 20, "two taskmanagers")
    assert.are.equal(4, c:json("/overview")["slots-total"])
    assert.truthy(c:log("jobmanager"):find("REST endpoint", 1, true))
  end)

  it("runs WordCount at parallelism 4 across both taskmanagers with Flink's output", function()
    if not have_conformance then return pending("no conformance data") end
    local out_dir = dir .. "/wc4"
    local _, err, code = c:flowlua({ "run", h.source_dir .. "/examples/wordcount.lua", "--input",
      conformance .. "/wordcount_text.txt", "--parallelism", "4", "--output", out_dir }, { timeout = 120 })
    assert.are.equal(0, code, err .. c:logs())
    assert.are.same(h.file_lines(conformance .. "/wordcount_expected_tuples.txt"), part_lines(out_dir))
    -- both taskmanagers ran tasks of it: each fetched the job's files
    local id = err:match("JobID (%x+)")
    assert.truthy(c:log("taskmanager-1"):find(id, 1, true), c:logs())
    assert.truthy(c:log("taskmanager-2"):find(id, 1, true), c:logs())
    -- and the slots are free again
    local o = c:json("/overview")
    assert.are.equal(4, o["slots-available"])
  end)

  it("submits through the REST endpoint (`run --rest`) and follows the job there", function()
    if not have_conformance then return pending("no conformance data") end
    local out_dir = dir .. "/rest"
    local _, err, code = h.run({ "run", "--rest", "127.0.0.1:" .. c.rest, h.source_dir .. "/examples/wordcount.lua",
      "--input", conformance .. "/wordcount_text.txt", "--parallelism", "4", "--output", out_dir }, { timeout = 120 })
    assert.are.equal(0, code, err .. c:logs())
    assert.are.same(h.file_lines(conformance .. "/wordcount_expected_tuples.txt"), part_lines(out_dir))
    -- a failing job's root cause comes back too
    local path = h.write(h.tmpname(".lua"), [[
local flow = require("flow")
local env = flow.env{ parallelism = 2 }
env:from_collection({ 1, 2, 3 }):map(function(x) if x == 2 then error("boom") end return x end):print()
env:execute("failing")
]])
    local _, err2, code2 = h.run({ "run", "--rest", "127.0.0.1:" .. c.rest, path }, { timeout = 60 })
    os.remove(path)
    assert.are.equal(1, code2)
    assert.truthy(err2:find("boom", 1, true), err2)
  end)

  it("ships the modules a script requires from its directory (BlobServer)", function()
    local sdir = tmpdir()
    h.write(sdir .. "/shout_helper.lua", [[
local M = {}
function M.shout(s) return s:upper() .. "!" end
return M
]])
    local script = h.write(sdir .. "/job.lua", [[
local flow = require("flow")
local helper = require("shout_helper")
local env = flow.env{ parallelism = 2 }
env:from_collection({ "a", "b", "c", "d" })
  :map(function(s) return helper.shout(s) end)
  :write_as_text(arg[1])
env:execute("modules")
]])
    local out_dir = dir .. "/modules"
    local _, err, code = c:flowlua({ "run", script, out_dir }, { timeout = 60 })
    os.execute("rm -rf " .. h.quote(sdir))
    assert.are.equal(0, code, err .. c:logs())
    assert.are.same({ "A!", "B!", "C!", "D!" }, part_lines(out_dir))
  end)

  it("lists jobs and serves Flink-shaped REST JSON", function()
    -- (about the WordCount job above, which needs the conformance data)
    if not have_conformance then return pending("no conformance data") end
    local out, err, code = c:flowlua({ "list" })
    assert.are.equal(0, code, err)
    assert.truthy(out:find("WordCount (FINISHED)", 1, true), out)
    local jobs = c:json("/jobs/overview").jobs
    assert.truthy(#jobs >= 1)
    local wc
    for _, j in ipairs(jobs) do if j.name == "WordCount" then wc = j end end
    assert.truthy(wc)
    assert.are.equal("FINISHED", wc.state)
    assert.are.equal(32, #wc.jid)
    assert.truthy(wc["start-time"] > 0 and wc["end-time"] >= wc["start-time"])
    assert.truthy(wc.tasks.total > 0)
    assert.are.equal(wc.tasks.total, wc.tasks.finished) -- kept after the job ended (lowercase keys, as Flink)
    local d = c:json("/jobs/" .. wc.jid)
    assert.are.equal(wc.jid, d.jid)
    assert.are.equal("FINISHED", d.state)
    assert.truthy(#d.vertices >= 2)
    assert.are.equal(4, d.vertices[#d.vertices].parallelism)
    -- the taskmanagers' counters: every record a vertex wrote was read by the next, across TCP
    -- (read-records counts network input: 0 for the source, as in Flink); the
    -- source operator's numRecordsOut, summed over its subtasks, is the input's lines
    local lines = #h.file_lines(conformance .. "/wordcount_text.txt")
    assert.are.equal(0, d.vertices[1].metrics["read-records"])
    local src_out
    for _, m in ipairs(c:json("/jobs/" .. wc.jid .. "/vertices/" .. d.vertices[1].id .. "/subtasks/metrics")) do
      if m.id:match("^Source.*%.numRecordsOut$") then src_out = m.id end
    end
    assert.truthy(src_out, "the source operator's numRecordsOut")
    local agg = c:json("/jobs/" .. wc.jid .. "/vertices/" .. d.vertices[1].id .. "/subtasks/metrics?get=" .. src_out)
    assert.are.equal(lines, agg[1].sum)
    assert.truthy(d.vertices[1].metrics["write-bytes"] > 0)
    for k = 2, #d.vertices do
      assert.are.equal(d.vertices[k - 1].metrics["write-bytes"], d.vertices[k].metrics["read-bytes"])
      assert.truthy(d.vertices[k].metrics["read-records"] > 0)
      assert.are.equal(d.vertices[k - 1].metrics["write-records"], d.vertices[k].metrics["read-records"])
    end
    local tms = c:json("/taskmanagers").taskmanagers
    assert.are.equal(2, #tms)
    for _, t in ipairs(tms) do
      assert.are.equal(2, t.slotsNumber)
      assert.truthy(t.dataPort > 0)
      -- each taskmanager's hardware and process, from its heartbeats
      assert.truthy(t.hardware.cpuCores >= 1 and t.hardware.physicalMemory > 0, cjson.encode(t.hardware))
    end
    local one = c:json("/taskmanagers/" .. tms[1].id)
    assert.truthy(one.metrics.rss > 0 and one.metrics.threads >= 1, cjson.encode(one.metrics))
    assert.truthy(c:json("/jobs").jobs[1].status)
    local body, status = c:curl("/jobs/" .. string.rep("0", 32))
    assert.are.equal(404, status)
    assert.truthy(cjson.decode(body).errors[1])
  end)

  it("answers Flink's /config, and tells a malformed job id (400) from an unknown one (404)", function()
    local body, status = c:curl("/jobs/" .. string.rep("0", 32))
    assert.are.equal(404, status)
    assert.truthy(cjson.decode(body).errors[1])
    -- an id that does not parse (not 32 hex digits) is a bad request, as in Flink
    for _, bad in ipairs { "nope", string.rep("0", 31), string.rep("g", 32), string.rep("0", 33) } do
      local b, st = c:curl("/jobs/" .. bad)
      assert.are.equal(400, st, bad)
      assert.truthy(cjson.decode(b).errors[1])
    end
    local any = c:json("/jobs/overview").jobs[1].jid -- (the jobs of the tests above)
    local _, st = c:curl("/jobs/" .. any .. "/no-such-resource")
    assert.are.equal(404, st)
    -- the job's plan (Flink's JobPlanInfo), also inside /jobs/:id
    local plan = c:json("/jobs/" .. any .. "/plan").plan
    local details = c:json("/jobs/" .. any)
    assert.are.same(plan, details.plan)
    assert.are.equal(any, plan.jid)
    assert.truthy(plan.type == "STREAMING" or plan.type == "BATCH", plan.type)
    assert.are.equal(#details.vertices, #plan.nodes)
    local ids, edges = {}, 0
    for i, v in ipairs(details.vertices) do
      assert.are.equal(v.id, plan.nodes[i].id)
      assert.are.equal(v.parallelism, plan.nodes[i].parallelism)
      assert.are.equal(v.name, plan.nodes[i].description)
      ids[v.id] = true
    end
    for _, n in ipairs(plan.nodes) do
      for k, input in ipairs(n.inputs or {}) do
        edges = edges + 1
        assert.are.equal(k - 1, input.num)
        assert.truthy(ids[input.id], input.id)
        assert.truthy(input.ship_strategy:match("^[A-Z]+$"), input.ship_strategy)
      end
    end
    assert.truthy(edges >= 1, "a job of more than one vertex has edges")
    -- a failed job's exceptions (root cause with the Lua traceback) and config
    local path = h.write(h.tmpname(".lua"), [[
local flow = require("flow")
local env = flow.env{ parallelism = 2 }
env:from_collection({ 1, 2, 3 }):map(function(x) if x == 2 then error("kaboom") end return x end):print()
env:execute("failing-for-rest")
]])
    local _, _, fcode = c:flowlua({ "run", path }, { timeout = 60 })
    os.remove(path)
    assert.are.equal(1, fcode)
    local failed
    for _, j in ipairs(c:json("/jobs/overview").jobs) do if j.name == "failing-for-rest" then failed = j.jid end end
    assert.truthy(failed)
    local ex = c:json("/jobs/" .. failed .. "/exceptions")
    assert.truthy(ex["root-exception"]:find("kaboom", 1, true), ex["root-exception"])
    assert.truthy(ex.timestamp > 0)
    assert.are.equal(1, #ex.exceptionHistory.entries)
    assert.are.equal(ex["root-exception"], ex.exceptionHistory.entries[1].stacktrace)
    assert.truthy(ex.exceptionHistory.entries[1].exceptionName:find("kaboom", 1, true))
    assert.are.equal(cjson.null, c:json("/jobs/" .. any .. "/exceptions")["root-exception"])
    -- a finished job keeps its subtasks' last states (archived when its JobMaster went)
    local fdetails = c:json("/jobs/" .. failed)
    local total = 0
    for _, v in ipairs(fdetails.vertices) do total = total + v.parallelism end
    for _, j in ipairs(c:json("/jobs/overview").jobs) do
      if j.jid == failed then
        assert.are.equal(total, j.tasks.total)
        assert.truthy(j.tasks.failed + j.tasks.canceled >= 1, cjson.encode(j.tasks)) -- (lowercase, as Flink's)
      end
    end
    local vd = c:json("/jobs/" .. failed .. "/vertices/" .. fdetails.vertices[1].id)
    assert.are.equal(fdetails.vertices[1].parallelism, #vd.subtasks)
    for i, st in ipairs(vd.subtasks) do
      assert.are.equal(i - 1, st.subtask)
      assert.truthy(({ FINISHED = true, CANCELED = true, FAILED = true })[st.status], st.status)
      assert.truthy(#st.host > 0, "the taskmanager it ran on")
    end
    assert.are.equal(400, select(2, c:curl("/jobs/" .. failed .. "/vertices/x1")))
    assert.are.equal(404, select(2, c:curl("/jobs/" .. failed .. "/vertices/99")))
    -- job and cluster metrics, Flink's names and REST shapes (ids; ?get= gives values as strings)
    local ids = {}
    for _, m in ipairs(c:json("/jobs/" .. failed .. "/metrics")) do ids[m.id] = true end
    for _, want in ipairs { "numRestarts", "numberOfCompletedCheckpoints", "numberOfFailedCheckpoints",
        "numberOfInProgressCheckpoints", "lastCompletedCheckpointId", "lastCheckpointDuration" } do
      assert.truthy(ids[want], want)
    end
    local got = c:json("/jobs/" .. failed .. "/metrics?get=numRestarts,numberOfCompletedCheckpoints")
    assert.are.equal(2, #got)
    for _, m in ipairs(got) do assert.truthy(m.value:match("^%d+$"), m.id .. "=" .. m.value) end
    local cm = {}
    for _, m in ipairs(c:json("/jobmanager/metrics?get=numRegisteredTaskManagers,taskSlotsTotal,nope")) do
      cm[m.id] = m.value
    end
    assert.are.same({ numRegisteredTaskManagers = "2", taskSlotsTotal = "4" }, cm)
    assert.are.equal(4, #c:json("/jobmanager/metrics"))
    local conf = c:json("/jobs/" .. failed .. "/config")
    assert.are.equal(failed, conf.jid)
    assert.are.equal("failing-for-rest", conf.name)
    assert.are.equal(2, conf["execution-config"]["job-parallelism"])
    assert.are.equal("string", type(conf["execution-config"]["restart-strategy"]))
    assert.are.equal("string", type(conf["execution-config"]["execution-mode"]))
    -- the jobmanager's settings under Flink's keys, the REST port the one we talk to
    local jmc = {}
    for _, kv in ipairs(c:json("/jobmanager/config")) do jmc[kv.key] = kv.value end
    assert.are.equal(tostring(c.rest), jmc["rest.port"])
    assert.truthy(tonumber(jmc["jobmanager.rpc.port"]) > 0)
    assert.truthy(tonumber(jmc["heartbeat.timeout"]) > 0)
    -- the dashboard's configuration, Flink's DashboardConfiguration fields
    conf = c:json("/config")
    assert.are.equal(3000, conf["refresh-interval"])
    assert.are.equal("string", type(conf["timezone-name"]))
    assert.are.equal("number", type(conf["timezone-offset"]))
    assert.truthy(conf["flink-version"]:find("flowlua", 1, true))
    assert.are.equal("string", type(conf["flink-revision"]))
    assert.are.same({ ["web-submit"] = true, ["web-cancel"] = true, ["web-rescale"] = false,
      ["web-history"] = false }, conf.features)
  end)

  it("cancels a running job with `flowlua cancel` and with PATCH ?mode=cancel", function()
    local a = submit_detached(c, ENDLESS, "endless-a")
    wait_for(function() return c:job_state(a) == "RUNNING" end, 20, "job a RUNNING")
    local out, err, code = c:flowlua({ "cancel", a })
    assert.are.equal(0, code, err)
    assert.truthy(out:find("Cancelled job " .. a, 1, true), out)
    wait_for(function() return c:job_state(a) == "CANCELED" end, 20, "job a CANCELED")

    local b = submit_detached(c, ENDLESS, "endless-b")
    wait_for(function() return c:job_state(b) == "RUNNING" end, 20, "job b RUNNING")
    local _, status = c:curl("/jobs/" .. b .. "?mode=cancel", "PATCH")
    assert.are.equal(202, status)
    wait_for(function() return c:job_state(b) == "CANCELED" end, 20, "job b CANCELED")
    local listed = c:flowlua({ "list" })
    assert.truthy(listed:find(a .. " : endless-a (CANCELED)", 1, true), listed)
    -- the slots came back
    wait_for(function() return c:json("/overview")["slots-available"] == 4 end, 10, "free slots")
    -- an unknown job is a clear error
    local _, err2, code2 = c:flowlua({ "cancel", string.rep("a", 32) })
    assert.are.equal(1, code2)
    assert.truthy(err2:find("no job", 1, true), err2)
  end)

  it("takes a savepoint of a running job with `flowlua savepoint`", function()
    local id = submit_detached(c, ENDLESS, "endless-sp")
    wait_for(function() return c:job_state(id) == "RUNNING" end, 20, "RUNNING")
    local sp = dir .. "/savepoints"
    local out, err, code = c:flowlua({ "savepoint", id, sp }, { timeout = 60 })
    assert.are.equal(0, code, err .. c:logs())
    local path = out:match("Path: (%S+)")
    assert.truthy(path, out)
    assert.truthy(h.read(path .. "/_metadata"), path)
    assert.are.equal("RUNNING", c:job_state(id))
    -- the JobMaster's checkpoint metrics saw it (a savepoint is a completed checkpoint)
    local jm = {}
    for _, m in ipairs(c:json("/jobs/" .. id .. "/metrics?get=numberOfCompletedCheckpoints,lastCompletedCheckpointId,"
        .. "lastCheckpointDuration")) do jm[m.id] = tonumber(m.value) end
    assert.are.equal(1, jm.numberOfCompletedCheckpoints)
    assert.truthy(jm.lastCompletedCheckpointId >= 1)
    assert.truthy(jm.lastCheckpointDuration >= 0)
    local out2, err2, code2 = c:flowlua({ "savepoint", "--stop", id, sp }, { timeout = 60 })
    assert.are.equal(0, code2, err2)
    assert.truthy(out2:find("Path:", 1, true))
    wait_for(function() return c:job_state(id) == "FINISHED" end, 20, "stopped with a savepoint")
    -- kept once the job ended (archived with its JobMaster)
    local done = c:json("/jobs/" .. id .. "/metrics?get=numberOfCompletedCheckpoints")
    assert.are.equal("2", done[1].value)
  end)

  it("shows the live progress line on a terminal, from the taskmanagers' counters", function()
    local script_ok = os.execute("command -v script >/dev/null 2>&1")
    if script_ok ~= 0 and script_ok ~= true then return pending("util-linux script(1) is not installed") end
    local path = h.write(h.tmpname(".lua"), [[
local flow = require("flow")
local env = flow.env{ parallelism = 2 }
env:add_source(function(ctx)
  for i = 1, 120 do ctx:collect(i) ctx:sleep(25) end
end, { name = "ticks" }):map(function(x) return x end):add_sink(function() end)
env:execute("slow job")
print("done")
]])
    local cmd = h.quote(h.bin) .. " run --jobmanager " .. c.address .. " " .. h.quote(path)
    local p = io.popen("script -qfc " .. h.quote(cmd) .. " /dev/null")
    local out = p:read("*a")
    p:close()
    os.remove(path)
    assert.truthy(out:find("rec/s", 1, true), out)
    assert.truthy(out:find("Source: ticks", 1, true), out)
    assert.truthy(out:find("done", 1, true), out)
  end)

  it("refuses execute_and_collect in cluster mode with a clear error", function()
    local path = h.write(h.tmpname(".lua"), [[
local flow = require("flow")
flow.env():from_collection({ 1, 2 }):execute_and_collect()
]])
    local _, err, code = c:flowlua({ "run", path })
    os.remove(path)
    assert.are.equal(1, code)
    assert.truthy(err:find("cluster mode", 1, true), err)
  end)

  it("keeps serving after garbage, truncated and oversized frames and HTTP requests", function()
    local function send(port, bytes, read)
      local s = assert(socket.connect("127.0.0.1", port))
      s:settimeout(2)
      s:send(bytes)
      local got = read and s:receive("*a") or nil
      s:close()
      return got
    end
    local tm_port = c:json("/taskmanagers").taskmanagers[1].dataPort
    local hello_hdr = "FLW1\1\1\0\0" -- magic, version, type 1 (hello), flags
    for _, port in ipairs { c.rpc, tm_port } do
      send(port, "GET / HTTP/1.1\r\n\r\n") -- not our protocol
      send(port, string.rep("\0", 64)) -- zeros
      send(port, "FLW1\1\1\0\0\255\255\255\127") -- an oversized frame announced
      send(port, hello_hdr .. "\100\0\0\0" .. "abc") -- truncated, then closed
      send(port, "FLW1\9\1\0\0\0\0\0\0") -- a wrong version
    end
    -- HTTP: garbage, oversized headers, a huge body, truncated
    local r1 = send(c.rest, "\1\2\3 garbage\r\n\r\n", true)
    assert.truthy(r1 and r1:find("400", 1, true), r1)
    local r2 = send(c.rest, "GET /overview HTTP/1.1\r\nX: " .. string.rep("a", 40000) .. "\r\n\r\n", true)
    assert.truthy(r2 and r2:find("431", 1, true), r2)
    local r3 = send(c.rest, "POST /jobs HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n", true)
    assert.truthy(r3 and r3:find("413", 1, true), r3)
    send(c.rest, "GET /overv")
    local body, status = c:curl("/jobs", "POST", "not a job")
    assert.are.equal(400, status, body)
    -- everything still serves: REST, RPC (list), and a job across both taskmanagers
    assert.are.equal(2, c:json("/overview").taskmanagers)
    local _, err, code = c:flowlua({ "list" })
    assert.are.equal(0, code, err)
    local out_dir = dir .. "/after-garbage"
    local _, err2, code2 = c:flowlua({ "run", h.source_dir .. "/examples/wordcount.lua", "--parallelism", "4",
      "--output", out_dir }, { timeout = 120 })
    assert.are.equal(0, code2, err2 .. c:logs())
    assert.truthy(#part_lines(out_dir) > 100)
    for _, name in ipairs { "jobmanager", "taskmanager-1", "taskmanager-2" } do
      assert.is_true(succeeds("kill -0 " .. c:pid(name)), name .. " died")
    end
    assert.truthy(c:log("jobmanager"):find("flowlua: net:", 1, true))
  end)
end)

-- streaming WordCount with checkpoints and the exactly-once file sink (as in
-- checkpoint_spec), slowed down so that a taskmanager can be killed mid-job
local CHECKPOINTED = [[
local flow = require("flow")
local params = flow.params()
local env = flow.env{ parallelism = params:get_number("p", 2) }
env:set_runtime_mode("streaming")
env:enable_checkpointing(100, { dir = params:get("ck"), mode = "exactly_once" })
env:set_restart_strategy("fixed_delay", { attempts = 3, delay_ms = 200 })
env:read_text_file(params:get("input"))
  :flat_map(function(line, out)
    for w in line:gmatch("%S+") do out:collect({ w, 1 }) end
    local t = os.clock() + 0.003 while os.clock() < t do end
  end):name("tokenizer")
  :key_by(1):sum(2):name("counter")
  :sink_to(flow.sinks.file{ path = params:get("out") })
local r = env:execute("checkpointed wordcount")
print("restarts " .. r.restarts)
]]

-- input: 3000 lines of 4 words out of 40, and WordCount's running counts
local function failover_input(dir)
  local lines, seed, counts, expected = {}, 7, {}, {}
  for i = 1, 3000 do
    local ws = {}
    for j = 1, 4 do
      seed = (seed * 1103515245 + 12345) % 2147483648
      ws[j] = "w" .. (math.floor(seed / 65536) % 40)
      counts[ws[j]] = (counts[ws[j]] or 0) + 1
      expected[#expected + 1] = "(" .. ws[j] .. "," .. counts[ws[j]] .. ")"
    end
    lines[i] = table.concat(ws, " ")
  end
  table.sort(expected)
  return h.write(dir .. "/in.txt", table.concat(lines, "\n") .. "\n"), expected
end

-- starts the checkpointed job in the background; returns a function that
-- waits for its end and gives (exit code, client output)
local function start_checkpointed(c, dir, input)
  local script = h.write(dir .. "/wc.lua", CHECKPOINTED)
  local run = ("timeout 180 %s run --jobmanager %s %s --input %s --out %s --ck %s --p 2 > %s 2>&1; echo $? > %s")
    :format(h.quote(h.bin), c.address, h.quote(script), h.quote(input), h.quote(dir .. "/out"),
      h.quote(dir .. "/ck"), h.quote(dir .. "/client.log"), h.quote(dir .. "/client.exit"))
  os.execute("(" .. run .. ") &")
  return function()
    local exit = wait_for(function() return (h.read(dir .. "/client.exit") or ""):match("%d+") end, 180,
      "the job's end")
    return exit, h.read(dir .. "/client.log")
  end
end

local function wait_checkpoint(dir)
  wait_for(function() return sh("find " .. h.quote(dir .. "/ck") .. " -name _metadata 2>/dev/null || true") ~= "" end,
    60, "a completed checkpoint")
end

describe("cluster failover", function()
  it("waits for a new taskmanager when the remaining slots do not suffice", function()
    local extra_pid
    hc.with({ n = 2, slots = 1 }, function(c, dir)
      local ok, e = pcall(function()
        local input, expected = failover_input(dir)
        local finish = start_checkpointed(c, dir, input)
        wait_checkpoint(dir)
        assert.is_true(succeeds("kill -9 " .. c:pid("taskmanager-1")))
        -- one slot is left for a job that needs two: it waits (RESTARTING / CREATED) ...
        wait_for(function() return c:json("/overview").taskmanagers == 1 end, 20, "the loss")
        socket.sleep(0.5)
        assert.are.equal(1, c:json("/overview")["jobs-running"])
        -- ... until a new taskmanager registers
        extra_pid = tonumber(sh(("%s taskmanager --jobmanager %s --slots 1 > %s 2>&1 & echo $!"):format(
          h.quote(h.bin), c.address, h.quote(dir .. "/tm3.log"))):match("%d+"))
        local exit, log = finish()
        assert.are.equal("0", exit, log .. c:logs())
        assert.truthy(log:find("restarts 1", 1, true), log)
        assert.are.same(expected, part_lines(dir .. "/out"))
      end)
      if extra_pid then os.execute("kill " .. extra_pid .. " 2>/dev/null") end
      assert(ok, e)
    end)
  end)

  it("a taskmanager killed with SIGKILL mid-job: restart from the checkpoint, exactly-once output", function()
    hc.with({ n = 2, slots = 2 }, function(c, dir)
      local input, expected = failover_input(dir)
      local finish = start_checkpointed(c, dir, input)
      -- both taskmanagers run a subtask (slots are spread); kill one after a completed checkpoint
      wait_checkpoint(dir)
      assert.is_true(succeeds("kill -9 " .. c:pid("taskmanager-2")))
      local exit, log = finish()
      assert.are.equal("0", exit, log .. c:logs())
      assert.truthy(log:find("restarts 1", 1, true), log .. c:logs())
      assert.truthy(c:log("jobmanager"):find("is lost", 1, true), c:logs())
      assert.are.same(expected, part_lines(dir .. "/out"))
    end)
  end)
end)

describe("cluster robustness", function()
  it("a taskmanager lost while a job waits for slots: the job fails after slot.request.timeout", function()
    hc.with({ n = 2, slots = 1, extra = "--set slot.request.timeout=2s" }, function(c)
      -- three slots wanted, two there: the request waits; then one of the two goes
      local id = submit_detached(c, ENDLESS:gsub("flow.env%(%)", "flow.env{ parallelism = 3 }"), "too-wide")
      socket.sleep(0.3)
      assert.is_true(succeeds("kill -9 " .. c:pid("taskmanager-2")))
      wait_for(function() return c:job_state(id) == "FAILED" end, 20, "FAILED")
      local d = c:json("/jobs/" .. id)
      assert.truthy(d["failure-cause"]:find("could not acquire the minimum required resources", 1, true),
        d["failure-cause"])
      socket.sleep(2.5) -- a second (stale) request would expire now
      assert.is_true(succeeds("kill -0 " .. c:pid("jobmanager")), "the jobmanager died\n" .. c:logs())
      assert.are.equal(1, c:json("/overview")["slots-available"])
    end)
  end)

  it("concurrent jobs with multi-megabyte modules all run (nothing is dropped)", function()
    hc.with({ n = 1, slots = 8 }, function(c, sdir)
      h.write(sdir .. "/bigmod.lua", "local M = {}\nM.pad = [[" .. string.rep("x", 2500000) ..
        "]]\nfunction M.n() return #M.pad end\nreturn M\n")
      h.write(sdir .. "/job.lua", [[
local flow = require("flow")
local big = require("bigmod")
local env = flow.env{ parallelism = 2 }
env:from_collection({ 1, 2, 3 }):map(function(x) return x + big.n() end):write_as_text(arg[1])
env:execute("big module")
]])
      local runs = {}
      for k = 1, 3 do
        runs[k] = ("(timeout 120 %s run --jobmanager %s %s %s > %s 2>&1; echo $? > %s) &"):format(
          h.quote(h.bin), c.address, h.quote(sdir .. "/job.lua"), h.quote(sdir .. "/out" .. k),
          h.quote(sdir .. "/log" .. k), h.quote(sdir .. "/exit" .. k))
      end
      os.execute(table.concat(runs, " "))
      for k = 1, 3 do
        local code = wait_for(function() return (h.read(sdir .. "/exit" .. k) or ""):match("%d+") end, 120, "run " .. k)
        assert.are.equal("0", code, (h.read(sdir .. "/log" .. k) or "") .. c:logs())
        assert.are.same({ "2500001", "2500002", "2500003" }, part_lines(sdir .. "/out" .. k))
      end
    end)
  end)
end)

describe("cluster backpressure", function()
  it("a fast source feeding a slow consumer on another taskmanager: bounded memory (credits)", function()
    hc.with({ n = 2, slots = 1 }, function(c)
      -- slot 0: the source and sink subtask 0; slot 1 (the other taskmanager): sink subtask 1
      local id = submit_detached(c, [[
local flow = require("flow")
local env = flow.env{ parallelism = 2 }
env:from_sequence(1, 1e12):set_parallelism(1):rebalance()
  :map(function(x) local t = os.clock() + 0.0001 while os.clock() < t do end return x end)
  :add_sink(function() end)
env:execute("backpressure")
]], "backpressure")
      wait_for(function() return c:job_state(id) == "RUNNING" end, 20, "RUNNING")
      local function rss(name)
        local status = h.read("/proc/" .. c:pid(name) .. "/status") or ""
        return tonumber(status:match("VmRSS:%s*(%d+)")) or 0
      end
      local peak = 0
      for _ = 1, 30 do -- 3 s: unbounded buffering would take hundreds of MB by then
        socket.sleep(0.1)
        peak = math.max(peak, rss("taskmanager-1"), rss("taskmanager-2"))
      end
      assert.are.equal("RUNNING", c:job_state(id))
      local limit = os.getenv("FLOWLUA_SANITIZED") == "1" and 400000 or 60000 -- KB
      assert.is_true(peak < limit, "peak RSS " .. peak .. " KB")
      local _, err, code = c:flowlua({ "cancel", id })
      assert.are.equal(0, code, err)
      wait_for(function() return c:job_state(id) == "CANCELED" end, 20, "CANCELED")
    end)
  end)
end)

describe("cluster: a lost jobmanager", function()
  it("taskmanagers cancel its tasks and register with the restarted jobmanager", function()
    local jm2
    hc.with({ n = 2, slots = 2 }, function(c, dir)
      local id = submit_detached(c, ENDLESS, "orphaned")
      wait_for(function() return c:job_state(id) == "RUNNING" end, 20, "RUNNING")
      assert.is_true(succeeds("kill -9 " .. c:pid("jobmanager")))
      wait_for(function()
        return c:log("taskmanager-1"):find("registering again", 1, true)
          and c:log("taskmanager-2"):find("registering again", 1, true)
      end, 20, "the taskmanagers to cancel the orphaned tasks")
      jm2 = sh(("%s jobmanager --bind %s --rest 127.0.0.1:%d > %s 2>&1 & echo $!"):format(
        h.quote(h.bin), c.address, c.rest, h.quote(dir .. "/jm2.log"))):match("%d+")
      wait_for(function()
        local body, status = c:curl("/overview")
        return status == 200 and cjson.decode(body).taskmanagers == 2
      end, 30, "both taskmanagers registered again")
      local out_dir = dir .. "/after"
      local _, err, code = c:flowlua({ "run", h.source_dir .. "/examples/wordcount.lua", "--parallelism", "4",
        "--output", out_dir }, { timeout = 60 })
      assert.are.equal(0, code, err .. c:logs() .. (h.read(dir .. "/jm2.log") or ""))
      assert.truthy(#part_lines(out_dir) > 100)
      os.execute("kill " .. jm2)
      jm2 = nil
    end)
    if jm2 then os.execute("kill " .. jm2 .. " 2>/dev/null") end
  end)
end)

describe("cluster heartbeats", function()
  it("a taskmanager that stops answering is lost after heartbeat.timeout", function()
    hc.with({ n = 2, slots = 1, extra = "--set heartbeat.interval=100ms --set heartbeat.timeout=1s" }, function(c)
      wait_for(function() return c:json("/overview").taskmanagers == 2 end, 20, "two taskmanagers")
      local pid = c:pid("taskmanager-1")
      assert.is_true(succeeds("kill -STOP " .. pid)) -- alive, connected, silent
      wait_for(function() return c:json("/overview").taskmanagers == 1 end, 20, "the silent one lost")
      assert.truthy(c:log("jobmanager"):find("no heartbeat for 1000 ms", 1, true), c:logs())
      os.execute("kill -CONT " .. pid)
    end)
  end)
end)

describe("cluster security", function()
  it("refuses to bind beyond loopback without a cluster secret", function()
    local _, err, code = h.run({ "jobmanager", "--bind", "0.0.0.0:0", "--rest", "off" }, { timeout = 10 })
    assert.are.equal(1, code)
    assert.truthy(err:find("cluster secret", 1, true), err)
    local _, err2, code2 = h.run({ "jobmanager", "--bind", "127.0.0.1:0", "--rest", "0.0.0.0:0" }, { timeout = 10 })
    assert.are.equal(1, code2)
    assert.truthy(err2:find("cluster secret", 1, true), err2)
  end)

  it("taskmanagers and clients must prove the secret (challenge-response)", function()
    local dir = tmpdir()
    local secret = h.write(dir .. "/secret", "correct horse battery staple 42\n")
    os.execute("chmod 600 " .. h.quote(secret))
    hc.with({ n = 1, slots = 2, secret_file = secret }, function(c)
      -- the taskmanager with the secret registered
      wait_for(function() return c:json("/overview").taskmanagers == 1 end, 20, "the taskmanager")
      -- a taskmanager without it is refused with a clear message
      local _, err, code = h.run({ "taskmanager", "--jobmanager", c.address }, { timeout = 20 })
      assert.are.equal(1, code)
      assert.truthy(err:find("secret", 1, true), err)
      -- a client without it cannot submit or list
      local _, err2, code2 = h.run({ "list", "--jobmanager", c.address }, { timeout = 20 })
      assert.are.equal(1, code2)
      assert.truthy(err2:find("secret", 1, true), err2)
      -- a wrong secret fails, the right one works
      local wrong = h.write(dir .. "/wrong", "the wrong secret, quite long\n")
      os.execute("chmod 600 " .. h.quote(wrong))
      local _, err3, code3 = h.run({ "list", "--jobmanager", c.address, "--secret-file", wrong }, { timeout = 20 })
      assert.are.equal(1, code3)
      assert.truthy(err3:find("authentication failed", 1, true), err3)
      local out_dir = dir .. "/out"
      local _, err4, code4 = h.run({ "run", "--jobmanager", c.address, "--secret-file", secret,
        h.source_dir .. "/examples/wordcount.lua", "--output", out_dir }, { timeout = 60 })
      assert.are.equal(0, code4, err4 .. c:logs())
      assert.truthy(#part_lines(out_dir) > 100)
      -- REST: reads are open, a submission must be signed
      local body, status = c:curl("/jobs", "POST", "x")
      assert.are.equal(401, status, body)
      local rest = "127.0.0.1:" .. c.rest
      local _, err5, code5 = h.run({ "run", "--rest", rest, h.source_dir .. "/examples/wordcount.lua",
        "--output", dir .. "/rest-unsigned" }, { timeout = 60 })
      assert.are.equal(1, code5)
      assert.truthy(err5:find("authentication required", 1, true), err5)
      local _, err6, code6 = h.run({ "run", "--rest", rest, "--secret-file", secret,
        h.source_dir .. "/examples/wordcount.lua", "--output", dir .. "/rest-signed" }, { timeout = 60 })
      assert.are.equal(0, code6, err6 .. c:logs())
      assert.are.same(part_lines(out_dir), part_lines(dir .. "/rest-signed"))
    end)
    os.execute("rm -rf " .. h.quote(dir))
  end)
end)

-- Optional: taskmanagers in their own network namespaces (separate "hosts"
-- on a bridge), the jobmanager bound to the bridge address, which needs the
-- cluster secret. Pending where `ip netns` is not permitted.
describe("cluster across network namespaces", function()
  it("runs WordCount p4 with taskmanagers in two namespaces", function()
    if not have_conformance then return pending("no conformance data") end
    local tag = tostring(math.random(1000, 9999)) .. tostring(os.time() % 1000)
    local br, ns = "flbr" .. tag, { "fla" .. tag, "flb" .. tag }
    local net = "10.213." .. (tonumber(tag) % 200 + 20)
    local setup = {
      "ip link add " .. br .. " type bridge", "ip addr add " .. net .. ".1/24 dev " .. br, "ip link set " .. br .. " up" }
    for i, n in ipairs(ns) do
      local v = "v" .. tag .. i
      for _, cmd in ipairs {
        "ip netns add " .. n, "ip link add " .. v .. " type veth peer name " .. v .. "p",
        "ip link set " .. v .. "p netns " .. n, "ip link set " .. v .. " master " .. br, "ip link set " .. v .. " up",
        "ip netns exec " .. n .. " ip addr add " .. net .. "." .. (i + 1) .. "/24 dev " .. v .. "p",
        "ip netns exec " .. n .. " ip link set " .. v .. "p up", "ip netns exec " .. n .. " ip link set lo up" } do
        setup[#setup + 1] = cmd
      end
    end
    local function teardown_net()
      for _, n in ipairs(ns) do os.execute("ip netns del " .. n .. " 2>/dev/null") end
      os.execute("ip link del " .. br .. " 2>/dev/null")
    end
    for _, cmd in ipairs(setup) do
      if not succeeds(cmd .. " 2>/dev/null") then
        teardown_net()
        return pending("network namespaces are not available here (" .. cmd .. ")")
      end
    end
    local dir = tmpdir()
    local pids = {}
    local ok, e = pcall(function()
      local secret = h.write(dir .. "/secret", "a cluster secret for namespaces\n")
      os.execute("chmod 600 " .. h.quote(secret))
      local function spawn(prefix, args, log)
        local pid = sh(("%s %s %s > %s 2>&1 & echo $!"):format(prefix, h.quote(h.bin), args, h.quote(log)))
        pids[#pids + 1] = pid:match("%d+")
      end
      spawn("", ("jobmanager --bind %s.1:0 --rest 127.0.0.1:0 --secret-file %s --port-file %s"):format(
        net, h.quote(secret), h.quote(dir .. "/ports")), dir .. "/jm.log")
      local ports = wait_for(function() return h.read(dir .. "/ports") end, 10, "the jobmanager")
      local rpc, rest = ports:match("(%d+)%s+(%d+)")
      local address = net .. ".1:" .. rpc
      for i, n in ipairs(ns) do
        spawn("ip netns exec " .. n, ("taskmanager --jobmanager %s --bind %s.%d --slots 2 --secret-file %s"):format(
          address, net, i + 1, h.quote(secret)), dir .. "/tm" .. i .. ".log")
      end
      wait_for(function()
        local o = sh(("curl -s -m 5 http://127.0.0.1:%s/overview"):format(rest))
        return o:find('"taskmanagers":2', 1, true)
      end, 20, "two taskmanagers")
      local out_dir = dir .. "/out"
      local _, err, code = h.run({ "run", "--jobmanager", address, "--secret-file", secret,
        h.source_dir .. "/examples/wordcount.lua", "--input", conformance .. "/wordcount_text.txt",
        "--parallelism", "4", "--output", out_dir }, { timeout = 120 })
      assert.are.equal(0, code, err .. sh("tail -n 20 " .. h.quote(dir) .. "/*.log"))
      assert.are.same(h.file_lines(conformance .. "/wordcount_expected_tuples.txt"), part_lines(out_dir))
      -- the taskmanagers talked to each other over the bridge
      local tms = cjson.decode(sh(("curl -s -m 5 http://127.0.0.1:%s/taskmanagers"):format(rest))).taskmanagers
      local addrs = {}
      for _, t in ipairs(tms) do addrs[#addrs + 1] = t.dataAddress end
      table.sort(addrs)
      assert.truthy(addrs[1]:find(net .. ".2:", 1, true) and addrs[2]:find(net .. ".3:", 1, true),
        table.concat(addrs, " "))
    end)
    for i = #pids, 1, -1 do os.execute("kill " .. pids[i] .. " 2>/dev/null") end
    socket.sleep(0.3)
    teardown_net()
    os.execute("rm -rf " .. h.quote(dir))
    assert(ok, e)
  end)
end)

describe("cluster mode's Prometheus reporters", function()
  it("has every process serve its own scope: the jobmanager its jobs and the cluster, each taskmanager its tasks", function()
    hc.with({ extra = "--set metrics.reporter.prom.port=0" }, function(c)
      local function prom_port(name)
        return wait_for(function()
          return tonumber(c:log(name):match("Prometheus reporter on http://127%.0%.0%.1:(%d+)/metrics"))
        end, 20, name .. "'s reporter")
      end
      local function scrape(port)
        return sh(("curl -s --noproxy '*' http://127.0.0.1:%d/metrics"):format(port))
      end
      local id = submit_detached(c, ENDLESS, "prom-endless")
      wait_for(function() return c:job_state(id) == "RUNNING" end, 20, "RUNNING")
      local jm = scrape(prom_port("jobmanager"))
      assert.truthy(jm:find("flink_jobmanager_numRegisteredTaskManagers 2.0", 1, true), jm)
      assert.truthy(jm:find('flink_jobmanager_job_numRestarts{job_id="' .. id .. '",job_name="prom-endless"} 0.0', 1,
        true), jm)
      assert.is_nil(jm:find("flink_taskmanager_", 1, true)) -- not the jobmanager's scope
      -- the source runs on one of the taskmanagers: its numRecordsOut grows
      local found = wait_for(function()
        for i = 1, 2 do
          local t = scrape(prom_port("taskmanager-" .. i))
          local v = t:match('flink_taskmanager_job_task_operator_numRecordsOut{[^}]*operator_name="Source: ticks"[^}]*} (%S+)')
          if v and tonumber(v) > 0 then return t end
        end
      end, 20, "a taskmanager's ticks numRecordsOut > 0")
      assert.truthy(found:find('job_name="prom-endless"', 1, true))
      assert.truthy(found:find("# TYPE flink_taskmanager_job_task_busyTimeMsPerSecond gauge", 1, true))
      assert.is_nil(found:find("flink_jobmanager_", 1, true))
      c:flowlua({ "cancel", id })
    end)
  end)
end)
