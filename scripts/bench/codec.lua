-- Micro-benchmark of flow.codec against string.buffer.
-- Run from the repository root: luajit scripts/bench/codec.lua [records]
-- Prints ns per record for encode and decode of {word, 1} tuples, plain
-- strings and integers. Records are written back to back into a 32 KiB
-- buffer (as the network buffers are) and read back the same way.
-- "decode" keeps every decoded value alive for a while (it is stored into a
-- ring of 256 slots), so a decoded table is really allocated; the last row
-- decodes tuples whose fields are read at once and that are then dropped,
-- as in a fused operator chain: LuaJIT then sinks the table allocation.

package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path

local ffi = require("ffi")
local buffer = require("string.buffer")
local codec = require("flow.codec")

local encode, decode = codec.encode, codec.decode
local clock = os.clock
local band = require("bit").band
local ring = {}

local N = tonumber(arg and arg[1]) or 20000000
local CAP = 32 * 1024
local buf = ffi.new("uint8_t[?]", CAP)

local words = { "the", "quick", "brown", "fox", "jumps", "over", "lazy", "word" }

local function make(kind)
  local recs = {}
  for i = 1, 1024 do
    local w = words[(i - 1) % #words + 1]
    if kind == "tuple" then recs[i] = { w, 1 }
    elseif kind == "string" then recs[i] = w
    else recs[i] = i * 7 end
  end
  return recs
end

-- fills the buffer once and returns the number of records and bytes in it
local function fill(recs)
  local off, k = 0, 0
  while true do
    local e = encode(recs[k % #recs + 1], buf, off, CAP)
    if not e then return k, off end
    off, k = e, k + 1
  end
end

local function bench_encode(recs)
  local nrec = #recs
  local off, j = 0, 1
  local t0 = clock()
  for _ = 1, N do
    local e = encode(recs[j], buf, off, CAP)
    if not e then off = 0; e = encode(recs[j], buf, 0, CAP) end
    off = e
    j = j + 1
    if j > nrec then j = 1 end
  end
  return (clock() - t0) * 1e9 / N
end

local function bench_decode(recs)
  local count, used = fill(recs)
  local rounds = math.ceil(N / count)
  local sink = 0
  local t0 = clock()
  for _ = 1, rounds do
    local off = 0
    while off < used do
      local v
      v, off = decode(buf, off)
      sink = sink + 1
      ring[band(sink, 255)] = v
    end
  end
  local dt = clock() - t0
  assert(sink == rounds * count)
  return dt * 1e9 / (rounds * count)
end

-- tuples consumed on the spot: the decoded table does not escape
local function bench_decode_consumed(recs)
  local count, used = fill(recs)
  local rounds = math.ceil(N / count)
  local sink = 0
  local t0 = clock()
  for _ = 1, rounds do
    local off = 0
    while off < used do
      local v
      v, off = decode(buf, off)
      sink = sink + v[2]
    end
  end
  local dt = clock() - t0
  assert(sink == rounds * count)
  return dt * 1e9 / (rounds * count)
end

local function bench_sb_encode(recs)
  local nrec = #recs
  local b = buffer.new(CAP)
  local j = 1
  local t0 = clock()
  for _ = 1, N do
    if #b > CAP then b:reset() end
    b:encode(recs[j])
    j = j + 1
    if j > nrec then j = 1 end
  end
  return (clock() - t0) * 1e9 / N
end

local function bench_sb_decode(recs)
  local nrec = #recs
  local enc = {}
  for i = 1, nrec do enc[i] = buffer.encode(recs[i]) end
  local b = buffer.new()
  local j, sink = 1, 0
  local n = math.floor(N / 4)
  local t0 = clock()
  for _ = 1, n do
    b:set(enc[j])
    local v = b:decode()
    sink = sink + 1
    ring[band(sink, 255)] = v
    j = j + 1
    if j > nrec then j = 1 end
  end
  local dt = clock() - t0
  assert(sink == n)
  return dt * 1e9 / n
end

print(string.format("flow.codec vs string.buffer, %s, %d records per run (ns/record)",
  jit and jit.version or _VERSION, N))
print(string.format("%-22s %8s %8s %10s %10s %6s", "record", "encode", "decode",
  "sb.encode", "sb.decode", "bytes"))
for _, kind in ipairs({ "tuple", "string", "integer" }) do
  local recs = make(kind)
  local label = kind == "tuple" and '{"word", 1}' or kind == "string" and '"word"' or "integer"
  local count, used = fill(recs)
  print(string.format("%-22s %8.1f %8.1f %10.1f %10.1f %6.1f", label,
    bench_encode(recs), bench_decode(recs), bench_sb_encode(recs), bench_sb_decode(recs),
    used / count))
end
print(string.format("%-22s %8s %8.1f", '{"word", 1} consumed', "", bench_decode_consumed(make("tuple"))))
