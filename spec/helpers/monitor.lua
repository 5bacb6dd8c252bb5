-- A local job served over REST (`flowlua --set rest.port=0 [--web] SCRIPT`)
-- for the specs: starts it in the background, finds the port it printed,
-- talks to it with curl, and stops it (SIGINT, then SIGKILL).
local h = require("helpers.flowlua")
local hc = require("helpers.cluster")
local socket = require("socket")

local M = {}

local Job = {}
Job.__index = Job

--- Polls fn every 50 ms until it returns a truthy value (or timeout s).
M.wait_for = hc.wait_for

--- Starts `flowlua --set rest.port=0 [opts.flags...] SCRIPT ARGS...` where
--- SCRIPT holds `source`; returns the job once its REST port is known.
function M.start(source, args, opts)
  opts = opts or {}
  local self = setmetatable({}, Job)
  self.script = h.write(h.tmpname(".lua"), source)
  self.err = h.tmpname(".err")
  self.out = h.tmpname(".out")
  local parts = { h.quote(h.bin), "--set", "rest.port=0" }
  for _, f in ipairs(opts.flags or {}) do parts[#parts + 1] = h.quote(f) end
  parts[#parts + 1] = h.quote(self.script)
  for _, a in ipairs(args or {}) do parts[#parts + 1] = h.quote(a) end
  local cmd = table.concat(parts, " ") .. " </dev/null >" .. h.quote(self.out) .. " 2>" .. h.quote(self.err) ..
    " & echo $!"
  self.pid = tonumber(h.sh(cmd):match("%d+"))
  self.port = M.wait_for(function()
    local e = h.read(self.err) or ""
    return tonumber(e:match("http://127%.0%.0%.1:(%d+)/"))
  end, 20, "the REST URL on stderr")
  return self
end

function Job:alive() return os.execute("kill -0 " .. self.pid .. " 2>/dev/null") == 0 end

function Job:stderr() return h.read(self.err) or "" end

--- HTTP with curl: body, status code.
function Job:curl(path, method, data) return hc.curl(self.port, path, method, data) end

function Job:json(path) return hc.json(self.port, path) end

--- The id of the only (or first) job.
function Job:job_id()
  return M.wait_for(function()
    local jobs = self:json("/jobs").jobs
    return jobs[1] and jobs[1].id
  end, 20, "a job")
end

--- Waits for the process to exit (s seconds); its exit code, or nil.
function Job:wait_exit(s)
  local code
  M.wait_for(function() return not self:alive() end, s or 60, "flowlua to exit")
  return code
end

--- SIGINT (then SIGKILL after 5 s), and removes the files.
function Job:stop()
  if self:alive() then
    os.execute("kill -INT " .. self.pid .. " 2>/dev/null")
    local deadline = socket.gettime() + 5
    while self:alive() and socket.gettime() < deadline do socket.sleep(0.05) end
    if self:alive() then os.execute("kill -KILL " .. self.pid .. " 2>/dev/null") end
  end
  os.remove(self.script)
  os.remove(self.out)
  os.remove(self.err)
end

return M
