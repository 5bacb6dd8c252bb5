-- The timer service (flow.runtime.timers), loaded directly: a priority
-- queue by time, deduplicated by (owner, key, namespace, time), fired in
-- order when time advances, snapshotted per owner.
local timers = require("flow.runtime.timers")

local function fired_by(svc, now)
  local fired = {}
  svc:advance(now, function(owner, key, ts, ns, d1, d2)
    fired[#fired + 1] = { owner = owner, key = key, ts = ts, ns = ns, d1 = d1, d2 = d2 }
  end)
  return fired
end

describe("timer service", function()
  local a, b = { name = "a" }, { name = "b" }

  it("fires due timers in time order, equal times in registration order", function()
    local svc = timers.new()
    svc:register(a, "k1", 30)
    svc:register(a, "k2", 10)
    svc:register(a, "k3", 20)
    svc:register(a, "k4", 10)
    assert.are.equal(10, svc:next_time())
    local f = fired_by(svc, 20)
    assert.are.same({ "k2", "k4", "k3" }, { f[1].key, f[2].key, f[3].key })
    assert.are.equal(3, #f)
    assert.are.equal(1, svc:size())
    assert.are.equal(30, svc:next_time())
    assert.are.same({}, fired_by(svc, 29))
    assert.are.equal(1, #fired_by(svc, math.huge))
    assert.is_nil(svc:next_time())
  end)

  it("keeps one timer per (owner, key, namespace, time)", function()
    local svc = timers.new()
    svc:register(a, "k", 10, nil, "first")
    svc:register(a, "k", 10, nil, "second") -- the same timer: ignored
    svc:register(a, "k", 10, "w1")
    svc:register(a, "j", 10)
    svc:register(b, "k", 10)
    svc:register(a, "k", 11)
    assert.are.equal(5, svc:size())
    local f = fired_by(svc, 10)
    assert.are.equal(4, #f)
    assert.are.equal("first", f[1].d1)
    assert.are.equal("w1", f[2].ns)
    assert.is_nil(f[1].ns) -- no namespace comes back as nil
    -- once fired, the same timer may be registered again
    svc:register(a, "k", 10)
    assert.are.equal(1, #fired_by(svc, 10))
  end)

  it("forgets deleted timers", function()
    local svc = timers.new()
    svc:register(a, "k", 5)
    svc:register(a, "k", 6, "w")
    svc:delete(a, "k", 5)
    svc:delete(a, "k", 6) -- another namespace: not this one
    svc:delete(b, "k", 6) -- unknown: ignored
    assert.are.equal(6, svc:next_time())
    local f = fired_by(svc, 100)
    assert.are.equal(1, #f)
    assert.are.equal("w", f[1].ns)
    svc:register(a, "k", 5) -- deleted, so registering again works
    assert.are.equal(1, #fired_by(svc, 100))
  end)

  it("fires timers registered while firing when they are due", function()
    local svc = timers.new()
    svc:register(a, "k", 1)
    local order = {}
    svc:advance(10, function(_, key, ts)
      order[#order + 1] = ts
      if ts < 4 then svc:register(a, key, ts + 1) end
      if ts == 1 then svc:register(a, key, 50) end
    end)
    assert.are.same({ 1, 2, 3, 4 }, order)
    assert.are.equal(50, svc:next_time())
  end)

  it("lets a timer be registered again while it fires, and keeps false data", function()
    local svc = timers.new()
    svc:register(a, "k", 5, nil, false)
    svc:register(a, "j", 5, nil, false)
    local seen = {}
    svc:advance(5, function(_, key, ts, _, d1)
      seen[#seen + 1] = key .. ":" .. tostring(d1)
      -- the firing timer is no longer pending: this is a new one (once)
      if #seen == 1 then
        svc:register(a, "k", ts, nil, "again")
        svc:register(a, "j", ts, nil, "dup") -- "j" is still pending: ignored
      end
    end)
    assert.are.same({ "k:false", "j:false", "k:again" }, seen)
    assert.are.equal(0, svc:size())
    svc:register(b, 0, 7, "w", false, false)
    svc:register(b, 1, 7, "w") -- a bucket shared by owners and namespaces
    svc:register(a, 0, 7, "w")
    svc:register(b, 0, 7, "v")
    svc:register(b, 0, 7, "w") -- pending: ignored
    assert.are.same({ { 0, 7, "w", false, false }, { 1, 7, "w" }, { 0, 7, "v" } }, svc:snapshot(b))
    svc:delete(b, 0, 7, "v")
    svc:delete(a, 0, 7, "w")
    assert.are.equal(2, #fired_by(svc, 7))
  end)

  it("orders many timers as a heap", function()
    local svc = timers.new()
    local times = {}
    math.randomseed(7)
    for i = 1, 500 do
      times[i] = math.random(1, 100000)
      svc:register(a, i, times[i])
    end
    table.sort(times)
    local got = {}
    for _, t in ipairs(fired_by(svc, math.huge)) do got[#got + 1] = t.ts end
    assert.are.same(times, got)
  end)

  it("snapshots one owner's live timers and restores them filtered", function()
    local svc = timers.new()
    svc:register(a, "k1", 10, nil, "d1", "d2")
    svc:register(a, "k2", 20, "w")
    svc:register(a, "k3", 30)
    svc:delete(a, "k3", 30)
    svc:register(b, "k4", 40)
    local snap = svc:snapshot(a)
    table.sort(snap, function(x, y) return x[2] < y[2] end)
    assert.are.same({ { "k1", 10, nil, "d1", "d2" }, { "k2", 20, "w" } }, snap)

    local again = timers.new()
    local owner = {}
    again:restore(owner, snap, function(t) return t[1] ~= "k2" end,
      function(d1, d2) return d1 and d1:upper(), d2 end)
    local f = fired_by(again, math.huge)
    assert.are.equal(1, #f)
    assert.are.equal(owner, f[1].owner)
    assert.are.same({ "k1", 10, "D1", "d2" }, { f[1].key, f[1].ts, f[1].d1, f[1].d2 })
  end)
end)
