--- assign_timestamps_and_watermarks: sets each record's timestamp and
--- emits watermarks periodically, on a processing-time timer (Flink's
--- pipeline.auto-watermark-interval, 200 ms), not per record, and also
--- after every WATERMARK_RECORDS records: at millions of records a second,
--- 200 ms is a backlog of hundreds of thousands of records whose windows
--- and timers wait for the next watermark, and that backlog is memory;
--- counting records bounds it whatever the throughput (the watermark only
--- comes sooner, results are the same). Watermarks from upstream are
--- dropped except the final one (end of input).
local now_ms = require("flow.ffi").now_ms

local M = {}

local WATERMARK_RECORDS = 32768

---@param op flow.Op
---@param ctx flow.TaskContext
function M.timestamps(op, ctx)
  local st, emit = op.spec.strategy, op.emit
  local assign = st.assigner
  local delay = st.delay or 0
  local idleness = st.idleness
  local interval = op.spec.interval or 200
  local max_ts = -math.huge
  local last_wm = -math.huge
  local last_record = now_ms()
  local idle = false
  local since = 0 -- records since the last periodic check
  local gen = {}
  local function emit_periodic()
    since = 0
    local wm = max_ts - delay - 1
    if wm > last_wm then
      last_wm = wm
      op.current_wm = wm
      op.emit_wm(wm)
    end
  end
  function gen:on_processing_timer(_, ts)
    emit_periodic()
    if idleness and not idle and ts - last_record >= idleness then
      idle = true
      op.emit_status(true)
    end
    if last_wm ~= math.huge then ctx.processing_timers:register(gen, "", ts + interval) end
  end
  ctx.processing_timers:register(gen, "", now_ms() + interval)
  op.on_watermark = function(wm)
    if wm == math.huge and last_wm ~= math.huge then
      last_wm = wm
      op.current_wm = wm
      op.emit_wm(wm)
    end
  end
  op.on_status = function() end -- this operator decides idleness itself
  return function(v)
    local ts
    if assign then ts = assign(v, ctx.ts) else ts = ctx.ts end
    if type(ts) ~= "number" then
      error("the timestamp assigner returned " .. tostring(ts) .. " (a number of milliseconds is needed)", 0)
    end
    ctx.ts = ts
    if ts > max_ts then max_ts = ts end
    since = since + 1
    if since >= WATERMARK_RECORDS then emit_periodic() end
    if idleness then
      last_record = now_ms()
      if idle then
        idle = false
        op.emit_status(false)
      end
    end
    return emit(v)
  end
end

return M
