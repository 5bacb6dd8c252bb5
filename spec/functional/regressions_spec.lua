-- Regressions found in review (each failed before its fix).
local h = require("helpers.flowlua")

local sh = h.sh

local fixtures = h.source_dir .. "/spec/fixtures/review/"

local function tmpdir()
  local d = h.tmpname(".d")
  os.execute("mkdir -p " .. h.quote(d))
  return d
end

describe("checkpoint regressions", function()
  it("a source that finished before a checkpoint is not run again on restore", function()
    local d = tmpdir()
    local log = sh(("FLOWLUA_FAULT=%s timeout 60 %s %s --ck %s --out %s"):format(
      h.quote("op=m,subtask=0,after=40"), h.quote(h.bin), h.quote(fixtures .. "finished_src.lua"),
      h.quote(d .. "/ck"), h.quote(d .. "/out")))
    assert.truthy(log:find("restarts 1", 1, true), log)
    local lines = h.sorted_lines(sh("cat " .. h.quote(d) .. "/out/part-*"))
    assert.are.equal(65, #lines) -- a1..a5 and b1..b60, each once
    for i = 2, #lines do assert.are_not.equal(lines[i - 1], lines[i]) end
    os.execute("rm -rf " .. h.quote(d))
  end)

  it("records a C operator holds when the barrier passes are not lost", function()
    local d = tmpdir()
    local log = sh(("FLOWLUA_FAULT=%s timeout 60 %s %s --ck %s --out %s"):format(
      h.quote("op=m,subtask=0,after=1500"), h.quote(h.bin), h.quote(fixtures .. "cop_barrier.lua"),
      h.quote(d .. "/ck"), h.quote(d .. "/out")))
    assert.truthy(log:find("restarts 1", 1, true), log)
    local lines = h.sorted_lines(sh("cat " .. h.quote(d) .. "/out/part-*"))
    assert.are.equal(3000, #lines)
    os.execute("rm -rf " .. h.quote(d))
  end)

  it("at-least-once checkpoints complete when an input channel finishes", function()
    local d = tmpdir()
    sh(("timeout 60 %s %s --ck %s"):format(h.quote(h.bin), h.quote(fixtures .. "alo_stall.lua"), h.quote(d .. "/ck")))
    local chk = tonumber(sh("ls " .. h.quote(d) .. "/ck/*/"):match("chk%-(%d+)"))
    assert.is_true(chk ~= nil and chk > 5, "checkpoints kept completing: " .. tostring(chk))
    os.execute("rm -rf " .. h.quote(d))
  end)
end)

describe("window regressions", function()
  it("session windows survive garbage collection (windows compared by value)", function()
    local out, err, code = h.run_script([[
      local flow = require("flow")
      local env = flow.env{ parallelism = 1 }
      env:set_runtime_mode("streaming")
      env:from_sequence(1, 20000)
        :map(function(x) if x % 500 == 0 then collectgarbage() end return { "k" .. (x % 5), math.floor(x / 10), 1 } end)
        :assign_timestamps_and_watermarks(flow.watermarks.for_monotonous_timestamps()
          :with_timestamp_assigner(function(e) return e[2] end))
        :key_by(1):window(flow.windows.event_time_session(1000)):sum(3)
        :map(function(e) collectgarbage() return e[1] .. " " .. e[3] end):print()
      env:execute()
    ]])
    assert.are.equal(0, code, err)
    assert.are.same({ "k0 4000", "k1 4000", "k2 4000", "k3 4000", "k4 4000" }, h.sorted_lines(out))
  end)

  it("processing-time windows use the wall clock, not event timestamps", function()
    local out, err, code = h.run_script([[
      local flow = require("flow")
      local env = flow.env{ parallelism = 1 }
      env:set_runtime_mode("streaming")
      env:add_source(function(ctx)
        for i = 1, 10 do ctx:collect({ "k", i * 100000, 1 }) end
        ctx:sleep(2500)
      end)
        :assign_timestamps_and_watermarks(flow.watermarks.for_monotonous_timestamps()
          :with_timestamp_assigner(function(e) return e[2] end))
        :key_by(1):window(flow.windows.tumbling_processing_time(2000)):sum(3)
        :map(function(e) return e[3] end):print()
      env:execute()
    ]])
    assert.are.equal(0, code, err)
    local total, n = 0, 0
    for v in out:gmatch("%d+") do total, n = total + tonumber(v), n + 1 end
    assert.are.equal(10, total)
    assert.is_true(n <= 2, "records of a few ms share one or two windows, not ten: " .. out)
  end)

  it("a record that falls in no window is dropped, not late", function()
    local out, err, code = h.run_script([[
      local flow = require("flow")
      local env = flow.env{ parallelism = 1 }
      env:set_runtime_mode("streaming")
      local late = flow.output_tag("late")
      local s = env:from_collection({ { "k", 5 }, { "k", 50 }, { "k", 105 } })
        :assign_timestamps_and_watermarks(flow.watermarks.for_monotonous_timestamps()
          :with_timestamp_assigner(function(e) return e[2] end))
        :key_by(1):window(flow.windows.sliding_event_time(10, 100)):side_output_late_data(late)
        :reduce(function(a, b) return a end)
      s:map(function(e) return "window " .. e[2] end):print()
      s:get_side_output(late):map(function(e) return "LATE " .. e[2] end):print()
      env:execute()
    ]])
    assert.are.equal(0, code, err)
    assert.are.same({ "window 105", "window 5" }, h.sorted_lines(out))
  end)

  it("the batch combiner is not used when the aggregation changes the key", function()
    local out, err, code = h.run_script([[
      local flow = require("flow")
      local env = flow.env{ parallelism = 1 }
      env:from_collection({ 1, 2, 1, 3 }):key_by(1):sum(1):print()
      env:execute()
    ]])
    assert.are.equal(0, code, err)
    assert.are.same({ "2", "2", "3" }, h.sorted_lines(out))
  end)
end)

describe("line reading regressions", function()
  it("a line holding a NUL byte is read whole, once, at any parallelism", function()
    local input = h.write(h.tmpname(".txt"), "a\0b\nc\n")
    for _, p in ipairs { 1, 2 } do
      local out, err, code = h.run_script(([[
        local flow = require("flow")
        local env = flow.env{ parallelism = %d }
        env:read_text_file(%q):map(function(l) return "[" .. l:gsub("%%z", "0") .. "]" end):print()
        env:execute()
      ]]):format(p, input))
      assert.are.equal(0, code, err)
      assert.are.same({ "[a0b]", "[c]" }, h.sorted_lines(out, true))
    end
    os.remove(input)
  end)
end)
