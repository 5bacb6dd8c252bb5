-- Window join, co_group and interval join against Flink's rules.
-- Expected outputs are derived by hand from Flink's documented semantics.
local h = require("helpers.flowlua")

local et = require("helpers.event_time")
local run, sorted, ordered = et.run, et.sorted, et.ordered


local SIDES = [[
  local left = src{ { {"a", "l1"}, 1 }, { {"a", "l2"}, 2 }, { {"b", "l3"}, 3 }, { {"a", "l4"}, 12 } }
  local right = src{ { {"a", "r1"}, 5 }, { {"c", "r3"}, 4 }, { {"a", "r2"}, 15 }, { {"a", "r4"}, 9 } }
]]

describe("window join", function()
  it("is the cross product of both sides per key and window, stamped end - 1", function()
    local out = run(SIDES .. [[
      stamped(left:join(right):where(1):equal_to(1):window(flow.windows.tumbling_event_time(10))
        :apply(function(l, r) return { l[2], r[2] } end)):print()
      env:execute("window-join")
    ]])
    assert.are.same({ "(19,(l4,r2))", "(9,(l1,r1))", "(9,(l1,r4))", "(9,(l2,r1))", "(9,(l2,r4))" }, sorted(out))
  end)

  it("with key selector functions and sliding windows", function()
    local out = run(SIDES .. [[
      left:join(right):where(function(v) return v[1] end):equal_to(function(v) return v[1] end)
        :window(flow.windows.sliding_event_time(10, 5))
        :apply(function(l, r) return { l[2], r[2] } end):print()
      env:execute("window-join-sliding")
    ]])
    -- windows of l1,l2: [-5,5) [0,10); l4@12: [5,15) [10,20); r1@5: [0,10) [5,15);
    -- r4@9: [0,10) [5,15); r2@15: [10,20) [15,25)
    assert.are.same({ "(l1,r1)", "(l1,r4)", "(l2,r1)", "(l2,r4)", "(l4,r1)", "(l4,r2)", "(l4,r4)" }, sorted(out))
  end)
end)

describe("co_group", function()
  it("gets both sides of each key and window, also when one side is empty", function()
    local out = run(SIDES .. [[
      left:co_group(right):where(1):equal_to(1):window(flow.windows.tumbling_event_time(10))
        :apply(function(ls, rs, out)
          local key = (ls[1] or rs[1])[1]
          local a, b = {}, {}
          for i, v in ipairs(ls) do a[i] = v[2] end
          for i, v in ipairs(rs) do b[i] = v[2] end
          table.sort(a); table.sort(b)
          out:collect({ key, table.concat(a, " "), table.concat(b, " ") })
        end):print()
      env:execute("co-group")
    ]])
    assert.are.same({ "(a,l1 l2,r1 r4)", "(a,l4,r2)", "(b,l3,)", "(c,,r3)" }, sorted(out))
  end)
end)

describe("interval join", function()
  it("pairs a left at t with rights in [t + lower, t + upper], bounds inclusive, per key", function()
    local out = run([[
      local left = src{ { {"a", "L10"}, 10 }, { {"a", "L30"}, 30 }, { {"b", "B10"}, 10 } }
      local right = src{ { {"a", "r7"}, 7 }, { {"a", "r8"}, 8 }, { {"a", "r10"}, 10 }, { {"a", "r13"}, 13 },
                         { {"a", "r14"}, 14 }, { {"b", "b20"}, 20 }, { {"c", "c10"}, 10 } }
      stamped(left:key_by(1):interval_join(right:key_by(1)):between(-2, 3)
        :process(function(l, r, ctx, out)
          out:collect({ l[2], r[2], ctx:left_timestamp(), ctx:right_timestamp() })
        end)):print()
      env:execute("interval-join")
    ]])
    -- output timestamp is max(left, right)
    assert.are.same({ "(10,(L10,r10,10,10))", "(10,(L10,r8,10,8))", "(13,(L10,r13,10,13))" }, sorted(out))
  end)

  it("works in both arrival orders and with negative bounds", function()
    local out = run([[
      local left = src{ { {"a", "L20"}, 20 } }
      local right = src{ { {"a", "r9"}, 9 }, { {"a", "r10"}, 10 }, { {"a", "r15"}, 15 }, { {"a", "r16"}, 16 } }
      left:key_by(1):interval_join(right:key_by(1)):between(-10, -5)
        :process(function(l, r, ctx, out) out:collect({ l[2], r[2] }) end):print()
      right:key_by(1):interval_join(left:key_by(1)):between(5, 10)
        :process(function(r, l, ctx, out) out:collect({ "rev", r[2], l[2] }) end):print()
      env:execute("interval-join-negative")
    ]])
    assert.are.same({ "(L20,r10)", "(L20,r15)", "(rev,r10,L20)", "(rev,r15,L20)" }, sorted(out))
  end)

  it("drops elements behind the watermark", function()
    local out = run([[
      env:set_parallelism(1)
      local left = env:add_source(function(ctx)
        ctx:collect_with_timestamp({"a", "L5"}, 5)
        ctx:emit_watermark(50)
        ctx:sleep(300) -- the other input's watermark 50 reaches the join meanwhile
        ctx:collect_with_timestamp({"a", "late"}, 40)
        ctx:collect_with_timestamp({"a", "L60"}, 60)
      end)
      local right = env:add_source(function(ctx)
        ctx:emit_watermark(50)
        ctx:collect_with_timestamp({"a", "r61"}, 61)
      end)
      left:key_by(1):interval_join(right:key_by(1)):between(-100, 100)
        :process(function(l, r, ctx, out) out:collect({ l[2], r[2] }) end):print()
      env:execute("interval-join-late")
    ]])
    -- L5 arrived before any watermark; "late" (40) arrives when the join's
    -- watermark is 50 and is dropped, as Flink's IntervalJoinOperator does
    assert.are.same({ "(L5,r61)", "(L60,r61)" }, sorted(out))
  end)
end)
