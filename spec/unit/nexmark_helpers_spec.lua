-- flow.nexmark's helpers, loaded directly: UTC dates and minutes (which
-- remember the latest day / minute), CSV rows, and the event line format.
local nexmark = require("flow.nexmark")

describe("flow.nexmark", function()
  it("formats UTC dates and minutes, across day boundaries, in any order", function()
    local day = 86400000
    assert.are.equal("2023-11-14", nexmark.date(1700000000000))
    assert.are.equal("22:13", nexmark.minute(1700000000000))
    for _ = 1, 2 do -- back and forth: the remembered day must not leak
      assert.are.equal("2023-11-15", nexmark.date(19677 * day - 1))
      assert.are.equal("2023-11-16", nexmark.date(19677 * day))
      assert.are.equal("23:59", nexmark.minute(19677 * day - 1))
      assert.are.equal("00:00", nexmark.minute(19677 * day))
    end
    assert.are.equal("1970-01-01", nexmark.date(0))
    assert.are.equal("1969-12-31", nexmark.date(-1))
    assert.are.equal("2024-02-29", nexmark.date(19782 * day))
  end)

  it("writes CSV rows with integers in full", function()
    assert.are.equal("1700000000000,a b,2.5,-3", nexmark.csv({ 1700000000000, "a b", 2.5, -3 }))
  end)

  it("keeps bid statistics per band, distinct bidders and auctions", function()
    local s = nexmark.bid_stats()
    nexmark.add_bid(s, 1, 10, 5)       -- band 1
    nexmark.add_bid(s, 1, 11, 50000)   -- band 2, same bidder
    nexmark.add_bid(s, 2, 10, 5000000) -- band 3, same auction
    nexmark.add_bid(s, 1, 10, 9999)    -- band 1 again
    assert.are.same({ "x", 4, 2, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1 }, nexmark.stats_row(s, { "x" }))
  end)

  it("parses an event line to a flat event and formats it back", function()
    local line = '{"bid":{"auction":1000,"bidder":1001,"channel":"Apple","dateTime":5,"extra":"",'
      .. '"price":7,"url":"u"},"event_type":2}'
    local e = assert(nexmark.parse(line))
    assert.are.same({ event_type = 2, auction = 1000, bidder = 1001, channel = "Apple", dateTime = 5, extra = "",
      price = 7, url = "u" }, e)
    assert.are.equal(line, nexmark.format(e))
    local _, why = nexmark.parse('{"event_type":2,"bid":{"auction":1000}}')
    assert.truthy(why:find("bid.", 1, true), why)
    assert.is_nil((nexmark.parse("[1,2]")))
  end)
end)
