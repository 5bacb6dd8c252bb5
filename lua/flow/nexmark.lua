--- Nexmark for the example queries (examples/nexmark/qN.lua): their events
--- (an events file or the built-in generator), event time, and their rows.
---
--- An event is one flat table: `event_type` (0 person, 1 auction, 2 bid) and
--- the event's fields with Nexmark's names, as `env:from_nexmark` makes them
--- and as `--events FILE` reads them from Nexmark's JSON lines
--- (`{"event_type":2,"bid":{"auction":1000,...}}`).
local M = {}

M.PERSON, M.AUCTION, M.BID = 0, 1, 2

--- Every field of each kind and its Lua type (what an events file must hold).
M.FIELDS = {
  [0] = { id = "number", name = "string", emailAddress = "string", creditCard = "string", city = "string",
    state = "string", dateTime = "number", extra = "string" },
  [1] = { id = "number", itemName = "string", description = "string", initialBid = "number",
    reserve = "number", dateTime = "number", expires = "number", seller = "number", category = "number",
    extra = "string" },
  [2] = { auction = "number", bidder = "number", price = "number", channel = "string", url = "string",
    dateTime = "number", extra = "string" },
}
local KIND_NAMES = { [0] = "person", [1] = "auction", [2] = "bid" }

--- Parses one line of an events file into a flat event.
---@param line string
---@return table|nil event
---@return string|nil err what is wrong with the line
function M.parse(line)
  local json = require("flow.json")
  local v, err = json.decode(line)
  if v == nil then return nil, err end
  if type(v) ~= "table" then return nil, "not a JSON object" end
  local t = v.event_type
  local fields = M.FIELDS[t]
  if fields == nil then return nil, "event_type must be 0, 1 or 2" end
  local name = KIND_NAMES[t]
  local body = v[name]
  if type(body) ~= "table" then return nil, "event_type " .. t .. " needs an object \"" .. name .. "\"" end
  local e = { event_type = t }
  for f, ty in pairs(fields) do
    local x = body[f]
    if type(x) ~= ty then return nil, name .. "." .. f .. " must be a " .. ty end
    if ty == "number" and x % 1 ~= 0 then return nil, name .. "." .. f .. " must be an integer" end
    e[f] = x
  end
  return e
end

--- One line of Nexmark's JSON for a flat event (the inverse of parse).
---@param e table
---@return string
function M.format(e)
  local json = require("flow.json")
  local body = {}
  for f in pairs(M.FIELDS[e.event_type]) do body[f] = e[f] end
  return json.encode({ event_type = e.event_type, [KIND_NAMES[e.event_type]] = body })
end

