--- Checkpoints on the task side: snapshot files, restoring a chain, and
--- the checkpointing of one task (Flink's SubtaskCheckpointCoordinator:
--- snapshot every operator, write the task's state file, send the barrier
--- on, acknowledge). The barrier alignment of tasks with inputs is the
--- input processor's (flow.runtime.input_processor). The JobMaster's
--- coordinator (C) triggers sources and completes checkpoints; see
--- docs/checkpoints.md.
---
--- A state file: one header line `FLOWLUA-STATE <version> <bytes> <crc32>`
--- then `bytes` bytes of string.buffer encoding of
--- { version, vertex, subtask, parallelism, checkpoint, ops = { [uid] = state } }.
local ffi = require("ffi")
local sbuf = require("string.buffer")
local fi = require("flow.ffi")
local keys = require("flow.runtime.keys")

local C = fi.C

local M = {}
M.VERSION = 1

local function read_all(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("*a")
  f:close()
  return s
end

--- Writes a task's snapshot atomically; returns the path.
function M.write_state(dir, vertex, subtask, parallelism, id, ops)
  local payload = sbuf.encode { version = M.VERSION, vertex = vertex, subtask = subtask,
    parallelism = parallelism, checkpoint = id, ops = ops }
  local data = string.format("FLOWLUA-STATE %d %d %u\n", M.VERSION, #payload,
    tonumber(C.flow_crc32(payload, #payload))) .. payload
  local path = string.format("%s/task-%d-%d.state", dir, vertex, subtask)
  local err = ffi.new("char[512]")
  if C.flow_file_write_atomic(path, data, #data, err, 512) ~= 0 then
    error("checkpoint: " .. ffi.string(err), 0)
  end
  return path
end

--- Reads and verifies a state file; errors on any corruption.
function M.read_state(path)
  local s, err = read_all(path)
  if not s then error("checkpoint: cannot read " .. path .. ": " .. tostring(err), 0) end
  local version, n, crc, rest = s:match("^FLOWLUA%-STATE (%d+) (%d+) (%d+)\n()")
  if not version then error("checkpoint: " .. path .. " is not a flowlua state file", 0) end
  if tonumber(version) ~= M.VERSION then
    error("checkpoint: " .. path .. " has version " .. version .. ", this flowlua reads " .. M.VERSION, 0)
  end
  local payload = s:sub(rest)
  if #payload ~= tonumber(n) then error("checkpoint: " .. path .. " is truncated", 0) end
  if tonumber(C.flow_crc32(payload, #payload)) ~= tonumber(crc) then
    error("checkpoint: " .. path .. " is corrupted (checksum mismatch)", 0)
  end
  return sbuf.decode(payload)
end

--- Parses DIR/_metadata (written by the coordinator); DIR may also be a
--- directory of chk-<id> directories, then the newest complete one is used.
function M.read_metadata(dir)
  local text = read_all(dir .. "/_metadata")
  if not text then
    local best, best_id
    for _, name in ipairs(fi.dir_names(dir) or {}) do
      local id = tonumber(name:match("^chk%-(%d+)$"))
      if id and (not best_id or id > best_id) and read_all(dir .. "/" .. name .. "/_metadata") then
        best, best_id = dir .. "/" .. name, id
      end
    end
    if not best then error("checkpoint: no completed checkpoint in " .. dir .. " (no _metadata)", 0) end
    dir = best
    text = read_all(dir .. "/_metadata")
  end
  local body, crc = text:match("^(.*\n)end (%d+)\n$")
  if not body or tonumber(C.flow_crc32(body, #body)) ~= tonumber(crc) then
    error("checkpoint: " .. dir .. "/_metadata is corrupted or truncated", 0)
  end
  local version = tonumber(body:match("^flowlua checkpoint v(%d+)\n"))
  if version ~= M.VERSION then error("checkpoint: unsupported metadata version in " .. dir, 0) end
  local meta = { dir = dir, id = tonumber(body:match("\ncheckpoint (%d+)\n")), tasks = {}, finished = {} }
  -- tasks that had finished when the checkpoint was taken (Flink: finished
  -- on restore): uid#subtask -> parallelism
  for _, s, p, uids in body:gmatch("\nfinished (%d+) (%d+) (%d+) ?([^\n]*)") do
    for u in uids:gmatch("[^,]+") do meta.finished[u .. "#" .. s] = tonumber(p) end
  end
  for v, s, p, file, uids in body:gmatch("\ntask (%d+) (%d+) (%d+) (%S+) ?([^\n]*)") do
    local t = { vertex = tonumber(v), subtask = tonumber(s), parallelism = tonumber(p),
      path = dir .. "/" .. file, uids = {} }
    for u in uids:gmatch("[^,]+") do t.uids[u] = true end
    meta.tasks[#meta.tasks + 1] = t
  end
  return meta
end

--- The states an operator (by uid) restores from: the snapshot of the same
--- subtask when its parallelism is unchanged, else every snapshot of it
--- (keyed state is then filtered by key group). Returns a list of states,
--- and whether the parallelism changed.
function M.states_for(meta, uid, subtask, parallelism, cache)
  local same, all = nil, {}
  for _, t in ipairs(meta.tasks) do
    if t.uids[uid] then
      local st = cache[t.path]
      if st == nil then
        st = M.read_state(t.path)
        cache[t.path] = st
      end
      local s = st.ops[uid]
      if s ~= nil then
        all[#all + 1] = s
        if t.parallelism == parallelism and t.subtask == subtask then same = s end
        all.old_parallelism = t.parallelism
      end
    end
  end
  if #all == 0 then return nil, false end
  if all.old_parallelism == parallelism then
    if same == nil then return nil, false end -- this subtask had no state
    return { same }, false
  end
  return all, true
end

--- Flink's KeyGroupRangeAssignment: the key groups operator index i owns.
M.key_group_range = keys.key_group_range

M.mkdir_p = function(path) return C.flow_mkdir_p(path) == 0 end

-- ------------------------------------------------------------ one task

--- Restores a chain from a checkpoint or savepoint (desc.restore_dir):
--- each operator gets the states saved under its uid (keyed state is split
--- by key group when rescaled); a source that had ended stays ended.
---@param ctx flow.TaskContext
function M.restore(ctx)
  local desc, chain = ctx.desc, ctx.chain
  local meta = M.read_metadata(desc.restore_dir)
  local cache = {}
  for i = 1, #chain do
    local op = chain[i]
    if meta.finished[op.uid .. "#" .. desc.subtask] == desc.parallelism then
      op.finished_on_restore = true -- a source that had ended does not start again
    end
    local states, rescaled = M.states_for(meta, op.uid, desc.subtask, desc.parallelism, cache)
    if states then
      if not op.restore then
        error("checkpoint " .. meta.dir .. " has state for '" .. op.name .. "' (" .. op.uid ..
          "), which does not keep state", 0)
      end
      op.restore(states, rescaled)
    end
  end
  ctx.restored_from = meta.dir
end

---@class flow.SubtaskCheckpointer the checkpoints of one task
---@field last_id number the latest checkpoint this task took (0: none)
---@field last_complete number the latest completed checkpoint it heard of
---@field trigger fun(id:number) takes checkpoint id now
---@field poll_complete fun() tells the chain about a newly completed checkpoint
---@field poll_request fun(pos:any) a source: takes a checkpoint the coordinator requested, at position pos

--- The checkpointing of a task: snapshot every operator of the chain,
--- write the task's state file, send the barrier on, acknowledge.
---@param ctx flow.TaskContext
---@return flow.SubtaskCheckpointer
function M.checkpointer(ctx)
  local task, desc, chain, writers = ctx.task, ctx.desc, ctx.chain, ctx.writers
  local dirbuf = ffi.new("char[4096]")
  local cp = { last_id = 0, last_complete = 0 }

  local function directory(id)
    -- the barrier may come (from another taskmanager) before the
    -- coordinator's word on where checkpoint id goes: wait for it a little
    local waited = 0
    while C.flow_task_checkpoint_dir(task, id, dirbuf, 4096) ~= 1 and waited < 5000
        and C.flow_task_canceled(task) == 0 do
      C.flow_sleep_ms(1)
      waited = waited + 1
    end
    if C.flow_task_checkpoint_dir(task, id, dirbuf, 4096) == 1 then return ffi.string(dirbuf) end
    if desc.checkpoint_dir then return desc.checkpoint_dir .. "/chk-" .. id end
    error("no directory for checkpoint " .. id .. " arrived from the coordinator", 0)
  end

  function cp.trigger(id)
    cp.last_id = id
    -- what operators hold back (a C operator's input batch, sink buffers)
    -- belongs before the barrier
    for i = 1, #ctx.flushers do ctx.flushers[i]() end
    local dir = directory(id)
    local states = {}
    for i = 1, #chain do
      local op = chain[i]
      if op.snapshot then states[op.uid] = op.snapshot(id) end
    end
    local ok, path = pcall(M.write_state, dir, desc.vertex, desc.subtask, desc.parallelism, id, states)
    for k = 1, #writers do writers[k].barrier(id) end
    -- nil declines; so do tasks whose sources take splits on request: no
    -- position of theirs says what was read
    C.flow_task_ack_checkpoint(task, id, ok and not desc.lazy_splits and path or nil)
  end

  function cp.poll_complete()
    local c = fi.task_checkpoint_complete(task)
    if c > cp.last_complete then
      cp.last_complete = c
      for i = 1, #chain do
        local f = chain[i].notify_complete
        if f then f(c) end
      end
    end
  end

  function cp.poll_request(pos)
    local r = fi.task_checkpoint_request(task)
    if r > cp.last_id then
      ctx.source_position = pos
      cp.trigger(r)
    end
  end
  return cp
end

return M
