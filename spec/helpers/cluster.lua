--- A local standalone cluster for specs: scripts/start-cluster.sh with a
--- temporary directory and ephemeral ports, torn down by stop().
local h = require("helpers.flowlua")
local cjson = require("cjson")
local socket = require("socket")

local M = {}

local sh = h.sh
M.sh = sh

local Cluster = {}
Cluster.__index = Cluster

--- opts: n (taskmanagers, 2), slots (2), extra (flowlua options, e.g.
--- "--set heartbeat.timeout=3s"), secret_file.
function M.start(opts)
  opts = opts or {}
  local dir = h.tmpname(".cluster")
  local cmd = ("FLOWLUA=%s %s/scripts/start-cluster.sh -n %d --slots %d --dir %s --bind 127.0.0.1:0 --rest 127.0.0.1:0 %s %s")
    :format(h.quote(h.bin), h.quote(h.source_dir), opts.n or 2, opts.slots or 2, h.quote(dir),
      opts.secret_file and ("--secret-file " .. h.quote(opts.secret_file)) or "",
      opts.extra and ("-- " .. opts.extra) or "")
  local out = sh(cmd)
  local ports = h.read(dir .. "/ports")
  assert(ports, "the cluster did not start:\n" .. out)
  local rpc, rest = ports:match("(%d+)%s+(%-?%d+)")
  local c = setmetatable({ dir = dir, rpc = tonumber(rpc), rest = tonumber(rest), n = opts.n or 2,
    start_log = out }, Cluster)
  c.address = "127.0.0.1:" .. c.rpc
  return c
end

function Cluster:pid(name) return tonumber((h.read(self.dir .. "/" .. name .. ".pid") or ""):match("%d+")) end

function Cluster:log(name) return h.read(self.dir .. "/log/" .. name .. ".log") or "" end

function Cluster:logs()
  return sh("tail -n 40 " .. h.quote(self.dir) .. "/log/*.log")
end

--- Stops the cluster; raises if a process reported a sanitizer error or a
--- leak on its way out (the ASan build runs this spec too).
function Cluster:stop()
  sh(("%s/scripts/stop-cluster.sh --dir %s"):format(h.quote(h.source_dir), h.quote(self.dir)))
  local bad = sh("grep -l -E 'Sanitizer|runtime error:' " .. h.quote(self.dir) .. "/log/*.log || true")
  local logs = bad ~= "" and sh("cat " .. bad:gsub("\n", " ")) or nil
  os.execute("rm -rf " .. h.quote(self.dir))
  if logs then error("a cluster process reported a sanitizer error:\n" .. logs, 2) end
end

--- Runs fn(cluster, dir) on a fresh cluster and a fresh temporary
--- directory, then stops the cluster and removes the directory, whatever
--- fn did; fn's error is raised after that.
function M.with(opts, fn)
  local c = M.start(opts)
  local dir = h.tmpname(".d")
  os.execute("mkdir -p " .. h.quote(dir))
  local ok, e = pcall(fn, c, dir)
  local stopped, e2 = pcall(c.stop, c)
  os.execute("rm -rf " .. h.quote(dir))
  if not ok then error(e, 0) end
  if not stopped then error(e2, 0) end
end

--- flowlua ARGS against this cluster: `run` gets --jobmanager; others too.
function Cluster:flowlua(args, opts)
  local a = {}
  local cmd = args[1]
  a[1] = cmd
  a[2] = "--jobmanager"
  a[3] = self.address
  for i = 2, #args do a[#a + 1] = args[i] end
  return h.run(a, opts)
end

--- HTTP to 127.0.0.1:port with curl: body, status code.
function M.curl(port, path, method, data)
  local cmd = ("curl -s --noproxy '*' -m 10 -o - -w '\\n%%{http_code}' -X %s %s 'http://127.0.0.1:%d%s'"):format(
    method or "GET", data and ("--data-binary " .. h.quote(data)) or "", port, path)
  local out = sh(cmd)
  local body, code = out:match("^(.*)\n(%d+)$")
  return body or out, tonumber(code)
end

--- GET port's path, which must answer 200: the decoded JSON.
function M.json(port, path)
  local body, code = M.curl(port, path)
  assert(code == 200, ("GET %s -> %s: %s"):format(path, tostring(code), body))
  return cjson.decode(body)
end

--- HTTP to the REST endpoint: body, status code.
function Cluster:curl(path, method, data) return M.curl(self.rest, path, method, data) end

function Cluster:json(path) return M.json(self.rest, path) end

--- Polls fn every 50 ms until it returns a truthy value (or timeout s).
function M.wait_for(fn, timeout, what)
  local deadline = socket.gettime() + (timeout or 20)
  while socket.gettime() < deadline do
    local v = fn()
    if v then return v end
    socket.sleep(0.05)
  end
  error("timed out waiting for " .. (what or "a condition"), 2)
end

function Cluster:job_state(id)
  local body, code = self:curl("/jobs/" .. id)
  if code ~= 200 then return nil end
  return cjson.decode(body).state
end

return M
