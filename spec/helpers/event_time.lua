--- Shared by the event-time specs (windows, triggers, state, joins): a job
--- prelude and runners. Not a spec itself.
local h = require("helpers.flowlua")
local assert = require("luassert")

local M = {}

-- A job prelude: `src(events)` is a parallelism-1 source emitting
-- { value, ts } records with that timestamp and { wm = t } watermarks.
M.PRE = [[
local flow = require("flow")
local env = flow.env{ parallelism = 1 }
local function src(events)
  return env:add_source(function(ctx)
    for _, e in ipairs(events) do
      if e.wm then ctx:emit_watermark(e.wm) else ctx:collect_with_timestamp(e[1], e[2]) end
    end
  end)
end
-- each record as (timestamp, record)
local function stamped(ds)
  return ds:process{ process_element = function(self, v, ctx, out)
    out:collect({ ctx:timestamp() or "none", v })
  end }
end
]]

function M.run(body, opts)
  local out, err, code = h.run_script(M.PRE .. body, nil, opts)
  assert.are.equal(0, code, "exit code; stderr:\n" .. err)
  return out
end
function M.sorted(s) return h.sorted_lines(s, true) end
function M.ordered(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end


return M
