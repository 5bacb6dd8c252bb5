-- REST in local mode (`flowlua --set rest.port=0`, `--web`): Flink's routes
-- and shapes over a job of this process, with its metrics (issue 16), and
-- the Prometheus reporter scraped by a real Prometheus server.
local h = require("helpers.flowlua")
local mon = require("helpers.monitor")
local cjson = require("cjson")
local socket = require("socket")

-- a keyed map that spins 50 µs per record: it cannot keep up, so its
-- upstream waits for credit (backpressure)
local SLOW = [[
local flow = require("flow")
local env = flow.env{ parallelism = 2 }
env:set_runtime_mode("streaming")
if arg[2] == "checkpoints" then env:enable_checkpointing(200) end
env:from_sequence(1, tonumber(arg[1])):map(function(x) return x * 3 end):name("triple")
  :filter(function(x) return x % 2 == 0 end):name("evens")
  :key_by(function(x) return x % 10 end)
  :map(function(x) local t = os.clock() + 0.00005 while os.clock() < t do end return x end):name("slow")
  :add_sink(function() end):name("drop")
env:execute("slow job")
]]

local function vertex_named(details, pattern)
  for _, v in ipairs(details.vertices) do if v.name:find(pattern) then return v end end
  error("no vertex named like " .. pattern)
end

local function agg(job, jid, vid, names)
  local out = {}
  for _, m in ipairs(job:json(("/jobs/%s/vertices/%s/subtasks/metrics?get=%s"):format(jid, vid, names))) do
    out[m.id] = m
  end
  return out
end

