--- C operators in a chain (include/flowlua.h): Lua records are encoded
--- into batches that C processes whole; adjacent C operators hand batches
--- to each other, a text sink next formats them in C, and a C operator in
--- front of a batch combiner edge pre-aggregates in C.
local ffi = require("ffi")
local fi = require("flow.ffi")
local codec = require("flow.codec")
local record_writer = require("flow.runtime.record_writer")

local C = fi.C

local M = {}

local C_BATCH = 32 * 1024
local decode = codec.decode

--- Pushes the encoded records of p[off, n) to emit, one by one.
local function decode_each(p, off, n, emit)
  local v
  while off < n do
    v, off = decode(p, off)
    emit(v)
  end
end

--- An instance of a C operator: process(ptr, len, count) runs a batch and
--- hands the output to `sink(out)`; finish() flushes held-back output.
local function c_instance(name, library, symbol, config, ctx, sink)
  -- the one declaration outside flow.ffi: the symbol is the user's
  pcall(ffi.cdef, "const flowlua_operator_t *" .. symbol .. "(void);")
  local ok, get = pcall(function()
    if library then return ffi.load(library)[symbol] end
    return C[symbol]
  end)
  if not ok then
    error(name .. ": cannot find C operator '" .. symbol .. "'" .. (library and (" in " .. library) or "") ..
      ": " .. tostring(get), 0)
  end
  local desc = get()
  if desc == nil or desc.abi_version ~= 1 then
    error(name .. ": '" .. symbol .. "' is not a flowlua C operator (ABI version 1)", 0)
  end
  local err = ffi.new("char[512]")
  config = config or ""
  local self = desc.open(config, #config, ctx.subtask, ctx.parallelism, err, 512)
  if self == nil then error(name .. ": " .. ffi.string(err), 0) end
  local out = ffi.gc(C.flow_out_new(C_BATCH), C.flow_out_free)
  -- closed when the task's Lua state goes away, whatever way the task ends
  local closer = ffi.gc(ffi.new("char[1]"), function() desc.close(self) end)
  local inst = { _closer = closer, out = out }
  function inst.process(p, len, count)
    out.size, out.records = 0, 0
    if desc.process(self, p, len, count, out, err, 512) ~= 0 then error(name .. ": " .. ffi.string(err), 0) end
    if out.records > 0 then sink(out) end
  end
  function inst.finish()
    if desc.finish == nil then return end
    out.size, out.records = 0, 0
    if desc.finish(self, out, err, 512) ~= 0 then error(name .. ": " .. ffi.string(err), 0) end
    if out.records > 0 then sink(out) end
  end
  return inst
end

--- A C operator in a chain: Lua records are encoded into a batch; a batch
--- goes to C once full, or when the task is about to wait. Adjacent C
--- operators pass batches to each other without Lua in between; a C
--- operator in front of a keyed sum/min/max shuffle pre-aggregates in C too.
--- Records leaving a C operator carry no event timestamp.
---@param op flow.Op
---@param ctx flow.TaskContext
function M.c_op(op, ctx)
  local spec, emit = op.spec, op.emit
  -- where the output goes: the next C operator, a C combiner, or Lua
  local next_c
  local outs = op.outputs
  if #outs == 1 and next(op.side) == nil then
    local o = outs[1]
    if o.op and ctx.chain[o.op].c_batch then
      next_c = ctx.chain[o.op].c_batch
    elseif o.net then
      -- the edge's batch combiner (decided when the graph was built):
      -- sum/min/max of a numeric field keyed by another numeric field
      -- pre-aggregates in C before the writer
      local c = record_writer.edge_combiner(op, ctx.desc.outputs[o.net])
      if c and c.key and type(c.key.field) == "number" and type(c.field) == "number" and c.key.field ~= c.field
          and (c.agg == "sum" or c.agg == "min" or c.agg == "max") then
        local to_writer = function(o2) return decode_each(o2.data, 0, tonumber(o2.size), emit) end
        if spec.symbol == "flowlua_op_words" and not spec.library and c.agg == "sum"
            and c.field == 2 and c.key.field == 1 then
          -- words() then sum(2) by field 1: one fused C pass tokenizes and
          -- counts; the (word, 1) records are never written out
          op.fused = c_instance(op.name .. " + combiner", nil, "flowlua_op_aggregate", "sum 2 1 batch words",
            ctx, to_writer)
        else
          local comb = c_instance(op.name .. " (combiner)", nil, "flowlua_op_aggregate",
            c.agg .. " " .. c.field .. " " .. c.key.field .. " batch", ctx, to_writer)
          next_c = comb.process
          op.combiner = comb
        end
      end
    end
  end
  local function to_lua(o)
    ctx.ts = nil
    return decode_each(o.data, 0, tonumber(o.size), emit)
  end
  -- a text sink right after: format the batch in C, no Lua values at all
  local text_raw
  if not next_c and #outs == 1 and outs[1].op and next(op.side) == nil then
    text_raw = ctx.chain[outs[1].op].text_raw
  end
  -- batches that skip Lua are counted per batch: into the next chained
  -- operator (its numRecordsIn, our numRecordsOut)
  local om = op.metrics
  local nm = #outs == 1 and outs[1].op and ctx.chain[outs[1].op].metrics
  local function count(n)
    if nm then
      local C = ctx.C
      C.flow_op_metrics_add(om, 0, n, 0)
      C.flow_op_metrics_add(nm, n, 0, 0)
    end
  end
  if next_c and not nm then count = function() end end -- a combiner: the writer counts what leaves
  local inst = op.fused or c_instance(op.name, spec.library, spec.symbol, spec.config, ctx, function(o)
    if next_c then
      count(tonumber(o.records))
      return next_c(o.data, o.size, o.records)
    end
    if text_raw then
      local p, n = o.data, tonumber(o.size)
      local used, nrec = text_raw(p, n)
      count(nrec)
      if used == n then return end
      -- what C does not format (a Lua table) goes through Lua from there
      ctx.ts = nil
      return decode_each(p, used, n, emit)
    end
    return to_lua(o)
  end)
  op.c_batch = inst.process
  local inbuf = ffi.new("uint8_t[?]", C_BATCH)
  local off, count = 0, 0
  local function run()
    if count == 0 then return end
    local len, n = off, count
    off, count = 0, 0
    inst.process(inbuf, len, n)
  end
  ctx.flushers[#ctx.flushers + 1] = run
  op.finish = function()
    run()
    inst.finish()
    if op.combiner then op.combiner.finish() end
  end
  local encode, size = codec.encode, codec.size
  return function(v)
    local pos = encode(v, inbuf, off, C_BATCH)
    if not pos then
      run()
      pos = encode(v, inbuf, 0, C_BATCH)
      if not pos then -- larger than a batch: alone
        local n = size(v)
        local big = ffi.new("uint8_t[?]", n)
        encode(v, big, 0, n)
        inst.process(big, n, 1)
        return
      end
    end
    off = pos
    count = count + 1
  end
end

return M
