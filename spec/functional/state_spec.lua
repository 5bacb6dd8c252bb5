-- Keyed state and timers against Flink's rules: value/list/map/reducing
-- state scoped to the current key, event-time timers (deduplicated per key
-- and time, fired in timestamp order as the watermark passes, output
-- stamped with the timer's time), processing-time timers, the watermark
-- before the first one. Expected outputs are derived by hand from Flink.
local h = require("helpers.flowlua")

local et = require("helpers.event_time")
local run, sorted, ordered = et.run, et.sorted, et.ordered


describe("keyed state", function()
  it("value_state: default when unset, per key, clear back to the default", function()
    local out = run([[
      src{ { {"a", 1}, 1 }, { {"b", 1}, 2 }, { {"a", 1}, 3 }, { {"a", 0}, 4 }, { {"a", 1}, 5 }, { {"b", 1}, 6 } }
        :key_by(1):process{ process_element = function(self, v, ctx, out)
          local c = ctx:value_state("count", 0)
          local plain = ctx:value_state("plain")
          if v[2] == 0 then c:clear() else c:update(c:value() + 1) end
          out:collect({ v[1], c:value(), tostring(plain:value()) })
          plain:update("set")
        end }:print()
      env:execute("value-state")
    ]])
    assert.are.same({ "(a,1,nil)", "(b,1,nil)", "(a,2,set)", "(a,0,set)", "(a,1,set)", "(b,2,set)" }, ordered(out))
  end)

  it("list_state: get() is {} when unset; add, update, clear", function()
    local out = run([[
      src{ { {"a", 1}, 1 }, { {"a", 2}, 2 }, { {"b", 7}, 3 }, { {"a", 0}, 4 }, { {"a", 5}, 5 } }
        :key_by(1):process{ process_element = function(self, v, ctx, out)
          local l = ctx:list_state("l")
          local before = l:get()
          out:collect({ v[1], "before", type(before), #before })
          if v[2] == 0 then
            l:update({ 10, 20 })
          else
            l:add(v[2])
          end
          out:collect({ v[1], "after", table.concat(l:get(), " ") })
          if v[2] == 5 then l:clear(); out:collect({ v[1], "cleared", #l:get() }) end
        end }:print()
      env:execute("list-state")
    ]])
    assert.are.same({
      "(a,before,table,0)", "(a,after,1)",
      "(a,before,table,1)", "(a,after,1 2)",
      "(b,before,table,0)", "(b,after,7)",
      "(a,before,table,2)", "(a,after,10 20)",
      "(a,before,table,2)", "(a,after,10 20 5)", "(a,cleared,0)",
    }, ordered(out))
  end)

  it("map_state: put/get/contains/remove/pairs/clear", function()
    local out = run([[
      src{ { {"a", "put", "x", 1}, 1 }, { {"a", "put", "y", 2}, 2 }, { {"b", "put", "x", 9}, 3 },
           { {"a", "put", "x", 3}, 4 }, { {"a", "remove", "y"}, 5 }, { {"a", "put", "z", 4}, 6 },
           { {"a", "clear"}, 7 } }
        :key_by(1):process{ process_element = function(self, v, ctx, out)
          local m = ctx:map_state("m")
          if v[2] == "put" then m:put(v[3], v[4])
          elseif v[2] == "remove" then m:remove(v[3])
          else m:clear() end
          local ks = {}
          for k, x in m:pairs() do ks[#ks + 1] = k .. "=" .. x end
          table.sort(ks)
          out:collect({ v[1], tostring(m:get("x")), tostring(m:contains("y")), table.concat(ks, " ") })
        end }:print()
      env:execute("map-state")
    ]])
    assert.are.same({
      "(a,1,false,x=1)", "(a,1,true,x=1 y=2)", "(b,9,false,x=9)", "(a,3,true,x=3 y=2)",
      "(a,3,false,x=3)", "(a,3,false,x=3 z=4)", "(a,nil,false,)",
    }, ordered(out))
  end)

  it("reducing_state: add folds with the function; get is nil when unset; clear", function()
    local out = run([[
      src{ { {"a", 3}, 1 }, { {"b", 10}, 2 }, { {"a", 4}, 3 }, { {"a", 0}, 4 }, { {"a", 5}, 5 } }
        :key_by(1):process{ process_element = function(self, v, ctx, out)
          local r = ctx:reducing_state("r", function(x, y) return x + y end)
          local before = tostring(r:get())
          if v[2] == 0 then r:clear() else r:add(v[2]) end
          out:collect({ v[1], before, tostring(r:get()) })
        end }:print()
      env:execute("reducing-state")
    ]])
    assert.are.same({ "(a,nil,3)", "(b,nil,10)", "(a,3,7)", "(a,7,nil)", "(a,nil,5)" }, ordered(out))
  end)

  it("state is isolated between keys, also with many keys at parallelism 2", function()
    local out = run([[
      env:set_parallelism(2)
      local ev = {}
      for i = 1, 200 do ev[#ev + 1] = { { "k" .. (i % 20), i }, i } end
      src(ev):key_by(1):process{ process_element = function(self, v, ctx, out)
        local s = ctx:value_state("sum", 0)
        local n = ctx:value_state("n", 0)
        s:update(s:value() + v[2]); n:update(n:value() + 1)
        if n:value() == 10 then out:collect({ v[1], s:value() }) end
      end }:print()
      env:execute("isolation")
    ]])
    local expected = {}
    for k = 0, 19 do
      local s = 0
      for i = 1, 200 do if i % 20 == k then s = s + i end end
      expected[#expected + 1] = "(k" .. k .. "," .. s .. ")"
    end
    table.sort(expected)
    assert.are.same(expected, sorted(out))
  end)

  it("window results re-keyed into a keyed process keep per-key state", function()
    local out = run([[
      src{ { {"a", 1}, 1 }, { {"a", 1}, 2 }, { {"b", 1}, 3 }, { {"a", 1}, 12 } }
        :key_by(1):window(flow.windows.tumbling_event_time(10))
        :reduce(function(x, y) return { x[1], x[2] + y[2] } end)
        :key_by(1):process{ process_element = function(self, v, ctx, out)
          local total = ctx:value_state("total", 0)
          total:update(total:value() + v[2])
          out:collect({ v[1], total:value() })
        end }:print()
      env:execute("state-after-window")
    ]])
    assert.are.same({ "(a,2)", "(a,3)", "(b,1)" }, sorted(out))
  end)
end)

describe("event-time timers", function()
  it("are deduplicated per key and time, fire in timestamp order, also when registered in the past", function()
    local out = run([[
      local s = src{ { {"a", 15, 12, 15}, 1 }, { {"b", 13}, 2 }, { {"a", 18}, 3 }, { wm = 16 },
                     { {"a", 14}, 17 }, { wm = 30 } }
      stamped(s:key_by(1):process{
        process_element = function(self, v, ctx, out)
          for i = 2, #v do ctx:register_event_time_timer(v[i]) end
        end,
        on_timer = function(self, ts, ctx, out)
          out:collect({ ctx:current_key(), ts, ctx:current_watermark() })
        end,
      }):print()
      env:execute("event-timers")
    ]])
    -- at wm 16: a@12, b@13, a@15 (once); a@14 registered after wm 16 fires at wm 30 before a@18
    assert.are.same({ "(12,(a,12,16))", "(13,(b,13,16))", "(15,(a,15,16))",
      "(14,(a,14,30))", "(18,(a,18,30))" }, ordered(out))
  end)

  it("delete_event_time_timer removes a timer; timers left fire at the end of input", function()
    local out = run([[
      src{ { {"a", "reg", 12}, 1 }, { {"a", "reg", 15}, 2 }, { {"a", "del", 15}, 3 }, { {"b", "reg", 100}, 4 } }
        :key_by(1):process{
          process_element = function(self, v, ctx, out)
            if v[2] == "reg" then ctx:register_event_time_timer(v[3]) else ctx:delete_event_time_timer(v[3]) end
          end,
          on_timer = function(self, ts, ctx, out) out:collect({ ctx:current_key(), ts }) end,
        }:print()
      env:execute("delete-timer")
    ]])
    assert.are.same({ "(a,12)", "(b,100)" }, ordered(out))
  end)

  it("a timer's callback sees the key's state", function()
    local out = run([[
      src{ { {"a", 2}, 1 }, { {"b", 5}, 1 }, { {"a", 3}, 2 }, { wm = 20 } }
        :key_by(1):process{
          process_element = function(self, v, ctx, out)
            local s = ctx:value_state("sum", 0)
            s:update(s:value() + v[2])
            ctx:register_event_time_timer(10)
          end,
          on_timer = function(self, ts, ctx, out)
            out:collect({ ctx:current_key(), ctx:value_state("sum", 0):value() })
          end,
        }:print()
      env:execute("timer-state")
    ]])
    assert.are.same({ "(a,5)", "(b,5)" }, sorted(out))
  end)

  it("current_watermark() before any watermark is below every timestamp", function()
    local out = run([[
      src{ { {"a"}, -1e15 }, { wm = 5 }, { {"a"}, 7 } }:key_by(1):process{
        process_element = function(self, v, ctx, out)
          local wm = ctx:current_watermark()
          out:collect({ tostring(wm < ctx:timestamp()), wm < -1e15 and "min" or tostring(wm) })
        end }:print()
      env:execute("watermark-before")
    ]])
    assert.are.same({ "(true,min)", "(true,5)" }, ordered(out))
  end)
end)

describe("processing-time timers", function()
  it("fire on the wall clock with the timer's key, once per key and time, without a timestamp", function()
    local out = run([[
      env:add_source(function(ctx)
        ctx:collect({"a"}); ctx:collect({"b"}); ctx:collect({"a"})
        ctx:sleep(600)
      end):key_by(1):process{
        process_element = function(self, v, ctx, out)
          local t = ctx:value_state("t")
          if t:value() == nil then t:update(ctx:current_processing_time() + 100) end
          ctx:register_processing_time_timer(t:value())
        end,
        on_timer = function(self, ts, ctx, out)
          out:collect({ ctx:current_key(), tostring(ts == ctx:value_state("t"):value()),
            tostring(ctx:timestamp()), tostring(ctx:current_processing_time() >= ts) })
        end,
      }:print()
      env:execute("processing-timers")
    ]])
    assert.are.same({ "(a,true,nil,true)", "(b,true,nil,true)" }, sorted(out))
  end)
end)