describe("REST in local mode", function()
  it("shows a running job's backpressure where it is slow, with Flink's shapes", function()
    local job = mon.start(SLOW, { "2000000" })
    local ok, err = pcall(function()
      local jid = job:job_id()
      assert.are.equal(32, #jid)
      mon.wait_for(function() return job:json("/jobs/" .. jid).state == "RUNNING" end, 20, "RUNNING")
      local d = job:json("/jobs/" .. jid)
      local up, slow = vertex_named(d, "^Source"), vertex_named(d, "slow")
      assert.truthy(up.id:match("^%x+$") and #up.id == 32, up.id)
      -- the upstream waits for credit most of the time: backpressure "high";
      -- the slow vertex is busy
      mon.wait_for(function()
        return job:json(("/jobs/%s/vertices/%s/backpressure"):format(jid, up.id))["backpressure-level"] == "high"
      end, 30, "the source's backpressure to be high")
      local bp = job:json(("/jobs/%s/vertices/%s/backpressure"):format(jid, up.id))
      assert.are.equal(up.parallelism, #bp.subtasks)
      for _, s in ipairs(bp.subtasks) do assert.truthy(s.ratio > 0.5, cjson.encode(s)) end
      mon.wait_for(function()
        local m = agg(job, jid, slow.id, "busyTimeMsPerSecond")
        return m.busyTimeMsPerSecond and m.busyTimeMsPerSecond.max > 500
      end, 30, "the slow vertex to be busy")
      local sb = job:json(("/jobs/%s/vertices/%s/backpressure"):format(jid, slow.id))
      assert.are.equal("ok", sb["backpressure-level"])
      -- metric ids carry the subtask index, operators' their name
      local ids = {}
      for _, m in ipairs(job:json(("/jobs/%s/vertices/%s/metrics"):format(jid, up.id))) do ids[m.id] = true end
      for _, want in ipairs { "0.numRecordsOut", "1.numRecordsOutPerSecond", "0.busyTimeMsPerSecond",
          "0.backPressuredTimeMsPerSecond", "0.idleTimeMsPerSecond", "0.isBackPressured", "0.numBytesOut",
          "0.currentOutputWatermark", "0.triple.numRecordsIn", "0.evens.numRecordsOut" } do
        assert.truthy(ids[want], want)
      end
      local got = job:json(("/jobs/%s/vertices/%s/metrics?get=0.isBackPressured,1.numRecordsOut"):format(jid, up.id))
      assert.are.equal(2, #got)
      for _, m in ipairs(got) do assert.truthy(tonumber(m.value), m.id) end
      local rates = agg(job, jid, up.id, "numRecordsOutPerSecond,numBytesOutPerSecond")
      assert.truthy(rates.numRecordsOutPerSecond.sum > 0)
      for _, k in ipairs { "min", "max", "avg", "sum", "skew" } do
        assert.are.equal("number", type(rates.numRecordsOutPerSecond[k]), k)
      end
      -- Flink's IOMetricsInfo names, no total-bytes; read-records is network input (0 for a source)
      local m = up.metrics
      assert.are.equal(0, m["read-records"])
      assert.is_nil(m["total-bytes"])
      for _, k in ipairs { "read-bytes", "write-bytes", "read-records", "write-records",
          "accumulated-backpressured-time", "accumulated-idle-time", "accumulated-busy-time" } do
        assert.are.equal("number", type(m[k]), k)
      end
      assert.are.equal(false, m["write-records-complete"])
      -- the overview's task counts under lowercase state keys; watermarks; a subtask
      local ov = job:json("/jobs/overview").jobs[1]
      assert.are.equal(4, ov.tasks.running)
      local wms = job:json(("/jobs/%s/vertices/%s/watermarks"):format(jid, slow.id))
      assert.are.equal(slow.parallelism, #wms)
      assert.are.equal("0.currentInputWatermark", wms[1].id)
      local st = job:json(("/jobs/%s/vertices/%s/subtasks/1"):format(jid, slow.id))
      assert.are.equal(1, st.subtask)
      assert.are.equal("RUNNING", st.status)
      assert.truthy(st["start-time"] > 0)
      assert.are.equal("number", type(st.metrics["read-records"]))
      local sv = vertex_named(job:json("/jobs/" .. jid), "slow")
      assert.truthy(sv.metrics["read-records"] > 0 and sv.metrics["read-bytes"] > 0, cjson.encode(sv.metrics))
      -- the local taskmanager, with its hardware
      local tms = job:json("/taskmanagers").taskmanagers
      assert.are.equal(1, #tms)
      local tm = job:json("/taskmanagers/" .. tms[1].id)
      assert.truthy(tm.hardware.cpuCores >= 1 and tm.hardware.physicalMemory > 0)
      assert.truthy(tm.metrics.rss > 0 and tm.metrics.threads >= 4)
      local cm = {}
      for _, x in ipairs(job:json("/jobmanager/metrics?get=numRunningJobs,taskSlotsTotal")) do cm[x.id] = x.value end
      assert.are.same({ numRunningJobs = "1", taskSlotsTotal = "2" }, cm)
      -- bad ids: 400 for what does not parse, 404 for what is unknown, Flink's {"errors":[...]}
      for path, want in pairs {
        ["/jobs/nope"] = 400, ["/jobs/" .. string.rep("0", 32)] = 404,
        ["/jobs/" .. jid .. "/vertices/zz"] = 400, ["/jobs/" .. jid .. "/vertices/" .. string.rep("a", 32)] = 404,
        ["/jobs/" .. jid .. "/vertices/" .. slow.id .. "/subtasks/7"] = 404, ["/nothing"] = 404,
      } do
        local body, code = job:curl(path)
        assert.are.equal(want, code, path)
        assert.truthy(cjson.decode(body).errors[1], path)
      end
      -- cancel as Flink: PATCH ?mode=cancel
      local _, code = job:curl("/jobs/" .. jid .. "?mode=cancel", "PATCH")
      assert.are.equal(202, code)
      mon.wait_for(function() return not job:alive() end, 30, "the canceled job's process to exit")
    end)
    job:stop()
    assert(ok, err)
  end)

  it("keeps a finished job with --web: its counts equal its records", function()
    local job = mon.start([[
local flow = require("flow")
local env = flow.env{ parallelism = 2 }
env:set_runtime_mode("streaming") -- (the reduce emits a running result per record)
env:from_sequence(1, 10000):filter(function(x) return x % 4 == 0 end):name("quarter")
  :flat_map(function(x, out) out:collect(x) out:collect(-x) end):name("twice")
  :key_by(function(x) return x % 7 end)
  :reduce(function(a, b) return a + b end):name("total")
  :map(function(x) flow.get_runtime_context():counter("seen"):add(1) return x end):name("ident")
  :add_sink(function() end):name("drop")
env:execute("counted")
]], {}, { flags = { "--web" } })
    local ok, err = pcall(function()
      mon.wait_for(function() return job:stderr():find("stays at", 1, true) end, 60, "the job to end")
      assert.truthy(job:alive(), "--web keeps serving after the job")
      local jid = job:job_id()
      local d = job:json("/jobs/" .. jid)
      assert.are.equal("FINISHED", d.state)
      assert.truthy(d["end-time"] >= d["start-time"])
      local up, down = d.vertices[1], d.vertices[2]
      assert.are.equal("FINISHED", up.status)
      assert.are.equal(5000, up.metrics["write-records"]) -- 2500 kept, each twice
      assert.are.equal(5000, down.metrics["read-records"])
      assert.are.equal(up.metrics["write-bytes"], down.metrics["read-bytes"])
      assert.are.equal(true, down.metrics["read-records-complete"])
      local a = agg(job, jid, up.id, "quarter.numRecordsIn,quarter.numRecordsOut,twice.numRecordsIn," ..
        "twice.numRecordsOut,numRecordsIn,numRecordsOut")
      assert.are.equal(10000, a["quarter.numRecordsIn"].sum)
      assert.are.equal(2500, a["quarter.numRecordsOut"].sum)
      assert.are.equal(2500, a["twice.numRecordsIn"].sum)
      assert.are.equal(5000, a["twice.numRecordsOut"].sum)
      assert.are.equal(0, a.numRecordsIn.sum)
      assert.are.equal(5000, a.numRecordsOut.sum)
      local b = agg(job, jid, down.id, "total.numRecordsIn,total.numRecordsOut,ident.numRecordsIn," ..
        "ident.numRecordsOut,drop.numRecordsIn,numRecordsIn")
      assert.are.equal(5000, b["total.numRecordsIn"].sum)
      assert.are.equal(5000, b["total.numRecordsOut"].sum) -- a running result per record
      assert.are.equal(5000, b["ident.numRecordsIn"].sum)
      assert.are.equal(5000, b["ident.numRecordsOut"].sum)
      assert.are.equal(5000, b["drop.numRecordsIn"].sum)
      assert.are.equal(5000, b.numRecordsIn.sum)
      -- the accumulators, summed over the subtasks (Flink's user-task-accumulators)
      local acc = job:json("/jobs/" .. jid .. "/accumulators")
      assert.are.same({ { name = "seen", type = "LongCounter", value = "5000" } }, acc["user-task-accumulators"])
      -- a finished subtask does nothing per second any more
      local r = agg(job, jid, down.id, "numRecordsInPerSecond")
      assert.are.equal(0, r.numRecordsInPerSecond.max)
      -- Ctrl-C ends --web, exit code 0
      os.execute("kill -INT " .. job.pid)
      mon.wait_for(function() return not job:alive() end, 10, "flowlua to exit on SIGINT")
    end)
    job:stop()
    assert(ok, err)
  end)

  it("shows the checkpoint history of a checkpointed job while it runs", function()
    local job = mon.start(SLOW, { "2000000", "checkpoints" })
    local ok, err = pcall(function()
      local jid = job:job_id()
      local c = mon.wait_for(function()
        local x = job:json("/jobs/" .. jid .. "/checkpoints")
        return x.counts.completed >= 2 and x
      end, 40, "two completed checkpoints")
      assert.truthy(#c.history >= 2)
      local h1 = c.history[1]
      assert.truthy(h1.id > c.history[2].id, "newest first")
      for _, k in ipairs { "id", "status", "trigger_timestamp", "state_size", "end_to_end_duration",
          "num_subtasks", "num_acknowledged_subtasks" } do
        assert.truthy(h1[k] ~= nil, k)
      end
      local done = c.latest.completed
      assert.truthy(done ~= cjson.null and done.status == "COMPLETED" and done.state_size > 0, cjson.encode(done))
      assert.are.equal(done.num_subtasks, done.num_acknowledged_subtasks)
      for _, q in ipairs { "state_size", "end_to_end_duration", "checkpointed_size" } do
        for _, k in ipairs { "min", "max", "avg", "p50", "p90", "p95", "p99", "p999" } do
          assert.are.equal("number", type(c.summary[q][k]), q .. "." .. k)
        end
        assert.truthy(c.summary[q].max >= c.summary[q].min)
      end
      local jm = {}
      for _, x in ipairs(job:json("/jobs/" .. jid .. "/metrics?get=lastCheckpointSize,numberOfCompletedCheckpoints," ..
          "lastCompletedCheckpointId,lastCheckpointDuration")) do jm[x.id] = tonumber(x.value) end
      assert.truthy(jm.lastCheckpointSize > 0 and jm.numberOfCompletedCheckpoints >= 2)
      assert.truthy(jm.lastCompletedCheckpointId >= 2 and jm.lastCheckpointDuration >= 0)
      local conf = job:json("/jobs/" .. jid .. "/config")
      assert.are.equal(200, conf["execution-config"]["user-config"]["execution.checkpointing.interval"])
    end)
    job:stop()
    assert(ok, err)
  end)

  it("binds to loopback unless a cluster secret is given; without rest.port nothing is served", function()
    local _, err, code = h.run({ "--set", "rest.port=0", "--set", "rest.address=0.0.0.0", "-e", "print(1)" })
    assert.are.equal(1, code)
    assert.truthy(err:find("would expose the job", 1, true), err)
    local out, err2, code2 = h.run({ "-e", "print(1)" })
    assert.are.equal(0, code2)
    assert.are.equal("1\n", out)
    assert.is_nil(err2:find("REST", 1, true), err2)
  end)

  it("is scraped by a real Prometheus: task metrics with Flink's names and labels", function()
    if os.execute("command -v prometheus >/dev/null 2>&1") ~= 0 then
      return pending("prometheus is not installed")
    end
    local job = mon.start(SLOW, { "4000000" }, { flags = { "--set", "metrics.reporter.prom.port=0" } })
    local dir = h.tmpname(".prom")
    local prom_pid
    local ok, err = pcall(function()
      local pport = mon.wait_for(function()
        return tonumber(job:stderr():match("Prometheus metrics at http://127%.0%.0%.1:(%d+)/metrics"))
      end, 20, "the reporter's port")
      -- the reporter's own text first (content type, a task metric)
      local text = h.sh(("curl -s --noproxy '*' http://127.0.0.1:%d/metrics"):format(pport))
      assert.truthy(text:find("# TYPE flink_taskmanager_job_task_numRecordsIn gauge", 1, true), text:sub(1, 400))
      os.execute("mkdir -p " .. h.quote(dir))
      h.write(dir .. "/prometheus.yml", ([[
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: flowlua
    static_configs:
      - targets: ['127.0.0.1:%d']
]]):format(pport))
      -- a free port for Prometheus's own HTTP API
      local s = socket.bind("127.0.0.1", 0)
      local _, api = s:getsockname()
      s:close()
      prom_pid = tonumber(h.sh(("prometheus --config.file=%s --storage.tsdb.path=%s --web.listen-address=127.0.0.1:%d " ..
        ">%s 2>&1 & echo $!"):format(h.quote(dir .. "/prometheus.yml"), h.quote(dir .. "/data"), api,
        h.quote(dir .. "/prometheus.log"))):match("%d+"))
      local result = mon.wait_for(function()
        local body = h.sh(("curl -s --noproxy '*' 'http://127.0.0.1:%d/api/v1/query?query=%s'"):format(api,
          "flink_taskmanager_job_task_numRecordsIn"))
        local okj, r = pcall(cjson.decode, body)
        if not okj or r.status ~= "success" then return nil end
        for _, x in ipairs(r.data.result) do
          if tonumber(x.value[2]) > 0 then return x end
        end
      end, 60, "Prometheus to scrape a non-zero numRecordsIn")
      local l = result.metric
      assert.are.equal("slow job", l.job_name)
      assert.truthy(l.task_name:find("slow", 1, true), l.task_name)
      assert.truthy(l.subtask_index == "0" or l.subtask_index == "1", l.subtask_index)
      assert.are.equal(32, #l.job_id)
      assert.are.equal("flowlua", l.job) -- Prometheus's own label: the scrape job
    end)
    if prom_pid then os.execute("kill " .. prom_pid .. " 2>/dev/null; sleep 0.3; kill -9 " .. prom_pid .. " 2>/dev/null") end
    os.execute("rm -rf " .. h.quote(dir))
    job:stop()
    assert(ok, err)
  end)
end)
