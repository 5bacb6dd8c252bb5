-- Decoding and encoding JSON lines: flow.json (flow.formats.json) beside
-- lua-cjson (Debian's lua-cjson, C), on several line shapes; prints ns per
-- line and flow/cjson. Run from the source tree:
--   luajit scripts/bench/formats.lua [LINES]
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
local json = require("flow.json")
local ok, cjson = pcall(require, "cjson")
local n = tonumber(arg[1]) or 200000

local function clock() return os.clock() end
math.randomseed(7)
local function word(k)
  local t = {}
  for i = 1, k do t[i] = string.char(97 + math.random(0, 25)) end
  return table.concat(t)
end
-- shapes: a small flat event, a Nexmark-like bid, a nested record with arrays and escapes
local shapes = {
  { "small", function(i) return json.encode({ id = i, user = word(6), n = math.random(1000) }) end },
  { "bid", function(i)
      return json.encode({ event_type = 2, auction = 1000 + i % 5000, bidder = i % 10007, price = math.random(1e7),
        channel = "channel-" .. (i % 10), url = "https://www.nexmark.com/" .. word(8) .. "/item.htm?query=1",
        dateTime = 1436918400000 + i, extra = word(30) })
    end },
  { "nested", function(i)
      return json.encode({ id = i, tags = { word(4), word(5), word(3) }, geo = { lat = math.random() * 90, lon = -math.random() * 180 },
        text = 'quote " and \\ and tab\t ' .. word(40), empty = {}, list = { 1, 2, 3, 4, 5, 6, 7, 8 } })
    end },
}
print(string.format("%-8s %12s %12s %8s   %12s %12s %8s", "shape", "flow dec ns", "cjson dec ns", "ratio",
  "flow enc ns", "cjson enc ns", "ratio"))
local worst_dec, worst_enc = 0, 0
for _, sh in ipairs(shapes) do
  local lines = {}
  for i = 1, n do lines[i] = sh[2](i) end
  local vals = {}
  local t0 = clock()
  for i = 1, n do vals[i] = json.decode(lines[i]) end
  local fd = (clock() - t0) / n * 1e9
  t0 = clock()
  for i = 1, n do json.encode(vals[i]) end
  local fe = (clock() - t0) / n * 1e9
  local cd, ce = 0 / 0, 0 / 0
  if ok then
    local cvals = {}
    t0 = clock()
    for i = 1, n do cvals[i] = cjson.decode(lines[i]) end
    cd = (clock() - t0) / n * 1e9
    t0 = clock()
    for i = 1, n do cjson.encode(cvals[i]) end
    ce = (clock() - t0) / n * 1e9
  end
  worst_dec = math.max(worst_dec, fd / cd)
  worst_enc = math.max(worst_enc, fe / ce)
  print(string.format("%-8s %12.0f %12.0f %8.2f   %12.0f %12.0f %8.2f", sh[1], fd, cd, fd / cd, fe, ce, fe / ce))
end
print(string.format("worst flow/cjson: decode %.2fx, encode %.2fx (%d lines per shape)%s", worst_dec, worst_enc, n,
  ok and "" or "; lua-cjson is not installed"))
