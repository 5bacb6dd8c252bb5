--- A submitted job (Flink's JobClient): its status, cancel, savepoints, and
--- its end: the JobExecutionResult with the accumulators summed over the
--- tasks, the file sinks' final commit, and the environment's job listeners
--- told.
local core = require("flow.core")
local json = require("flow.json")

local M = {}

--- Sums the per-task accumulator tables (name -> number) of a result.
local function sum_accumulators(blobs)
  local acc = {}
  for _, blob in ipairs(blobs or {}) do
    for name, v in pairs(json.decode(blob)) do acc[name] = (acc[name] or 0) + v end
  end
  return acc
end

--- The JobExecutionResult a script sees.
local function job_result(r, job_name)
  return {
    job_id = r.job_id,
    job_name = job_name,
    net_runtime_ms = r.net_runtime_ms,
    restarts = r.restarts,
    accumulators = sum_accumulators(r.accumulators),
    collected = r.collected,
    status = r.status,
  }
end

--- Calls `event` (on_job_submitted, on_job_executed) of the environment's
--- job listeners.
function M.notify(env, event, ...)
  for _, l in ipairs(env.listeners) do
    local f = l[event]
    if f then f(l, ...) end
  end
end

--- Commits what file sinks left pending once the whole job finished (with
--- checkpoints the last part files wait for this: Flink's final checkpoint):
--- ".part-<subtask>-<n>.pending" becomes "part-<subtask>-<n>". A directory
--- that cannot be listed has nothing to commit.
local function commit_file_sinks(dirs)
  for _, dir in ipairs(dirs) do
    for _, f in ipairs(core.list_dir(dir) or {}) do
      local final = f:match("^%.(part%-%d+%-%d+)%.pending$")
      if final then os.rename(dir .. "/" .. f, dir .. "/" .. final) end
    end
  end
end

--- A submitted job (Flink's JobClient), from Env:execute_async.
---@class flow.JobClient
---@field job_id string
---@field job_name string
local JobClient = {}
JobClient.__index = JobClient

--- The client of a job submitted by env: core_client is flow.core's,
--- collect_limit the limit of its execute_and_collect (if any), file_sinks
--- the directories of its file sinks.
function M.new(core_client, env, job_name, collect_limit, file_sinks)
  return setmetatable({ _core = core_client, _env = env, job_name = job_name,
    job_id = core_client:job_id(), _collect_limit = collect_limit, _file_sinks = file_sinks }, JobClient)
end

--- JobStatus name: "RUNNING", "FINISHED", ...
---@return string status
--- Example:
---   while client:status() == "RUNNING" do os.execute("sleep 1") end
function JobClient:status()
  if self._status then return self._status end
  return self._core:status()
end
--- Records the job's sources read so far (nil when not known yet, or once
--- the job ended): the progress counters, live while the job runs.
---@return number|nil records
--- Example:
---   local client = env:execute_async()
---   print(client:records_read())
function JobClient:records_read()
  if self._status then return nil end
  return self._core:records_read()
end

--- Cancels the job (nothing once it ended); wait() then raises "was canceled".
---@return nil
--- Example:
---   local client = env:execute_async()
---   client:cancel()
---   pcall(client.wait, client)
function JobClient:cancel()
  if not self._status then self._core:cancel() end
end

--- Takes a savepoint of the running job into dir; returns its path.
--- Raises an error when the job has ended or the savepoint failed.
---@param dir string the directory for the savepoint
---@return string path the savepoint's directory
--- Example:
---   local path = client:trigger_savepoint("/tmp/savepoints")
function JobClient:trigger_savepoint(dir)
  if self._status then error("the job has ended", 2) end
  local path, err = self._core:savepoint(dir, false)
  if not path then error("savepoint failed: " .. tostring(err), 2) end
  return path
end

--- Takes a savepoint, then cancels the job (Flink's stop-with-savepoint);
--- returns the savepoint's path once the job has ended.
---@param dir string the directory for the savepoint
---@return string path the savepoint's directory
--- Example:
---   local path = client:stop_with_savepoint("/tmp/savepoints")
---   env2:set_restore_path(path)
function JobClient:stop_with_savepoint(dir)
  if self._status then error("the job has ended", 2) end
  local path, err = self._core:savepoint(dir, true)
  if not path then error("stop_with_savepoint failed: " .. tostring(err), 2) end
  self:wait() -- FINISHED, with what the savepoint covers committed
  return path
end

--- Waits for the job; returns its JobExecutionResult, or raises the job's
--- root cause. With timeout_ms: nil, "timeout" if it is still running.
---@param timeout_ms? integer wait at most this long
---@return flow.JobExecutionResult|nil result
---@return string? err "timeout" when the job is still running
--- Example:
---   local client = env:execute_async("job")
---   local r, err = client:wait(1000)
---   if err == "timeout" then client:cancel() end
function JobClient:wait(timeout_ms)
  if self._result then return self._result end
  local r, err, partial = self._core:wait(timeout_ms)
  if r == nil and err == "timeout" and partial == nil then return nil, "timeout" end
  self._status = (r and r.status) or (partial and partial.status) or "FAILED"
  if r and r.status == "FINISHED" then commit_file_sinks(self._file_sinks or {}) end
  self._core:close() -- every thread of the job is joined here
  local name = self.job_name
  if r == nil and self._collect_limit and partial and partial.status == "CANCELED"
      and #partial.collected > 0 then
    r = partial -- the collect limit was reached and the job canceled for it, as Flink
  end
  if r == nil then
    local msg = "job '" .. name .. "' " .. (partial and partial.status == "CANCELED" and "was canceled" or "failed") ..
      ": " .. tostring(err)
    self._error = msg
    M.notify(self._env, "on_job_executed", nil, msg)
    -- the message already holds the root cause with its task's traceback
    -- (or is a cancel, no error at all): the script's traceback is not added
    -- to it (src/lua/state.c)
    debug.getregistry().FLOW_COMPLETE_ERROR = msg
    error(msg, 0)
  end
  self._result = job_result(r, name)
  M.notify(self._env, "on_job_executed", self._result, nil)
  return self._result
end

return M
