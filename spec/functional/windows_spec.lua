-- Event-time windows against Flink's rules: assigners (tumbling with offset,
-- sliding, session merging, global), count windows, allowed lateness, late
-- data (side output / dropped), window_all, and the missing-timestamp error.
-- Expected outputs are derived by hand from Flink's WindowOperator semantics.
local h = require("helpers.flowlua")

local et = require("helpers.event_time")
local run, sorted, ordered = et.run, et.sorted, et.ordered

describe("tumbling event-time windows", function()
  it("are epoch-aligned with an offset; results carry end - 1 as timestamp", function()
    -- size 10, offset 3: windows [-7,3), [3,13), [13,23)
    local out = run([[
      local s = src{ { {"a", 2, 1}, 2 }, { {"a", 3, 1}, 3 }, { {"b", 5, 1}, 5 },
                     { {"a", 12, 1}, 12 }, { {"a", 13, 1}, 13 } }
      stamped(s:key_by(1):window(flow.windows.tumbling_event_time(10, 3)):sum(3)):print()
      env:execute("tumbling")
    ]])
    -- sum keeps the other fields of the window's first element
    assert.are.same({ "(12,(a,3,2))", "(12,(b,5,1))", "(2,(a,2,1))", "(22,(a,13,1))" }, sorted(out))
  end)

  it("process sees ctx.window.start / end_ of each window", function()
    local out = run([[
      local s = src{ { {"a", 2}, 2 }, { {"a", 3}, 3 }, { {"a", 12}, 12 }, { {"a", 13}, 13 } }
      s:key_by(1):window(flow.windows.tumbling_event_time(10, 3))
        :process(function(key, ctx, elements, out)
          out:collect({ key, ctx.window.start, ctx.window.end_, #elements })
        end):print()
      env:execute("tumbling-process")
    ]])
    assert.are.same({ "(a,-7,3,1)", "(a,13,23,1)", "(a,3,13,2)" }, sorted(out))
  end)

  it("a window fires when the watermark reaches end - 1, not before", function()
    local out = run([[
      local s = src{ { {"a", 1}, 1 }, { wm = 8 }, { {"a", 5}, 5 }, { wm = 9 }, { {"a", 15}, 15 } }
      s:key_by(1):window(flow.windows.tumbling_event_time(10))
        :process(function(key, ctx, elements, out)
          out:collect({ ctx.window.start, #elements, ctx:current_watermark() })
        end):print()
      env:execute("fires-at-max-ts")
    ]])
    -- [0,10) fires at watermark 9 with both elements; [10,20) at the end of input
    local l = ordered(out)
    assert.are.equal("(0,2,9)", l[1])
    assert.are.equal(2, #l)
    assert.truthy(l[2]:match("^%(10,1,"), l[2])
  end)
end)

describe("periodic watermarks", function()
  it("come every 32768 records too, whatever the interval (the backlog is bounded)", function()
    -- an hour's interval: without the record count, every window would wait
    -- for the final watermark; with it, each fires while records still flow
    local out = run([[
      env:set_auto_watermark_interval(3600 * 1000)
      env:from_sequence(1, 100000)
        :assign_timestamps_and_watermarks(flow.watermarks.for_monotonous_timestamps()
          :with_timestamp_assigner(function(x) return x end))
        :key_by(function() return 0 end)
        :window(flow.windows.tumbling_event_time(40000))
        :process(function(key, ctx, elements, out)
          out:collect({ ctx.window.start, #elements, ctx:current_watermark() })
        end):print()
      env:execute("record-count watermarks")
    ]])
    -- [0,40000) fires at the watermark after record 65536 (65535), [40000,80000)
    -- at the one after 98304; [80000,120000) only at the end of input
    assert.are.same({ "(0,39999,65535)", "(40000,40000,98303)", "(80000,20001,Infinity)" },
      ordered(out))
  end)
end)

describe("sliding event-time windows", function()
  it("put each element into size/slide windows", function()
    local out = run([[
      local s = src{ { {"a", 3}, 3 }, { {"a", 7}, 7 }, { {"a", 12}, 12 } }
      s:key_by(1):window(flow.windows.sliding_event_time(10, 5))
        :apply(function(key, w, elements, out)
          local ts = {}
          for i, e in ipairs(elements) do ts[i] = e[2] end
          out:collect({ key, w.start, w.end_, table.concat(ts, " ") })
        end):print()
      env:execute("sliding")
    ]])
    assert.are.same({ "(a,-5,5,3)", "(a,0,10,3 7)", "(a,10,20,12)", "(a,5,15,7 12)" }, sorted(out))
  end)

  it("with an offset, windows start at offset + k * slide", function()
    local out = run([[
      local s = src{ { {"a", 4}, 4 } }
      s:key_by(1):window(flow.windows.sliding_event_time(6, 3, 1))
        :apply(function(key, w, elements, out) out:collect({ w.start, w.end_, #elements }) end):print()
      env:execute("sliding-offset")
    ]])
    -- ts 4, size 6, slide 3, offset 1: windows [4,10) and [1,7)
    assert.are.same({ "(1,7,1)", "(4,10,1)" }, sorted(out))
  end)

  it("sum keeps one accumulator per window (an element in two windows counts in each once)", function()
    local out = run([[
      local s = src{ { {"a", 1}, 3 }, { {"a", 1}, 7 }, { {"b", 1}, 8 }, { {"a", 1}, 12 } }
      stamped(s:key_by(1):window(flow.windows.sliding_event_time(10, 5)):sum(2)):print()
      env:execute("sliding-sum")
    ]])
    -- a: [-5,5) 1, [0,10) 2, [5,15) 2, [10,20) 1; b: [0,10) 1, [5,15) 1
    assert.are.same({ "(14,(a,2))", "(14,(b,1))", "(19,(a,1))", "(4,(a,1))", "(9,(a,2))", "(9,(b,1))" },
      sorted(out))
  end)
end)

describe("event-time session windows", function()
  it("merge a bridging element's window with the two sessions it touches", function()
    local out = run([[
      -- gap 3: a@1 -> [1,4), a@7 -> [7,10), a@4 -> [4,7) touches both: [1,10)
      -- b@1 -> [1,4) and b@5 -> [5,8) stay apart
      local s = src{ { {"a", 1}, 1 }, { {"b", 1}, 1 }, { {"a", 7}, 7 }, { {"b", 5}, 5 }, { {"a", 4}, 4 } }
      s:key_by(1):window(flow.windows.event_time_session(3))
        :process(function(key, ctx, elements, out)
          local ts = {}
          for i, e in ipairs(elements) do ts[i] = e[2] end
          table.sort(ts)
          out:collect({ key, ctx.window.start, ctx.window.end_, table.concat(ts, " ") })
        end):print()
      env:execute("sessions")
    ]])
    assert.are.same({ "(a,1,10,1 4 7)", "(b,1,4,1)", "(b,5,8,5)" }, sorted(out))
  end)

  it("a session fired by the watermark is not reopened by a later session of the key", function()
    local out = run([[
      local s = src{ { {"a", 1}, 1 }, { {"a", 2}, 2 }, { wm = 10 }, { {"a", 11}, 11 } }
      s:key_by(1):window(flow.windows.event_time_session(3))
        :process(function(key, ctx, elements, out)
          out:collect({ ctx.window.start, ctx.window.end_, #elements })
        end):print()
      env:execute("sessions-wm")
    ]])
    assert.are.same({ "(1,5,2)", "(11,14,1)" }, ordered(out))
  end)

  it("aggregate merges accumulators of merged sessions with agg.merge", function()
    local out = run([[
      local s = src{ { {"a", 1}, 1 }, { {"a", 7}, 7 }, { {"a", 4}, 4 } }
      s:key_by(1):window(flow.windows.event_time_session(3))
        :aggregate({ create = function() return 0 end, add = function(v, acc) return acc + 1 end,
                     result = function(acc) return acc end, merge = function(a, b) return a + b end },
          function(key, ctx, results, out)
            out:collect({ key, ctx.window.start, ctx.window.end_, results[1] })
          end):print()
      env:execute("sessions-aggregate")
    ]])
    assert.are.same({ "(a,1,10,3)" }, sorted(out))
  end)
end)

describe("global windows", function()
  it("with a count trigger fire every n elements per key, without purging", function()
    local out = run([[
      local s = src{ { {"a", 1}, 1 }, { {"b", 100}, 2 }, { {"a", 2}, 3 }, { {"a", 3}, 4 },
                     { {"a", 4}, 5 }, { {"a", 5}, 6 } }
      s:key_by(1):window(flow.windows.global()):trigger(flow.triggers.count(2)):sum(2):print()
      env:execute("global-count")
    ]])
    -- a: fires after 2 (1+2) and after 4 (1+2+3+4); the 5th and b's single
    -- element never fire (the global window never ends)
    assert.are.same({ "(a,3)", "(a,10)" }, ordered(out))
  end)

  it("without a trigger never fire", function()
    local out = run([[
      src{ { {"a", 1}, 1 }, { {"a", 2}, 2 } }:key_by(1):window(flow.windows.global()):sum(2):print()
      env:execute("global-never")
    ]])
    assert.are.equal("", out)
  end)
end)

describe("count windows", function()
  it("count_window(n) fires every n elements per key and purges", function()
    local out = run([[
      local s = src{ { {"a", 1}, 1 }, { {"a", 2}, 2 }, { {"b", 10}, 3 }, { {"a", 3}, 4 }, { {"a", 4}, 5 },
                     { {"b", 20}, 6 }, { {"a", 5}, 7 }, { {"a", 6}, 8 }, { {"a", 7}, 9 } }
      s:key_by(1):count_window(3):sum(2):print()
      env:execute("count-window")
    ]])
    assert.are.same({ "(a,6)", "(a,15)" }, ordered(out))
  end)

  it("count_window(n, s) fires every s elements over the last n", function()
    local out = run([[
      local s = src{ { {"a", 1}, 1 }, { {"a", 2}, 2 }, { {"a", 3}, 3 }, { {"a", 4}, 4 },
                     { {"a", 5}, 5 }, { {"a", 6}, 6 }, { {"a", 7}, 7 } }
      s:key_by(1):count_window(3, 2):sum(2):print()
      env:execute("count-window-slide")
    ]])
    -- after 2: 1+2; after 4: last 3 = 2+3+4; after 6: 4+5+6
    assert.are.same({ "(a,3)", "(a,9)", "(a,15)" }, ordered(out))
  end)

  it("count windows work without timestamps (no event time needed)", function()
    local out = run([[
      env:from_elements({"a", 1}, {"a", 2}, {"b", 5}, {"b", 6}):key_by(1):count_window(2):sum(2):print()
      env:execute("count-window-no-ts")
    ]])
    assert.are.same({ "(a,3)", "(b,11)" }, sorted(out))
  end)
end)

describe("lateness", function()
  it("allowed_lateness keeps the window and a late element causes a late firing", function()
    local out = run([[
      local s = src{ { {"a", 1}, 1 }, { {"a", 2}, 2 }, { wm = 9 },   -- fires: 1+2
                     { {"a", 4}, 3 }, { wm = 13 },                    -- late firing: 1+2+4
                     { {"a", 8}, 5 }, { wm = 14 },                    -- late firing: 15; then cleanup (9+5)
                     { {"a", 16}, 6 } }                               -- too late: dropped
      stamped(s:key_by(1):window(flow.windows.tumbling_event_time(10)):allowed_lateness(5):sum(2)):print()
      env:execute("lateness")
    ]])
    assert.are.same({ "(9,(a,3))", "(9,(a,7))", "(9,(a,15))" }, ordered(out))
  end)

  it("late elements go to side_output_late_data", function()
    local out = run([[
      local late = flow.output_tag("late")
      local r = src{ { {"a", 1}, 1 }, { wm = 10 }, { {"a", 5}, 5 }, { {"b", 7}, 7 }, { {"a", 12}, 12 } }
        :key_by(1):window(flow.windows.tumbling_event_time(10)):side_output_late_data(late):sum(2)
      r:map(function(v) return { "main", v } end):print()
      r:get_side_output(late):map(function(v) return { "late", v } end):print()
      env:execute("late-side-output")
    ]])
    assert.are.same({ "(late,(a,5))", "(late,(b,7))", "(main,(a,1))", "(main,(a,12))" }, sorted(out))
  end)

  it("late elements are dropped without a side output", function()
    local out = run([[
      local s = src{ { {"a", 1}, 1 }, { wm = 10 }, { {"a", 5}, 5 }, { {"a", 11}, 11 } }
      s:key_by(1):window(flow.windows.tumbling_event_time(10)):sum(2):print()
      env:execute("late-dropped")
    ]])
    assert.are.same({ "(a,1)", "(a,11)" }, ordered(out))
  end)

  it("an element late for some sliding windows still goes into the others", function()
    local out = run([[
      local s = src{ { {"a", 1}, 1 }, { {"a", 6}, 6 }, { wm = 10 }, { {"a", 8}, 8 } }
      s:key_by(1):window(flow.windows.sliding_event_time(10, 5))
        :apply(function(key, w, elements, out)
          local ts = {}
          for i, e in ipairs(elements) do ts[i] = e[2] end
          out:collect({ w.start, w.end_, table.concat(ts, " ") })
        end):print()
      env:execute("late-sliding")
    ]])
    -- at wm 10, [-5,5) and [0,10) fired; a@8 is late for [0,10) only
    assert.are.same({ "(-5,5,1)", "(0,10,1 6)", "(5,15,6 8)" }, sorted(out))
  end)
end)

describe("window_all", function()
  it("windows the whole stream in one instance (sum, apply, process)", function()
    local out = run([[
      env:set_parallelism(2)
      local s = src{ { {"a", 1}, 1 }, { {"b", 2}, 2 }, { {"c", 4}, 12 }, { {"a", 8}, 13 } }
      s:window_all(flow.windows.tumbling_event_time(10)):sum(2):map(function(v) return { "sum", v } end):print()
      s:window_all(flow.windows.tumbling_event_time(10))
        :apply(function(w, elements, out) out:collect({ "apply", w.start, #elements }) end):print()
      s:window_all(flow.windows.tumbling_event_time(10))
        :process(function(ctx, elements, out) out:collect({ "process", ctx.window.end_, #elements }) end):print()
      env:execute("window-all")
    ]])
    assert.are.same({ "(apply,0,2)", "(apply,10,2)", "(process,10,2)", "(process,20,2)",
      "(sum,(a,3))", "(sum,(c,12))" }, sorted(out))
  end)
end)

describe("errors", function()
  it("an event-time window on records without timestamps fails with a clear error", function()
    local out, err, code = h.run_script(et.PRE .. [[
      env:from_elements({"a", 1}, {"a", 2}):key_by(1):window(flow.windows.tumbling_event_time(10)):sum(2):print()
      env:execute("no-timestamps")
    ]])
    assert.are_not.equal(0, code)
    assert.truthy(err:find("timestamp", 1, true), err)
    assert.truthy(err:find("assign_timestamps_and_watermarks", 1, true), err)
  end)
end)
