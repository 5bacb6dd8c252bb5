--- A plain-Lua reference of the Nexmark queries, written for clarity, not
--- speed: the whole (finite) input is in memory and every query is a few
--- loops over it. Specs run the real flowlua query scripts and compare their
--- CSV rows with `M.run(query, events [, opts])` (compare sorted: row order
--- is free; q13 needs opts.side_input, the path of its side input file).
--- Not a spec itself.
---
--- Events are decoded JSON lines:
---   { event_type = 0, person  = { id, name, emailAddress, creditCard, city, state, dateTime, extra } }
---   { event_type = 1, auction = { id, itemName, description, initialBid, reserve, dateTime, expires, seller, category, extra } }
---   { event_type = 2, bid     = { auction, bidder, price, channel, url, dateTime, extra } }
---
--- Shared rules:
---   * event time is `dateTime` (epoch milliseconds);
---   * windows align to epoch 0: the tumbling window of size S holding t
---     starts at t - t % S; a window [start, end) excludes its end;
---   * the input is finite and a final watermark fires every window, so every
---     event counts (nothing is late for the reference).

local M = {}

M.QUERIES = {
  "q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8", "q11",
  "q14", "q17", "q18", "q20", "q21", "q22",
  "q13", "q15", "q16", "q19",
}

local TEN_SECONDS = 10000 -- tumbling window size (q7, q8) and session gap (q11)
local SLIDE_SIZE, SLIDE_STEP = 10000, 2000 -- q5's sliding windows
local MINUTE, HOUR, DAY = 60000, 3600000, 86400000 -- milliseconds (q14, q15, q16, q17)
local Q13_MODULUS = 10000 -- q13's side input key is bid.auction % 10000
local Q19_TOP = 10 -- q19 keeps this many bids per auction

-- ---------------------------------------------------------------------------
-- helpers

-- Integer floor division (no `//` in LuaJIT / Lua 5.1).
local function idiv(a, b)
  return math.floor(a / b)
end

-- One value as CSV text: integers without ".0", strings as they are.
local function field(v)
  local t = type(v)
  if t == "number" then
    if v == math.floor(v) and v > -2 ^ 63 and v < 2 ^ 63 then
      return string.format("%d", v)
    end
    return string.format("%.17g", v)
  elseif t == "string" then
    return v
  elseif t == "cdata" then -- a LuaJIT int64 (5LL, 5ULL)
    return (tostring(v):gsub("[UuLl]+$", ""))
  elseif t == "boolean" then
    return tostring(v)
  end
  error("nexmark_ref.csv: cannot print a " .. t .. " value", 3)
end

