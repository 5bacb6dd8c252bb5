-- The plain-Lua Nexmark reference (spec/helpers/nexmark_ref.lua), loaded
-- directly: tiny hand-made event lists pin each query's rules (window
-- alignment to epoch 0 with exclusive ends, sliding membership, ties, join
-- order independence, q4's inclusive bounds and truncating average, q8's
-- distinct rows, q11's touching sessions, q14's strict integer bounds and
-- hour bands, q17's UTC days and price bands, q18's ties, q20's join, q21's
-- channel ids, q22's url pieces) so that the specs comparing the
-- real query scripts against it compare against the intended contract.
-- Event times are >= 10000 wherever windows matter, so no sliding window
-- (q5) starts before epoch 0.
local ref = require("helpers.nexmark_ref")

local function person(id, name, city, state, t)
  return { event_type = 0, person = {
    id = id, name = name, emailAddress = name .. "@x.com", creditCard = "1234",
    city = city, state = state, dateTime = t, extra = "" } }
end

local function auction(id, seller, category, t, expires)
  return { event_type = 1, auction = {
    id = id, itemName = "item" .. id, description = "d", initialBid = 1, reserve = 2,
    dateTime = t, expires = expires or t + 100000, seller = seller,
    category = category, extra = "" } }
end

-- `more` (optional) overrides fields: channel, url, extra
local function bid(auction_id, bidder, price, t, more)
  more = more or {}
  return { event_type = 2, bid = {
    auction = auction_id, bidder = bidder, price = price,
    channel = more.channel or "web", url = more.url or "http://x",
    dateTime = t, extra = more.extra or "" } }
end

-- rows sorted, whatever order the reference gives them in
local function run(query, events, opts)
  local rows = ref.run(query, events, opts)
  table.sort(rows)
  return rows
end

-- a copy of t, sorted (expected rows written in a readable order)
local function sorted(t)
  local c = {}
  for i, v in ipairs(t) do c[i] = v end
  table.sort(c)
  return c
end

local D, H, MIN = 86400000, 3600000, 60000

