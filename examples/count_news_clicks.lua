-- CountNewsClicks: clicks per news item within an hour of its publication,
-- with out-of-order events (event time, keyed state, event-time timers).
--
--   flowlua examples/count_news_clicks.lua --input EVENTS.csv [--output PATH] [--parallelism N]
--
-- Input lines are `newsId, timestampMs, PUBLISH|CLICK`; output `newsId,clicks`.
-- Watermarks: bounded out of orderness of 10 s, emitted periodically.
local flow = require("flow")
local params = flow.params()
local env = flow.env()
if params:has("parallelism") then env:set_parallelism(params:get_number("parallelism")) end

local HOUR = 60 * 60 * 1000

local counts = env:read_text_file(params:get_required("input"))
  :flat_map(function(line, out)
    local id, ts, kind = line:match("^%s*(%d+)%s*,%s*(%d+)%s*,%s*(%u+)")
    if id then out:collect({ tonumber(id), tonumber(ts), kind }) end
  end)
  :assign_timestamps_and_watermarks(flow.watermarks.for_bounded_out_of_orderness(10000)
    :with_timestamp_assigner(function(e) return e[2] end))
  :key_by(1)
  :process{
    process_element = function(self, e, ctx, out)
      local publish_time = ctx:value_state("publish_time")
      local click_count = ctx:value_state("click_count", 0)
      local pending = ctx:list_state("pending_clicks")
      local t = e[2]
      if e[3] == "PUBLISH" then
        if ctx:current_watermark() > t + HOUR then return end -- too late to count anything
        publish_time:update(t)
        local n = click_count:value()
        for _, c in ipairs(pending:get()) do
          if c <= t + HOUR then n = n + 1 end
        end
        click_count:update(n)
        pending:clear()
        ctx:register_event_time_timer(t + HOUR)
      else
        local p = publish_time:value()
        if p == nil then -- a click before its publication arrived
          pending:add(t)
          ctx:register_event_time_timer(t + HOUR)
        elseif t <= p + HOUR then
          click_count:update(click_count:value() + 1)
        end
      end
    end,
    on_timer = function(self, ts, ctx, out)
      local publish_time = ctx:value_state("publish_time")
      if publish_time:value() ~= nil then
        out:collect(ctx:current_key() .. "," .. ctx:value_state("click_count", 0):value())
      end
      publish_time:clear()
      ctx:value_state("click_count"):clear()
      ctx:list_state("pending_clicks"):clear()
    end,
  }

if params:has("output") then counts:write_as_text(params:get("output")) else counts:print() end
env:execute("CountNewsClicks")