--- Joins values with "," (no quoting, no spaces). A nil value is an error
--- (a missing field in the input is a bug worth hearing about).
function M.csv(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do
    local v = select(i, ...)
    if v == nil then
      error("nexmark_ref.csv: value " .. i .. " of " .. n .. " is nil", 2)
    end
    parts[i] = field(v)
  end
  return table.concat(parts, ",")
end
local csv = M.csv
local unpack = unpack or table.unpack

-- The start of the tumbling window of `size` holding t (aligned to epoch 0).
local function tumble_start(t, size)
  return t - t % size
end

-- The UTC date "YYYY-MM-DD" of t (epoch milliseconds), from the epoch day
-- number floor(t / DAY) by the civil-from-days algorithm (proleptic
-- Gregorian calendar; H. Hinnant). Plain arithmetic: no os.date, whose
-- result would depend on the local time zone.
local function utc_date(t)
  local z = idiv(t, DAY) + 719468 -- days since 0000-03-01
  local era = idiv(z, 146097) -- 400-year eras
  local doe = z - era * 146097 -- [0, 146096]
  local yoe = idiv(doe - idiv(doe, 1460) + idiv(doe, 36524) - idiv(doe, 146096), 365) -- [0, 399]
  local doy = doe - (365 * yoe + idiv(yoe, 4) - idiv(yoe, 100)) -- [0, 365], from March 1st
  local mp = idiv(5 * doy + 2, 153) -- [0, 11], March = 0
  local d = doy - idiv(153 * mp + 2, 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return string.format("%04d-%02d-%02d", y, m, d)
end

-- The UTC "HH:MM" of t (epoch milliseconds), zero-padded: within one day,
-- string order is time order.
local function utc_minute(t)
  return string.format("%02d:%02d", idiv(t, HOUR) % 24, idiv(t, MINUTE) % 60)
end

-- The persons, auctions and bids of the input, each list in input order.
local function split(events)
  local persons, auctions, bids = {}, {}, {}
  for _, e in ipairs(events) do
    if e.event_type == 0 then
      persons[#persons + 1] = e.person
    elseif e.event_type == 1 then
      auctions[#auctions + 1] = e.auction
    elseif e.event_type == 2 then
      bids[#bids + 1] = e.bid
    else
      error("nexmark_ref: unknown event_type " .. tostring(e.event_type))
    end
  end
  return persons, auctions, bids
end

-- Groups list items by key(item) (a string or number); returns the groups
-- (key -> items in input order) and the keys in first-seen order.
local function group_by(list, key)
  local groups, keys = {}, {}
  for _, item in ipairs(list) do
    local k = key(item)
    if groups[k] == nil then
      groups[k] = {}
      keys[#keys + 1] = k
    end
    local g = groups[k]
    g[#g + 1] = item
  end
  return groups, keys
end

-- ---------------------------------------------------------------------------
-- the queries: each takes (persons, auctions, bids, opts) and returns CSV rows

local Q = {}

-- q0 (pass-through): every bid as auction,bidder,price,dateTime.
function Q.q0(_, _, bids)
  local rows = {}
  for _, b in ipairs(bids) do
    rows[#rows + 1] = csv(b.auction, b.bidder, b.price, b.dateTime)
  end
  return rows
end

-- q1 (currency conversion): every bid with its price in euros,
-- price_eur = price * 908 // 1000 (integer floor division).
function Q.q1(_, _, bids)
  local rows = {}
  for _, b in ipairs(bids) do
    rows[#rows + 1] = csv(b.auction, b.bidder, idiv(b.price * 908, 1000), b.dateTime)
  end
  return rows
end

-- q2 (selection): bids on auctions whose id is a multiple of 123:
-- auction,price.
function Q.q2(_, _, bids)
  local rows = {}
  for _, b in ipairs(bids) do
    if b.auction % 123 == 0 then
      rows[#rows + 1] = csv(b.auction, b.price)
    end
  end
  return rows
end

-- q3 (local item suggestion): auctions of category 10 joined with their
-- seller (auction.seller == person.id) when the person's state is OR, ID or
-- CA: name,city,state,auction_id. The join sees the whole input, whatever
-- the order of arrival; several persons with one id give one row each.
local Q3_STATES = { OR = true, ID = true, CA = true }

function Q.q3(persons, auctions)
  local sellers = group_by(persons, function(p) return p.id end)
  local rows = {}
  for _, a in ipairs(auctions) do
    if a.category == 10 then
      for _, p in ipairs(sellers[a.seller] or {}) do
        if Q3_STATES[p.state] then
          rows[#rows + 1] = csv(p.name, p.city, p.state, a.id)
        end
      end
    end
  end
  return rows
end

-- q4 (average price per category): an auction's winning price is the highest
-- price of its bids (bid.auction == auction.id) placed while it was open,
-- auction.dateTime <= bid.dateTime <= auction.expires (both ends included;
-- bids may come before their auction in the input). Auctions without such a
-- bid are left out. Per category with a winning auction:
-- category,avg with avg = sum of winning prices // number of such auctions.
function Q.q4(_, auctions, bids)
  local bids_of = group_by(bids, function(b) return b.auction end)
  local sum, count = {}, {}
  local categories = {}
  for _, a in ipairs(auctions) do
    local best
    for _, b in ipairs(bids_of[a.id] or {}) do
      if a.dateTime <= b.dateTime and b.dateTime <= a.expires then
        if best == nil or b.price > best then best = b.price end
      end
    end
    if best ~= nil then
      local c = a.category
      if sum[c] == nil then
        sum[c], count[c] = 0, 0
        categories[#categories + 1] = c
      end
      sum[c] = sum[c] + best
      count[c] = count[c] + 1
    end
  end
  local rows = {}
  for _, c in ipairs(categories) do
    rows[#rows + 1] = csv(c, idiv(sum[c], count[c]))
  end
  return rows
end

-- q5 (hot items): sliding windows of 10 s every 2 s; a bid at t belongs to
-- the 5 windows [s, s + 10000) with s a multiple of 2000 and
-- s <= t < s + 10000. Bids are counted per (window, auction); per window,
-- every auction whose count is the window's maximum:
-- window_start,window_end,auction,num (ties give several rows).
function Q.q5(_, _, bids)
  local counts = {} -- window start -> auction -> count
  local starts = {}
  for _, b in ipairs(bids) do
    local last = tumble_start(b.dateTime, SLIDE_STEP)
    for s = last - SLIDE_SIZE + SLIDE_STEP, last, SLIDE_STEP do
      -- s <= t < s + SLIDE_SIZE holds for exactly these s
      if counts[s] == nil then
        counts[s] = {}
        starts[#starts + 1] = s
      end
      counts[s][b.auction] = (counts[s][b.auction] or 0) + 1
    end
  end
  local rows = {}
  for _, s in ipairs(starts) do
    local max = 0
    for _, n in pairs(counts[s]) do
      if n > max then max = n end
    end
    for auction, n in pairs(counts[s]) do
      if n == max then
        rows[#rows + 1] = csv(s, s + SLIDE_SIZE, auction, n)
      end
    end
  end
  return rows
end

-- q7 (highest bid): tumbling windows of 10 s; per window, every bid whose
-- price equals the window's highest price:
-- window_start,window_end,auction,bidder,price,dateTime (one row per such
-- bid, identical bids included).
function Q.q7(_, _, bids)
  local windows, starts = group_by(bids, function(b)
    return tumble_start(b.dateTime, TEN_SECONDS)
  end)
  local rows = {}
  for _, s in ipairs(starts) do
    local max
    for _, b in ipairs(windows[s]) do
      if max == nil or b.price > max then max = b.price end
    end
    for _, b in ipairs(windows[s]) do
      if b.price == max then
        rows[#rows + 1] = csv(s, s + TEN_SECONDS, b.auction, b.bidder, b.price, b.dateTime)
      end
    end
  end
  return rows
end

-- q8 (monitor new users): tumbling windows of 10 s; a person (in the window
-- of the person's dateTime) who is the seller of at least one auction in the
-- same window (the auction's dateTime): distinct rows id,name,window_start.
function Q.q8(persons, auctions)
  local sells = {} -- "window/seller" -> true
  for _, a in ipairs(auctions) do
    sells[tumble_start(a.dateTime, TEN_SECONDS) .. "/" .. field(a.seller)] = true
  end
  local rows, seen = {}, {}
  for _, p in ipairs(persons) do
    local s = tumble_start(p.dateTime, TEN_SECONDS)
    if sells[s .. "/" .. field(p.id)] then
      local row = csv(p.id, p.name, s)
      if not seen[row] then
        seen[row] = true
        rows[#rows + 1] = row
      end
    end
  end
  return rows
end

-- q11 (user sessions): per bidder, event-time session windows with a 10 s
-- gap: each bid is a window [dateTime, dateTime + 10000) and windows that
-- overlap or touch merge (bids exactly 10000 ms apart share a session,
-- 10001 ms apart do not). One row per session:
-- bidder,bid_count,session_start,session_end with session_start the first
-- bid's dateTime and session_end the last bid's dateTime + 10000.
function Q.q11(_, _, bids)
  local by_bidder, bidders = group_by(bids, function(b) return b.bidder end)
  local rows = {}
  for _, bidder in ipairs(bidders) do
    local times = {}
    for i, b in ipairs(by_bidder[bidder]) do times[i] = b.dateTime end
    table.sort(times)
    local start, last, n = times[1], times[1], 1
    for i = 2, #times do
      local t = times[i]
      if t <= last + TEN_SECONDS then -- overlaps or touches [.., last + gap)
        last, n = t, n + 1
      else
        rows[#rows + 1] = csv(bidder, n, start, last + TEN_SECONDS)
        start, last, n = t, t, 1
      end
    end
    rows[#rows + 1] = csv(bidder, n, start, last + TEN_SECONDS)
  end
  return rows
end

-- q13 (bounded side input join): the side input file opts.side_input holds
-- lines key,value (key an integer, value a string without commas; empty
-- lines skipped; a key repeated in the file: its last line wins). Each bid
-- whose key = auction % 10000 is in the side input gives
-- auction,bidder,price,dateTime,value; bids without a match are left out.
local function read_side_input(path)
  local f, err = io.open(path, "rb")
  if f == nil then
    error("nexmark_ref: q13 cannot read its side input: " .. tostring(err), 0)
  end
  local values, n = {}, 0
  for line in f:lines() do
    n = n + 1
    line = line:gsub("\r$", "")
    if line ~= "" then
      local key, value = line:match("^([^,]*),([^,]*)$")
      local k = tonumber(key)
      if k == nil or k ~= math.floor(k) then
        f:close()
        error("nexmark_ref: q13 side input " .. path .. ":" .. n
          .. ": not key,value with an integer key: " .. line, 0)
      end
      values[k] = value -- a later line replaces an earlier one
    end
  end
  f:close()
  return values
end

function Q.q13(_, _, bids, opts)
  local path = opts and opts.side_input
  if path == nil then -- level 3: the caller of M.run
    error("nexmark_ref: q13 needs opts.side_input, the path of its side input file", 3)
  end
  local values = read_side_input(path)
  local rows = {}
  for _, b in ipairs(bids) do
    local value = values[tonumber(b.auction % Q13_MODULUS)]
    if value ~= nil then
      rows[#rows + 1] = csv(b.auction, b.bidder, b.price, b.dateTime, value)
    end
  end
  return rows
end

-- q14 (calculation): bids with 1 000 000 < 0.908 * price < 50 000 000,
-- tested exactly in integers (price * 908 > 10^9 and price * 908 < 5 * 10^10):
-- auction,bidder,price_eur,bidTimeType,dateTime,c_count with
-- price_eur = price * 908 // 1000; bidTimeType from the UTC hour
-- h = floor(dateTime / 3600000) % 24: "dayTime" if 8 <= h <= 18, "nightTime"
-- if h <= 6 or h >= 20, else (7, 19) "otherTime"; c_count = the number of
-- bytes "c" in extra (lower case only).
local function bid_time_type(t)
  local h = idiv(t, HOUR) % 24
  if h >= 8 and h <= 18 then
    return "dayTime"
  elseif h <= 6 or h >= 20 then
    return "nightTime"
  end
  return "otherTime"
end

function Q.q14(_, _, bids)
  local rows = {}
  for _, b in ipairs(bids) do
    local p908 = b.price * 908
    if p908 > 1000000000 and p908 < 50000000000 then
      local _, c_count = string.gsub(b.extra, "c", "")
      rows[#rows + 1] = csv(b.auction, b.bidder, idiv(p908, 1000),
        bid_time_type(b.dateTime), b.dateTime, c_count)
    end
  end
  return rows
end

-- q15 (bidding statistics per day): per UTC day "YYYY-MM-DD" (as q17):
-- day,total_bids,rank1_bids,rank2_bids,rank3_bids,total_bidders,
-- rank1_bidders,rank2_bidders,rank3_bidders,total_auctions,rank1_auctions,
-- rank2_auctions,rank3_auctions with rank1 = price < 10000,
-- rank2 = 10000 <= price < 1000000, rank3 = price >= 1000000; *_bids count
-- bids, *_bidders the DISTINCT bidders of those bids, *_auctions the DISTINCT
-- auctions of those bids.

-- The 12 counts of q15 (and q16) over a group of bids, in column order.
local function band_counts(g)
  local bids = { 0, 0, 0, 0 } -- total, rank1, rank2, rank3
  local bidders, auctions = { {}, {}, {}, {} }, { {}, {}, {}, {} } -- sets
  local n_bidders, n_auctions = { 0, 0, 0, 0 }, { 0, 0, 0, 0 }
  for _, b in ipairs(g) do
    local p = b.price
    local band = p < 10000 and 2 or p < 1000000 and 3 or 4
    local bidder, auction = field(b.bidder), field(b.auction)
    for _, i in ipairs { 1, band } do
      bids[i] = bids[i] + 1
      if not bidders[i][bidder] then
        bidders[i][bidder] = true
        n_bidders[i] = n_bidders[i] + 1
      end
      if not auctions[i][auction] then
        auctions[i][auction] = true
        n_auctions[i] = n_auctions[i] + 1
      end
    end
  end
  local counts = {}
  for _, column in ipairs { bids, n_bidders, n_auctions } do
    for i = 1, 4 do counts[#counts + 1] = column[i] end
  end
  return counts
end

function Q.q15(_, _, bids)
  local groups, days = group_by(bids, function(b) return utc_date(b.dateTime) end)
  local rows = {}
  for _, day in ipairs(days) do
    rows[#rows + 1] = csv(day, unpack(band_counts(groups[day])))
  end
  return rows
end

-- q16 (channel statistics per day): as q15 per (channel, UTC day), with the
-- group's latest minute: channel,day,minute, then q15's 12 counts, where
-- minute = the largest UTC "HH:MM" (zero-padded) of the group's bids.
function Q.q16(_, _, bids)
  local groups, keys = group_by(bids, function(b)
    return b.channel .. "\0" .. utc_date(b.dateTime)
  end)
  local rows = {}
  for _, k in ipairs(keys) do
    local g = groups[k]
    local minute
    for _, b in ipairs(g) do
      local m = utc_minute(b.dateTime)
      if minute == nil or m > minute then minute = m end
    end
    rows[#rows + 1] = csv(g[1].channel, utc_date(g[1].dateTime), minute,
      unpack(band_counts(g)))
  end
  return rows
end

-- q17 (auction statistics per day): per (auction, day) with day the UTC date
-- "YYYY-MM-DD" of the bid's dateTime (days start at multiples of 86400000),
-- over all its bids: auction,day,total_bids,rank1_bids,rank2_bids,rank3_bids,
-- min_price,max_price,avg_price,sum_price with rank1 = price < 10000,
-- rank2 = 10000 <= price < 1000000, rank3 = price >= 1000000 and
-- avg_price = sum_price // total_bids.
function Q.q17(_, _, bids)
  local groups, keys = group_by(bids, function(b)
    return field(b.auction) .. "/" .. utc_date(b.dateTime)
  end)
  local rows = {}
  for _, k in ipairs(keys) do
    local g = groups[k]
    local n, r1, r2, r3, min, max, sum = #g, 0, 0, 0, nil, nil, 0
    for _, b in ipairs(g) do
      local p = b.price
      if p < 10000 then
        r1 = r1 + 1
      elseif p < 1000000 then
        r2 = r2 + 1
      else
        r3 = r3 + 1
      end
      if min == nil or p < min then min = p end
      if max == nil or p > max then max = p end
      sum = sum + p
    end
    rows[#rows + 1] = csv(g[1].auction, utc_date(g[1].dateTime), n, r1, r2, r3,
      min, max, idiv(sum, n), sum)
  end
  return rows
end

-- q18 (last bid per bidder and auction): per (bidder, auction), the bid with
-- the largest dateTime, and among those the largest price:
-- auction,bidder,price,dateTime (one row per pair, even when bids tie fully).
function Q.q18(_, _, bids)
  local groups, keys = group_by(bids, function(b)
    return field(b.bidder) .. "/" .. field(b.auction)
  end)
  local rows = {}
  for _, k in ipairs(keys) do
    local best
    for _, b in ipairs(groups[k]) do
      if best == nil or b.dateTime > best.dateTime
          or (b.dateTime == best.dateTime and b.price > best.price) then
        best = b
      end
    end
    rows[#rows + 1] = csv(best.auction, best.bidder, best.price, best.dateTime)
  end
  return rows
end

-- q19 (top 10 bids per auction): per auction, its bids ordered by price
-- descending, then dateTime ascending, then bidder ascending; the first 10
-- (or fewer): auction,bidder,price,dateTime,rank with rank 1..10 in order
-- (identical bids take consecutive ranks).
local function q19_before(a, b)
  if a.price ~= b.price then return a.price > b.price end
  if a.dateTime ~= b.dateTime then return a.dateTime < b.dateTime end
  return a.bidder < b.bidder
end

function Q.q19(_, _, bids)
  local groups, keys = group_by(bids, function(b) return field(b.auction) end)
  local rows = {}
  for _, k in ipairs(keys) do
    local g = {}
    for i, b in ipairs(groups[k]) do g[i] = b end
    table.sort(g, q19_before)
    for rank = 1, math.min(#g, Q19_TOP) do
      local b = g[rank]
      rows[#rows + 1] = csv(b.auction, b.bidder, b.price, b.dateTime, rank)
    end
  end
  return rows
end

-- q20 (expand bids with auction info): every pair (bid, auction) with
-- bid.auction == auction.id and auction.category == 10, whatever their order
-- in the input (several auctions with one id give one row each):
-- auction,bidder,price,dateTime,itemName,seller,category (dateTime the bid's).
function Q.q20(_, auctions, bids)
  local by_id = group_by(auctions, function(a) return a.id end)
  local rows = {}
  for _, b in ipairs(bids) do
    for _, a in ipairs(by_id[b.auction] or {}) do
      if a.category == 10 then
        rows[#rows + 1] = csv(b.auction, b.bidder, b.price, b.dateTime,
          a.itemName, a.seller, a.category)
      end
    end
  end
  return rows
end

-- q21 (channel id): per bid, channel_id = "0", "1", "2", "3" when
-- lower(channel) is "apple", "google", "facebook", "baidu"; otherwise the
-- url's parameter: regex (&|^)channel_id=([^&]*), group 2 of the first match
-- (so "channel_id=" at the start of the url or right after "&", never after
-- "?" or another character; an empty value is found and is ""). Bids without
-- a channel_id are left out: auction,bidder,price,channel,channel_id.
local HOT_CHANNELS = { apple = "0", google = "1", facebook = "2", baidu = "3" }

local function url_channel_id(url)
  -- the leftmost match: at the start, else after the first "&channel_id="
  return url:match("^channel_id=([^&]*)") or url:match("&channel_id=([^&]*)")
end

function Q.q21(_, _, bids)
  local rows = {}
  for _, b in ipairs(bids) do
    local id = HOT_CHANNELS[string.lower(b.channel)] or url_channel_id(b.url)
    if id ~= nil then
      rows[#rows + 1] = csv(b.auction, b.bidder, b.price, b.channel, id)
    end
  end
  return rows
end

-- q22 (url directories): per bid, the url split at every "/" (empty pieces
-- kept; 0-based: "https://www.nexmark.com/a/b/c" -> "https:", "",
-- "www.nexmark.com", "a", "b", "c"); dir1, dir2, dir3 = pieces 3, 4, 5, ""
-- past the end: auction,bidder,price,channel,dir1,dir2,dir3.
local function split_slash(s)
  local pieces, from = {}, 1
  while true do
    local at = string.find(s, "/", from, true)
    if at == nil then
      pieces[#pieces + 1] = string.sub(s, from)
      return pieces
    end
    pieces[#pieces + 1] = string.sub(s, from, at - 1)
    from = at + 1
  end
end

function Q.q22(_, _, bids)
  local rows = {}
  for _, b in ipairs(bids) do
    local p = split_slash(b.url) -- p[i + 1] is piece i
    rows[#rows + 1] = csv(b.auction, b.bidder, b.price, b.channel,
      p[4] or "", p[5] or "", p[6] or "")
  end
  return rows
end

-- ---------------------------------------------------------------------------

--- The rows of `query` (one of M.QUERIES) over `events`, as CSV lines
--- (sorted, for repeatable output; callers should not rely on the order).
--- `opts` (optional) holds a query's inputs besides the events:
--- side_input (q13: the path of the key,value side input file).
function M.run(query, events, opts)
  local fn = Q[query]
  if fn == nil then
    error("nexmark_ref: unknown query " .. tostring(query), 2)
  end
  local persons, auctions, bids = split(events)
  local rows = fn(persons, auctions, bids, opts)
  table.sort(rows)
  return rows
end

return M
