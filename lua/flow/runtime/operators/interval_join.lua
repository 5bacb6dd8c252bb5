--- Interval join (Flink's IntervalJoinOperator): both sides buffered in
--- keyed state; a left element at t joins right elements in
--- [t + lower, t + upper]; buffers are cleaned by event-time timers once the
--- watermark says no partner can come any more. The output's timestamp is
--- the larger of the two.
local keys = require("flow.runtime.keys")
local keyed = require("flow.runtime.operators.keyed")
local collector = require("flow.runtime.operators.transforms").collector

local M = {}

---@param op flow.Op
---@param ctx flow.TaskContext
function M.interval_join(op, ctx)
  local spec = op.spec
  local f, lower, upper = spec.f, spec.lower, spec.upper
  local k1, k2 = keys.selector(spec.keys[1]), keys.selector(spec.keys[2])
  local backend, etimers = keyed.services(op, ctx)
  local out = collector(op)
  local jctx = { left_ts = nil, right_ts = nil }
  function jctx:timestamp() return ctx.ts end
  function jctx:left_timestamp() return self.left_ts end
  function jctx:right_timestamp() return self.right_ts end
  function jctx:current_key() return backend.key end
  function jctx:output(tag, v)
    local e = op.side[type(tag) == "table" and tag.name or tag]
    if e then e(v) end
  end
  local owner = {}
  function owner:on_event_timer(ts, data)
    backend:set_key(data.key)
    local l = backend:get(data.side)
    if not l then return end
    local kept = {}
    for i = 1, #l do if l[i].cleanup > ts then kept[#kept + 1] = l[i] end end
    backend:put(data.side, #kept > 0 and kept or nil)
  end
  local function join(l, lts, r, rts)
    jctx.left_ts, jctx.right_ts = lts, rts
    local saved = ctx.ts
    ctx.ts = lts > rts and lts or rts
    f(l, r, jctx, out)
    ctx.ts = saved
  end
  local function buffer(side, v, ts, cleanup)
    local l = backend:get(side)
    if l == nil then
      l = {}
      backend:put(side, l)
    end
    l[#l + 1] = { v = v, ts = ts, cleanup = cleanup }
    if cleanup ~= math.huge then
      etimers:register(owner, backend.sk, cleanup, side, { key = backend.key, side = side })
    end
  end
  local function need_ts()
    local ts = ctx.ts
    if ts == nil then
      error("interval_join needs timestamps: call assign_timestamps_and_watermarks(...) first", 0)
    end
    return ts
  end
  keyed.timer_watermarks(op, ctx)
  keyed.checkpoints(op, ctx, { j = owner }, { timer_key = function(d1) return d1.key end })
  return {
    function(v)
      local ts = need_ts()
      if ts < op.current_wm then return end -- late: dropped, as Flink
      backend:set_key(k1(v))
      for _, r in ipairs(backend:get("right") or {}) do
        if r.ts >= ts + lower and r.ts <= ts + upper then join(v, ts, r.v, r.ts) end
      end
      buffer("left", v, ts, ts + upper)
    end,
    function(v)
      local ts = need_ts()
      if ts < op.current_wm then return end
      backend:set_key(k2(v))
      for _, l in ipairs(backend:get("left") or {}) do
        if ts >= l.ts + lower and ts <= l.ts + upper then join(l.v, l.ts, v, ts) end
      end
      buffer("right", v, ts, ts - lower)
    end,
  }
end

return M