--- The events of a query's command line, with event time dateTime and
--- watermarks 4 s behind (Nexmark's DDL):
--- - `--events FILE`: one JSON event a line, read by one subtask; a
---   malformed line fails the job with FILE:LINE, or with
---   `--skip-malformed` is skipped and counted (accumulator "malformed");
--- - else the built-in generator: `--events-count N` (default 1 000 000),
---   `--seed S` (default 0), `--rate R` events a second of event time
---   (default Nexmark's 10 000 000).
---@param env flow.Env
---@param params flow.Params
---@return flow.DataStream events
function M.events(env, params)
  local flow = require("flow") -- (client side only: tasks load this module without the API)
  local stream
  if params:has("events") then
    local path, skip = params:get("events"), params:has("skip-malformed")
    stream = env:add_source(function(ctx)
      local nexmark = require("flow.nexmark")
      local f, err = io.open(path, "rb")
      if f == nil then error("nexmark: cannot open the events file: " .. tostring(err), 0) end
      local n = 0
      for line in f:lines() do
        n = n + 1
        local e, why = nexmark.parse(line)
        if e then ctx:collect(e)
        elseif skip then ctx:counter("malformed"):add(1)
        else
          f:close()
          error(path .. ":" .. n .. ": malformed event: " .. why, 0)
        end
      end
      f:close()
    end, { name = "Nexmark events file" })
  else
    stream = env:from_nexmark{ events = params:get_number("events-count", 1000000),
      seed = params:get_number("seed", 0), rate = params:get_number("rate", 10000000) }
  end
  return stream:assign_timestamps_and_watermarks(flow.watermarks.for_bounded_out_of_orderness(4000)
    :with_timestamp_assigner(function(e) return e.dateTime end))
end

local last_day, last_date, last_minute, last_hhmm -- (date's and minute's memory)

--- The UTC date of epoch milliseconds as "YYYY-MM-DD" (days to civil
--- date, Howard Hinnant's algorithm; no time zone involved).
--- The latest day is remembered: a stream of bids makes one string a day,
--- not one per bid.
---@param ms number
---@return string
function M.date(ms)
  local floor = math.floor
  local day = floor(ms / 86400000)
  if day == last_day then return last_date end
  local z = day + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  last_day, last_date = day, string.format("%04d-%02d-%02d", y, m, d)
  return last_date
end

--- The UTC time of day of epoch milliseconds as "HH:MM" (the latest minute
--- remembered, as date's day).
---@param ms number
---@return string
function M.minute(ms)
  local minute = math.floor(ms / 60000)
  if minute == last_minute then return last_hhmm end
  last_minute, last_hhmm = minute, string.format("%02d:%02d", math.floor(minute / 60) % 24, minute % 60)
  return last_hhmm
end

--- q15's and q16's statistics of a group of bids: the bids, distinct
--- bidders and distinct auctions, in all and per price band (1: below
--- 10 000, 2: below 1 000 000, 3: from 1 000 000 on). A fresh one, for
--- keyed state.
---@return table
function M.bid_stats()
  return { bids = { [0] = 0, 0, 0, 0 }, bidders = { [0] = {}, {}, {}, {} }, auctions = { [0] = {}, {}, {}, {} },
    nb = { [0] = 0, 0, 0, 0 }, na = { [0] = 0, 0, 0, 0 } }
end

-- counts a bid in band k of s
local function count_in(s, k, bidder, auction)
  s.bids[k] = s.bids[k] + 1
  local bs, as = s.bidders[k], s.auctions[k]
  if not bs[bidder] then
    bs[bidder] = true
    s.nb[k] = s.nb[k] + 1
  end
  if not as[auction] then
    as[auction] = true
    s.na[k] = s.na[k] + 1
  end
end

--- Counts a bid into bid_stats() s.
function M.add_bid(s, bidder, auction, price)
  count_in(s, 0, bidder, auction)
  count_in(s, price < 10000 and 1 or price < 1000000 and 2 or 3, bidder, auction)
end

--- The 12 counts of s, appended to row: bids, bidders, auctions, each in
--- all and per band.
function M.stats_row(s, row)
  local n = #row
  for k = 0, 3 do row[n + 1 + k] = s.bids[k] end
  for k = 0, 3 do row[n + 5 + k] = s.nb[k] end
  for k = 0, 3 do row[n + 9 + k] = s.na[k] end
  return row
end

--- A row as one CSV line: values joined by ",", integers without a
--- fraction or exponent.
---@param row any[]
---@return string
function M.csv(row)
  local out = {}
  for i = 1, #row do
    local v = row[i]
    if type(v) == "number" and v % 1 == 0 and v > -2 ^ 53 and v < 2 ^ 53 then
      out[i] = string.format("%d", v)
    else
      out[i] = tostring(v)
    end
  end
  return table.concat(out, ",")
end

--- Where a query's rows go: with `--output PATH`, one CSV line per row in
--- the file PATH (one writer); else a discarding sink (as Nexmark's
--- blackhole sink: it takes the rows, updates included, and keeps
--- nothing). With `opts.key`, the rows are upserts: in the file only the
--- last row of each key counts, written when the input ends.
---@param rows flow.DataStream rows (tables of values)
---@param params flow.Params
---@param opts? { key: fun(row: any[]): any }
function M.sink(rows, params, opts)
  if not params:has("output") then
    rows:add_sink(function() end):name("discard")
    return
  end
  if opts and opts.key then
    rows = rows:key_by(opts.key):process{
      process_element = function(self, row, ctx)
        ctx:value_state("last"):update(row)
        ctx:register_event_time_timer(math.huge) -- (the end of input)
      end,
      on_timer = function(self, ts, ctx, out)
        out:collect(ctx:value_state("last"):value())
      end,
    }:name("final rows")
  end
  rows:map(M.csv):name("csv"):set_parallelism(1)
    :write_as_text(params:get("output")):name("csv file"):set_parallelism(1)
end

--- Runs the query; with `--skip-malformed`, reports on stderr how many
--- lines of the events file were skipped (the accumulator "malformed").
---@param env flow.Env
---@param name string the job's name
---@param params flow.Params
---@return table result as env:execute
function M.execute(env, name, params)
  local result = env:execute(name)
  if params:has("skip-malformed") then
    io.stderr:write(string.format("%s: %d malformed event line(s) skipped\n", name,
      (result.accumulators or {}).malformed or 0))
  end
  return result
end

return M
