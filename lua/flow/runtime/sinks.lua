--- Sinks (Flink's SinkFunction and its built-ins): print, write_as_text,
--- execute_and_collect's collect sink, the file sink with two-phase commit,
--- user sinks and the discarding sink. Text sinks format whole runs of
--- encoded records in C (src/runtime/text_format.c) when they can.
local ffi = require("ffi")
local fi = require("flow.ffi")
local codec = require("flow.codec")
local format = require("flow.format")

local C = fi.C

local M = {}

function M.discard()
  return function() end
end

--- A user sink: `fn(v, ctx)` or `{ open = f, invoke = f, close = f }`.
---@param op flow.Op
---@param ctx flow.TaskContext
function M.sink(op, ctx)
  local s = op.spec.sink
  if type(s) == "function" then
    return function(v) s(v, ctx) end
  end
  if s.open then s:open(ctx) end
  if s.close then op.finish = function() s:close() end end
  local invoke = s.invoke
  return function(v) invoke(s, v, ctx) end
end

--- Formats encoded records in C (src/runtime/text_format.c) for a text
--- sink: text_raw(p, len) -> bytes consumed (it stops before what only Lua
--- formats: tables other than tuples, in-band events).
local function c_formatter(op, prefix, put_text)
  local out = ffi.gc(C.flow_out_new(32768), C.flow_out_free)
  local nrec = ffi.new("size_t[1]")
  prefix = prefix or ""
  op.text_raw = function(p, len)
    out.size = 0
    local used = C.flow_format_lines(p, len, prefix, #prefix, out, nrec)
    if out.size > 0 then put_text(out.data, out.size) end
    return tonumber(used), tonumber(nrec[0])
  end
end

--- Sinks writing text: lines are gathered per input buffer and written with
--- one write call, so lines of parallel subtasks never interleave.
local function text_sink(op, ctx, file, prefix)
  local buf = require("string.buffer").new(16384)
  local fmt = format.value
  local function flush()
    if #buf > 0 then
      file:write(buf:get())
      file:flush()
    end
  end
  ctx.flushers[#ctx.flushers + 1] = flush
  op.finish = flush
  c_formatter(op, prefix, function(p, n)
    buf:putcdata(p, n)
    if #buf >= 16384 then flush() end
  end)
  if prefix and prefix ~= "" then
    return function(v)
      buf:put(prefix, fmt(v), "\n")
      if #buf >= 16384 then flush() end
    end
  end
  return function(v)
    buf:put(fmt(v), "\n")
    if #buf >= 16384 then flush() end
  end
end

---@param op flow.Op
---@param ctx flow.TaskContext
function M.print(op, ctx)
  local p = op.spec.prefix
  local prefix
  if ctx.parallelism > 1 then
    prefix = (p and p ~= "" and (p .. ":") or "") .. (ctx.subtask + 1) .. "> "
  elseif p and p ~= "" then
    prefix = p .. "> "
  end
  return text_sink(op, ctx, io.stdout, prefix)
end

---@param op flow.Op
---@param ctx flow.TaskContext
function M.write_text(op, ctx)
  local path = op.spec.path
  if ctx.parallelism > 1 then path = path .. "/" .. (ctx.subtask + 1) end
  local f, err = io.open(path, "wb")
  if not f then error("write_as_text: cannot open '" .. path .. "': " .. tostring(err):gsub("^.-: ", ""), 0) end
  local push = text_sink(op, ctx, f)
  local flush = op.finish
  op.finish = function()
    flush()
    f:close()
  end
  return push
end

--- execute_and_collect's sink: encoded records go to the client in whole
--- buffers. With a limit, once the job collected that many records the job
--- is canceled (as Flink's collect iterator does) and later records dropped.
---@param op flow.Op
---@param ctx flow.TaskContext
function M.collect(op, ctx)
  local task = ctx.task
  local size = 32 * 1024
  local limit = op.spec.limit
  local b = C.flow_task_buffer(task, 0)
  if b == nil then error("out of memory allocating a buffer", 0) end
  local off, count, done = 0, 0, false
  local function hand_over()
    b.size = off
    local total = fi.task_collect(task, b, count) -- C owns b from here
    b, off, count = nil, 0, 0
    if total < 0 then
      error("execute_and_collect: the results exceed 256 MiB; write them to a sink instead", 0)
    end
    if limit and total >= limit then
      done = true
      C.flow_task_cancel_job(task)
      return
    end
    b = C.flow_task_buffer(task, 0)
    if b == nil then error("out of memory allocating a buffer", 0) end
  end
  op.finish = function()
    if done then return end
    if off > 0 then hand_over() end
    if b ~= nil then C.flow_task_recycle(task, b) end
    b = nil
  end
  ctx.flushers[#ctx.flushers + 1] = function()
    if not done and off > 0 then hand_over() end
  end
  return function(v)
    if done then return end
    if b == nil then error("execute_and_collect: the sink is closed", 0) end
    local pos = codec.encode(v, b.data, off, size)
    if not pos then
      if off > 0 then
        hand_over()
        if done then return end
      end
      pos = codec.encode(v, b.data, 0, size)
      if not pos then -- oversize record: alone in a buffer of its size
        local n = codec.size(v)
        local big = C.flow_task_buffer(task, n)
        if big == nil then error("out of memory allocating a buffer", 0) end
        C.flow_task_recycle(task, b)
        b = big
        off = codec.encode(v, b.data, 0, n)
        count = 1
        hand_over()
        return
      end
    end
    off = pos
    count = count + 1
    if limit and count >= limit then hand_over() end
  end
end

--- flow.sinks.file{ path = dir }: Flink's FileSink with two-phase commit.
--- Records go to a hidden in-progress part file; a checkpoint closes it
--- and makes it pending; the checkpoint's completion renames pending files
--- to their final, visible names `part-<subtask>-<n>`. A restore commits
--- what the restored checkpoint covered and deletes every other hidden
--- file of this subtask (written after it, by the failed attempt). Without
--- checkpoints files are committed at the end of input.
---@param op flow.Op
---@param ctx flow.TaskContext
function M.file_sink(op, ctx)
  local dir = op.spec.path
  local sub = ctx.subtask
  local checkpointing = ctx.desc.checkpoint_dir ~= nil
  local fmt = format.value
  local buf = require("string.buffer").new(16384)
  local n, file, name = 0, nil, nil
  local pending = {} -- checkpoint id -> { part numbers }
  local cleaned = false
  -- hidden files of this subtask not covered by a restored checkpoint come
  -- from an attempt that failed: they must never be committed
  local function cleanup()
    cleaned = true
    local prefix = ".part-" .. sub .. "-"
    for _, f in ipairs(fi.dir_names(dir) or {}) do
      if f:sub(1, #prefix) == prefix then os.remove(dir .. "/" .. f) end
    end
  end
  local function path_of(k, state)
    if state == "final" then return string.format("%s/part-%d-%d", dir, sub, k) end
    return string.format("%s/.part-%d-%d.%s", dir, sub, k, state)
  end
  local function write_out()
    if #buf == 0 then return end
    if not cleaned then cleanup() end
    if file == nil then
      name = n
      n = n + 1
      local err
      file, err = io.open(path_of(name, "inprogress"), "wb")
      if not file then error("file sink: cannot open a part file in " .. dir .. ": " .. tostring(err), 0) end
    end
    file:write(buf:get())
  end
  local function close_part(to)
    write_out()
    if file == nil then return nil end
    file:close()
    file = nil
    local ok, err = os.rename(path_of(name, "inprogress"), path_of(name, to))
    if not ok then error("file sink: " .. tostring(err), 0) end
    return name
  end
  local function commit(k)
    local ok, err, code = os.rename(path_of(k, "pending"), path_of(k, "final"))
    -- already committed (a restore commits what the checkpoint covered) is fine
    if not ok and code ~= 2 then error("file sink: cannot commit: " .. tostring(err), 0) end
  end
  ctx.flushers[#ctx.flushers + 1] = write_out
  c_formatter(op, nil, function(p, k)
    buf:putcdata(p, k)
    if #buf >= 16384 then write_out() end
  end)
  op.snapshot = function(id)
    local k = close_part("pending")
    if k then pending[id] = { k } end
    local copy = {}
    for cid, parts in pairs(pending) do copy[cid] = parts end
    return { next = n, pending = copy }
  end
  op.notify_complete = function(id)
    for cid, parts in pairs(pending) do
      if cid <= id then
        for _, k in ipairs(parts) do commit(k) end
        pending[cid] = nil
      end
    end
  end
  op.restore = function(states, rescaled)
    if rescaled then error("the file sink cannot change its parallelism on restore", 0) end
    local st = states[1]
    -- the restored checkpoint completed: what it had pending is committed
    for _, parts in pairs(st.pending or {}) do
      for _, k in ipairs(parts) do commit(k) end
    end
    n = st.next or 0
    cleanup() -- anything else hidden of this subtask came after the checkpoint
  end
  op.finish = function()
    -- with checkpoints the job's client commits after the whole job finished
    close_part(checkpointing and "pending" or "final")
  end
  return function(v)
    buf:put(fmt(v), "\n")
    if #buf >= 16384 then write_out() end
  end
end

return M