describe("nexmark reference", function()
  it("lists its queries and formats CSV values", function()
    assert.are.same({
      "q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8", "q11",
      "q14", "q17", "q18", "q20", "q21", "q22",
      "q13", "q15", "q16", "q19",
    }, ref.QUERIES)
    assert.are.equal("5,a b,0,-3,1700000000000", ref.csv(5, "a b", 0.0, -3, 1700000000000))
    assert.are.equal("2", ref.csv(10 / 5))
    assert.has_error(function() ref.csv(1, nil, 2) end)
    assert.has_error(function() ref.run("q6", {}) end)
  end)

  it("q0 passes every bid through", function()
    local ev = { bid(1, 2, 3, 10000), person(9, "p", "c", "OR", 1), bid(4, 5, 6, 7) }
    assert.are.same({ "1,2,3,10000", "4,5,6,7" }, run("q0", ev))
    assert.are.same({}, run("q0", {}))
  end)

  it("q1 converts prices with integer floor division", function()
    -- 1 * 908 // 1000 = 0; 1000 -> 908; 1101 * 908 = 999708 -> 999; 0 -> 0
    local ev = { bid(1, 2, 1, 10), bid(1, 2, 1000, 11), bid(1, 2, 1101, 12), bid(1, 2, 0, 13) }
    assert.are.same({ "1,2,0,10", "1,2,0,13", "1,2,908,11", "1,2,999,12" }, run("q1", ev))
  end)

  it("q2 keeps bids on auctions that are multiples of 123", function()
    local ev = { bid(0, 1, 5, 1), bid(122, 1, 6, 1), bid(123, 1, 7, 1),
                 bid(124, 1, 8, 1), bid(246, 1, 9, 1) }
    assert.are.same({ "0,5", "123,7", "246,9" }, run("q2", ev))
  end)

  it("q3 joins category-10 auctions with OR/ID/CA sellers in any order", function()
    local ev = {
      auction(100, 1, 10, 5), -- before its seller
      person(1, "ann", "portland", "OR", 10),
      person(2, "bob", "boise", "ID", 10),
      person(3, "cy", "sf", "CA", 10),
      person(4, "dee", "nyc", "NY", 10), -- state not kept
      auction(101, 2, 10, 20),
      auction(102, 3, 11, 20), -- category not kept
      auction(103, 4, 10, 20),
      auction(104, 3, 10, 20),
      auction(105, 1, 10, 30), -- a second auction of ann
      auction(106, 99, 10, 30), -- unknown seller
    }
    assert.are.same({
      "ann,portland,OR,100", "ann,portland,OR,105",
      "bob,boise,ID,101", "cy,sf,CA,104",
    }, run("q3", ev))
  end)

  it("q3 pairs an auction with every person of the seller's id", function()
    local ev = { person(1, "a1", "x", "CA", 1), auction(7, 1, 10, 2), person(1, "a2", "y", "OR", 3) }
    assert.are.same({ "a1,x,CA,7", "a2,y,OR,7" }, run("q3", ev))
  end)

  it("q4 averages the winning prices per category, bounds included, truncated", function()
    local ev = {
      bid(1, 9, 10, 1000), -- exactly at open (inclusive), arrives before its auction
      bid(1, 9, 98, 999), -- before open: ignored
      auction(1, 5, 7, 1000, 2000),
      bid(1, 9, 99, 2001), -- after expiry: ignored; winner of 1 is 10
      auction(2, 5, 7, 1000, 2000),
      bid(2, 9, 5, 2000), -- exactly at expiry (inclusive)
      bid(2, 9, 97, 2001), -- after expiry: ignored; winner of 2 is 5
      auction(3, 5, 7, 1000, 2000), -- no bid at all: left out; (10 + 5) // 2 = 7
      auction(4, 5, 8, 1000, 2000),
      bid(4, 9, 30, 3000), -- only a late bid: auction 4 left out, category 8 too
      auction(5, 5, 9, 1000, 2000),
      bid(5, 9, 3, 1200), bid(5, 9, 3, 1300), -- winner 3
      bid(6, 9, 1, 1200), -- unknown auction: ignored
      auction(7, 5, 9, 1000, 2000),
      bid(7, 9, 2, 1200), -- winner 2; (3 + 2) // 2 = 2, not 2.5
    }
    assert.are.same({ "7,7", "9,2" }, run("q4", ev))
  end)

  it("q5 counts bids in 5 sliding windows and keeps the per-window top auctions", function()
    -- one bid at 10000 is in the windows starting 2000, 4000, 6000, 8000, 10000
    assert.are.same({
      "10000,20000,1,1", "2000,12000,1,1", "4000,14000,1,1",
      "6000,16000,1,1", "8000,18000,1,1",
    }, run("q5", { bid(1, 1, 1, 10000) }))
    -- 11999 is in the windows starting 2000 .. 10000 too (not 12000)
    assert.are.equal(5, #run("q5", { bid(1, 1, 1, 11999) }))
    -- 12000 is in the windows starting 4000 .. 12000 (no longer 2000)
    assert.are.same({
      "10000,20000,1,1", "12000,22000,1,1", "4000,14000,1,1",
      "6000,16000,1,1", "8000,18000,1,1",
    }, run("q5", { bid(1, 1, 1, 12000) }))
  end)

  it("q5 keeps every auction tied for a window's maximum count", function()
    local ev = {
      bid(1, 1, 1, 20000), bid(1, 2, 1, 20500),
      bid(2, 1, 1, 21000), bid(2, 2, 1, 21999),
      bid(3, 1, 1, 21500),
      bid(3, 1, 1, 22000), bid(3, 1, 1, 29999), -- auction 3: 3 bids in the windows starting 14000 .. 20000
    }
    local rows = run("q5", ev)
    local by_window = {}
    for _, r in ipairs(rows) do
      local s = r:match("^(%d+),")
      by_window[s] = by_window[s] or {}
      table.insert(by_window[s], r)
    end
    -- [12000, 22000): auctions 1 and 2 tie with 2 bids, 3 has 1
    assert.are.same({ "12000,22000,1,2", "12000,22000,2,2" }, by_window["12000"])
    assert.are.same({ "20000,30000,3,3" }, by_window["20000"])
    -- [22000, 32000): only auction 3 (22000, 29999)
    assert.are.same({ "22000,32000,3,2" }, by_window["22000"])
    -- [28000, 38000): 29999 alone
    assert.are.same({ "28000,38000,3,1" }, by_window["28000"])
    assert.is_nil(by_window["30000"])
  end)

  it("q7 keeps every bid at the window's highest price, windows aligned and end-exclusive", function()
    local ev = {
      bid(1, 1, 5, 10000), bid(2, 2, 7, 15000), bid(3, 3, 7, 19999),
      bid(3, 3, 7, 19999), -- an identical bid: its own row
      bid(4, 4, 6, 12000),
      bid(5, 5, 1, 20000), -- exactly 20000: the next window
      bid(6, 6, 100, 9999), -- the window before
    }
    assert.are.same({
      "0,10000,6,6,100,9999",
      "10000,20000,2,2,7,15000",
      "10000,20000,3,3,7,19999",
      "10000,20000,3,3,7,19999",
      "20000,30000,5,5,1,20000",
    }, run("q7", ev))
  end)

  it("q8 reports sellers who joined in the same window, once each", function()
    local ev = {
      auction(100, 1, 10, 15000), -- before the person, same window
      person(1, "ann", "c", "OR", 12000),
      auction(101, 1, 10, 19999), -- a second auction: still one row
      person(2, "bob", "c", "OR", 19999),
      auction(102, 2, 10, 20000), -- next window: no match for bob
      person(3, "cy", "c", "OR", 20000),
      auction(103, 3, 10, 29999), -- same window as cy
      person(4, "dee", "c", "OR", 25000), -- no auction at all
      person(3, "cy", "c", "OR", 21000), -- the same person again: one row
      person(5, "eve", "c", "OR", 30000),
      auction(104, 5, 10, 45000), -- later window: no match
    }
    assert.are.same({ "1,ann,10000", "3,cy,20000" }, run("q8", ev))
  end)

  it("q11 merges bids exactly 10000 apart into one session, not 10001", function()
    local ev = {
      bid(1, 7, 1, 20000), bid(1, 8, 1, 10000),
      bid(2, 7, 1, 10000), -- out of order: sessions see event time
      bid(3, 7, 1, 30000), -- 10000 after 20000: same session
      bid(1, 7, 1, 40001), -- 10001 after 30000: a new session
      bid(1, 7, 1, 40001), -- the same time twice: both count
      bid(1, 8, 1, 20001), -- 10001 after 10000: a new session
      bid(1, 8, 1, 25000),
    }
    assert.are.same({
      "7,2,40001,50001",
      "7,3,10000,40000",
      "8,1,10000,20000",
      "8,2,20001,35000",
    }, run("q11", ev))
  end)

  it("q14 keeps prices strictly inside its integer bounds and converts them", function()
    -- 908 * price is never exactly 10^9 or 5 * 10^10 for an integer price
    -- (908 = 4 * 227), so the closest prices on each side pin the bounds:
    -- 1101321 * 908 = 999999468 (out), 1101322 * 908 = 1000000376 (in),
    -- 55066079 * 908 = 49999999732 (in), 55066080 * 908 = 50000000640 (out)
    local t = 10 * 3600000 -- 10:00 UTC: dayTime
    local ev = {
      bid(1, 1, 1101321, t), bid(2, 2, 1101322, t),
      bid(3, 3, 55066079, t), bid(4, 4, 55066080, t),
      bid(5, 5, 0, t), bid(6, 6, 1000000, t), -- 908000000: out
    }
    assert.are.same({
      "2,2,1000000,dayTime,36000000,0",
      "3,3,49999999,dayTime,36000000,0",
    }, run("q14", ev))
  end)

  it("q14 classifies the UTC hour at each band boundary and counts c's", function()
    local H, D = 3600000, 86400000
    local p = 2000000 -- 908 * p = 1816000000: in; price_eur 1816000
    local function one(t, extra)
      local rows = run("q14", { bid(1, 2, p, t, { extra = extra }) })
      assert.are.equal(1, #rows)
      local kind, count = rows[1]:match("^1,2,1816000,(%a+),%d+,(%d+)$")
      return kind, tonumber(count)
    end
    assert.are.equal("nightTime", one(0))
    assert.are.equal("nightTime", one(6 * H))
    assert.are.equal("nightTime", one(7 * H - 1)) -- still hour 6
    assert.are.equal("otherTime", one(7 * H))
    assert.are.equal("otherTime", one(8 * H - 1))
    assert.are.equal("dayTime", one(8 * H))
    assert.are.equal("dayTime", one(18 * H))
    assert.are.equal("dayTime", one(19 * H - 1)) -- still hour 18
    assert.are.equal("otherTime", one(19 * H))
    assert.are.equal("otherTime", one(20 * H - 1))
    assert.are.equal("nightTime", one(20 * H))
    assert.are.equal("nightTime", one(D - 1)) -- hour 23
    assert.are.equal("dayTime", one(19675 * D + 8 * H)) -- hours wrap per UTC day
    assert.are.equal("nightTime", one(1700000000000)) -- 2023-11-14T22:13:20Z: hour 22
    local _, n = one(10 * H, "")
    assert.are.equal(0, n)
    _, n = one(10 * H, "abcCcc c")
    assert.are.equal(4, n) -- upper-case C is not counted
    assert.are.same({ "1,2,1816000,dayTime,36000000,3" },
      run("q14", { bid(1, 2, p, 10 * H, { extra = "ccc" }) }))
  end)

  it("q17 groups bids per auction and UTC day, with price bands and a floor average", function()
    local D = 86400000
    local k = 19676 -- 19676 * D = 1700006400000 = 2023-11-15T00:00:00Z
    local ev = {
      bid(1, 1, 9999, 1700000000000), -- 2023-11-14T22:13:20Z: rank1
      bid(1, 2, 10000, k * D - 1), -- last ms of 2023-11-14: rank2
      bid(1, 3, 999999, 1700000000001), -- rank2
      bid(1, 4, 1000000, 1699999999999), -- rank3; sum 2019998 // 4 = 504999
      bid(1, 5, 7, k * D), -- first ms of 2023-11-15: a new day
      bid(2, 1, 5, k * D + 1), -- another auction, same day
      bid(2, 1, 6, k * D + D - 1), -- same day, last ms
    }
    assert.are.same({
      "1,2023-11-14,4,1,2,1,9999,1000000,504999,2019998",
      "1,2023-11-15,1,1,0,0,7,7,7,7",
      "2,2023-11-15,2,2,0,0,5,6,5,11",
    }, run("q17", ev))
  end)

  it("q17 names UTC days by the calendar (epoch, leap days, before epoch)", function()
    local D = 86400000
    local function day(t)
      return run("q17", { bid(1, 1, 1, t) })[1]:match("^1,([^,]+),")
    end
    assert.are.equal("1970-01-01", day(0))
    assert.are.equal("1970-01-01", day(D - 1))
    assert.are.equal("1970-01-02", day(D))
    assert.are.equal("1969-12-31", day(-1))
    assert.are.equal("2023-11-14", day(1700000000000))
    assert.are.equal("2000-02-29", day(11016 * D))
    assert.are.equal("2000-03-01", day(11017 * D))
    assert.are.equal("2024-02-29", day(19782 * D))
    assert.are.equal("2024-03-01", day(19783 * D))
    assert.are.equal("2023-02-28", day(19416 * D))
    assert.are.equal("2023-03-01", day(19417 * D))
    assert.are.equal("2100-03-01", day(47541 * D)) -- 2100 is not a leap year
  end)

  it("q18 keeps each pair's latest bid, the highest price among ties", function()
    local ev = {
      bid(1, 7, 5, 30), -- latest of (7, 1) together with the next two
      bid(1, 7, 9, 10), -- higher price, but earlier
      bid(1, 7, 6, 30), -- same latest time, higher price: the one kept
      bid(1, 7, 4, 30),
      bid(1, 8, 1, 5), -- another bidder on auction 1
      bid(2, 7, 3, 40), bid(2, 7, 3, 40), -- a full tie: one row
      bid(3, 7, 2, 50), bid(3, 7, 8, 49), -- later time wins over price
    }
    assert.are.same({ "1,7,6,30", "1,8,1,5", "2,7,3,40", "3,7,2,50" }, run("q18", ev))
  end)

  it("q20 joins bids with category-10 auctions in any order", function()
    local ev = {
      bid(100, 1, 11, 1000), -- before its auction
      auction(100, 5, 10, 500),
      bid(100, 2, 12, 2000), -- after its auction
      auction(101, 6, 11, 500), -- category not kept
      bid(101, 3, 13, 1500),
      bid(999, 4, 14, 1500), -- no such auction
      auction(102, 7, 10, 500), -- no bids
    }
    assert.are.same({
      "100,1,11,1000,item100,5,10",
      "100,2,12,2000,item100,5,10",
    }, run("q20", ev))
  end)

  it("q21 maps hot channels in any case, else reads channel_id from the url", function()
    local function b(n, channel, url)
      return bid(n, 1, 5, 10, { channel = channel, url = url })
    end
    local ev = {
      b(1, "Apple", "channel_id=9"), -- a hot channel wins over the url
      b(2, "GOOGLE", "http://x"),
      b(3, "facebook", "http://x"),
      b(4, "BaiDu", "http://x"),
      b(5, "applex", "http://x"), -- not a hot channel, no parameter: out
      b(6, "web", "channel_id=abc&x=1"), -- at the start
      b(7, "web", "https://x/a?x=1&channel_id=42&y=2"), -- after &
      b(8, "web", "https://x/a?x=1&channel_id=7"), -- after &, to the end
      b(9, "web", "https://x/a?xchannel_id=5"), -- not after &: out
      b(10, "web", "https://x/a?channel_id=5"), -- after ?: out
      b(11, "web", "https://x/a?x=1&channel_id=&y=2"), -- empty value: ""
      b(12, "web", "a=1&channel_id="), -- empty value at the end: ""
      b(13, "web", "xchannel_id=1&channel_id=2&channel_id=3"), -- the first match
      b(14, "web", ""),
    }
    assert.are.same({
      "1,1,5,Apple,0",
      "11,1,5,web,",
      "12,1,5,web,",
      "13,1,5,web,2",
      "2,1,5,GOOGLE,1",
      "3,1,5,facebook,2",
      "4,1,5,BaiDu,3",
      "6,1,5,web,abc",
      "7,1,5,web,42",
      "8,1,5,web,7",
    }, run("q21", ev))
  end)

  it("q22 takes url pieces 3, 4 and 5, empty pieces kept, short urls padded", function()
    local function b(n, url)
      return bid(n, 1, 5, 10, { channel = "ch", url = url })
    end
    local ev = {
      b(1, "https://www.nexmark.com/a/b/c/x"),
      b(2, "https://www.nexmark.com/a/b/c"),
      b(3, "https://www.nexmark.com/a"),
      b(4, "https://www.nexmark.com/"), -- piece 3 is "" (after the last /)
      b(5, "http://x"),
      b(6, "a//b/c//d"), -- a, "", b, c, "", d
      b(7, "https://h//b//"), -- https:, "", h, "", b, "", ""
      b(8, "noslash"),
      b(9, ""),
    }
    assert.are.same({
      "1,1,5,ch,a,b,c",
      "2,1,5,ch,a,b,c",
      "3,1,5,ch,a,,",
      "4,1,5,ch,,,",
      "5,1,5,ch,,,",
      "6,1,5,ch,c,,d",
      "7,1,5,ch,,b,",
      "8,1,5,ch,,,",
      "9,1,5,ch,,,",
    }, run("q22", ev))
  end)

  it("q13 joins bids with the side input on auction % 10000, the last line of a key winning", function()
    local path = os.tmpname()
    finally(function() os.remove(path) end)
    local f = assert(io.open(path, "wb"))
    f:write("1,one\n7,seven\n\n42,old\n2345,big\n42,new\n")
    f:close()
    local ev = {
      bid(1, 10, 100, 1000), -- key 1
      bid(3, 11, 101, 1001), -- no key 3: out
      bid(42, 12, 102, 1002), -- key 42 twice in the file: the last line
      bid(10042, 13, 103, 1003), -- 10042 % 10000 = 42
      bid(9000000000042, 14, 104, 1004), -- a large id: 42 too
      bid(1234562345, 15, 105, 1005), -- 2345
      bid(10000, 16, 106, 1006), -- key 0: out
      bid(10007, 17, 107, 1007), -- 7
      person(1, "p", "c", "OR", 1), auction(1, 1, 10, 1), -- not bids: ignored
    }
    assert.are.same({
      "1,10,100,1000,one",
      "10007,17,107,1007,seven",
      "10042,13,103,1003,new",
      "1234562345,15,105,1005,big",
      "42,12,102,1002,new",
      "9000000000042,14,104,1004,new",
    }, run("q13", ev, { side_input = path }))
    assert.are.same({}, run("q13", { bid(5, 1, 1, 1) }, { side_input = path }))
  end)

  it("q13 needs its side input", function()
    assert.has_error(function() ref.run("q13", { bid(1, 1, 1, 1) }) end,
      "nexmark_ref: q13 needs opts.side_input, the path of its side input file")
    assert.has_error(function() ref.run("q13", {}, {}) end,
      "nexmark_ref: q13 needs opts.side_input, the path of its side input file")
  end)

  it("q15 counts bids, distinct bidders and distinct auctions per UTC day and price band", function()
    local k = 19676 -- k * D = 2023-11-15T00:00:00Z
    local t = 1700000000000 -- 2023-11-14T22:13:20Z
    local ev = {
      bid(1, 1, 9999, t), -- rank1
      bid(1, 1, 5, k * D - 1), -- rank1, same bidder and auction: one each; last ms of the day
      bid(2, 1, 10000, t + 1), -- rank2: bidder 1 again, counted once in the total
      bid(2, 2, 999999, t + 2), -- rank2: 2 bidders, 1 auction
      bid(3, 3, 1000000, t + 3), -- rank3
      bid(1, 3, 2000000, t + 4), -- rank3: 1 bidder, 2 auctions
      bid(1, 1, 7, k * D), -- first ms of 2023-11-15: a new day
    }
    -- day,bids(total,r1,r2,r3),bidders(total,r1,r2,r3),auctions(total,r1,r2,r3)
    assert.are.same({
      "2023-11-14,6,2,2,2,3,1,2,1,3,1,1,2",
      "2023-11-15,1,1,0,0,1,1,0,0,1,1,0,0",
    }, run("q15", ev))
    assert.are.same({}, run("q15", {}))
  end)

  it("q16 counts per channel and UTC day with the latest zero-padded HH:MM", function()
    local k = 19676 -- k * D = 2023-11-15T00:00:00Z
    local t0 = (k - 1) * D -- 2023-11-14T00:00:00Z
    local function b(auction_id, bidder, price, t, channel)
      return bid(auction_id, bidder, price, t, { channel = channel })
    end
    local ev = {
      b(1, 1, 5, t0 + 9 * H + 5 * MIN, "apple"), -- 09:05, rank1
      b(1, 2, 5, t0 + D - 1, "apple"), -- 23:59 (last ms of the day), rank1: the latest
      b(2, 1, 20000, t0 + 10 * H, "apple"), -- 10:00, rank2
      b(3, 4, 1000000, t0 + 10 * H, "web"), -- 10:00, rank3
      b(3, 4, 3000000, t0 + 9 * H + 59 * MIN + 59999, "web"), -- 09:59: "10:00" is later, not "9:59"
      b(1, 1, 5, k * D + 5 * MIN + 1, "apple"), -- next day, 00:05
      b(1, 1, 5, k * D, "apple"), -- next day, 00:00
      b(1, 1, 5, t0 + H, "Apple"), -- another channel (as it is, case kept)
    }
    assert.are.same({
      "Apple,2023-11-14,01:00,1,1,0,0,1,1,0,0,1,1,0,0",
      "apple,2023-11-14,23:59,3,2,1,0,2,2,1,0,2,1,1,0",
      "apple,2023-11-15,00:05,2,2,0,0,1,1,0,0,1,1,0,0",
      "web,2023-11-14,10:00,2,0,0,2,1,0,0,1,1,0,0,1",
    }, run("q16", ev))
  end)

  it("q19 ranks each auction's bids by price, then time, then bidder, and keeps 10", function()
    local ev = {
      bid(1, 1, 100, 50),
      bid(1, 12, 70, 3),
      bid(1, 3, 100, 40), -- ties 2's price and time: bidder 2 first
      bid(1, 4, 40, 61), -- ties the 10th's price, later: out
      bid(1, 2, 100, 40),
      bid(1, 10, 90, 1),
      bid(1, 6, 40, 60), -- ties the 10th's price and time, larger bidder: out
      bid(1, 11, 80, 2),
      bid(1, 13, 60, 4),
      bid(1, 99, 30, 0), -- lowest price: out
      bid(1, 14, 50, 5),
      bid(1, 5, 40, 60), -- the 10th
      bid(1, 9, 200, 90), -- the highest price: first, however late
      bid(2, 1, 5, 10), bid(2, 2, 6, 20), -- fewer than 10 bids: all kept
      bid(3, 1, 5, 10), bid(3, 1, 5, 10), -- identical bids: consecutive ranks
    }
    assert.are.same(sorted {
      "1,9,200,90,1",
      "1,2,100,40,2",
      "1,3,100,40,3",
      "1,1,100,50,4",
      "1,10,90,1,5",
      "1,11,80,2,6",
      "1,12,70,3,7",
      "1,13,60,4,8",
      "1,14,50,5,9",
      "1,5,40,60,10",
      "2,2,6,20,1",
      "2,1,5,10,2",
      "3,1,5,10,1",
      "3,1,5,10,2",
    }, run("q19", ev))
  end)
end)
