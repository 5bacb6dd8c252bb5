--- Checkpoints on the task side: snapshot files, restore, and the barrier
--- bookkeeping of one task (Flink's SubtaskCheckpointCoordinator and
--- CheckpointBarrierHandler). The JobMaster's coordinator (C) triggers
--- sources and completes checkpoints; see docs/checkpoints.md.
---
--- A state file: one header line `FLOWLUA-STATE <version> <bytes> <crc32>`
--- then `bytes` bytes of string.buffer encoding of
--- { version, vertex, subtask, parallelism, checkpoint, ops = { [uid] = state } }.
local ffi = require("ffi")
local sbuf = require("string.buffer")

ffi.cdef [[
int flow_file_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);
int flow_mkdir_p(const char *path);
uint32_t flow_crc32(const void *p, size_t n);
]]
local C = ffi.C

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
    local p = io.popen("ls -1 '" .. dir:gsub("'", "'\\''") .. "' 2>/dev/null")
    for name in p:lines() do
      local id = tonumber(name:match("^chk%-(%d+)$"))
      if id and (not best_id or id > best_id) and read_all(dir .. "/" .. name .. "/_metadata") then
        best, best_id = dir .. "/" .. name, id
      end
    end
    p:close()
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
function M.key_group_range(i, p, maxp)
  local first = math.ceil(i * maxp / p)
  local last = math.ceil((i + 1) * maxp / p) - 1
  return first, last
end

M.mkdir_p = function(path) return C.flow_mkdir_p(path) == 0 end

return M
