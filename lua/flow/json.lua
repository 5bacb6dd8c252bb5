--- flow.json — strict JSON (RFC 8259) decoding and deterministic encoding.
---
--- `json.decode(s)` reads one JSON text: objects become tables with string
--- keys, arrays 1-based Lua arrays, `null` the sentinel `json.null`. It
--- never raises for malformed input; it returns nil and a message that
--- ends in "at byte N" (1-based; N = #s + 1 at the end of the input).
--- Raw bytes inside strings are passed through, not checked as UTF-8.
---
--- An empty JSON array decodes to an empty table marked as an array
--- (`json.array`, its metatable), so that it encodes back as `[]`, not `{}`.
--- An integer beyond ±2^53 (where doubles lose digits) that fits in 64 bits
--- decodes to an int64 cdata (LuaJIT's `123LL`), exact, and encodes back.
---
--- `json.encode(v)` writes compact JSON (no spaces) with object keys in
--- sorted order, so equal values give equal text. A table whose keys are
--- exactly 1..n (n >= 1), or an empty table marked with `json.array`, is an
--- array, another empty table is `{}`, any other table must have only
--- string keys. int64/uint64 cdata are written as integers. It raises for what JSON cannot
--- hold: NaN and infinities, non-string keys, cycles, functions, and for
--- nesting deeper than `json.max_depth`.
---
--- Decoding reads event files of many lines, so the scanner works with
--- string.byte and plain or anchored string.find (never a search for a
--- character class from every position) and takes a string without
--- escapes with one find and one sub.

local buffer = require("string.buffer")
local bit = require("bit")
local ffi = require("ffi")

local type, error, pcall, tostring, tonumber, setmetatable, getmetatable, next, pairs =
  type, error, pcall, tostring, tonumber, setmetatable, getmetatable, next, pairs
local byte, char, find, sub, format, gsub = string.byte, string.char, string.find, string.sub, string.format, string.gsub
local floor, huge = math.floor, math.huge
local sort = table.sort
local band, rshift = bit.band, bit.rshift

local M = {}

--- The value of JSON `null` (decoded `null`, encoded as `null`): a unique,
--- empty, read-only table.
M.null = setmetatable({}, {
  __tostring = function() return "json.null" end,
  __newindex = function() error("flow.json: json.null is read-only", 2) end,
  __metatable = false,
})
local null = M.null

--- Limit of nested arrays and objects: the default of `decode`, and what
--- `encode` writes (so that what it writes can be read back).
M.max_depth = 200

local TWO53 = 2 ^ 53

--- The metatable of decoded empty arrays; `setmetatable({}, json.array)`
--- marks an empty table to encode as `[]`.
M.array = { __name = "json.array" }
local array_mt = M.array

local int64_t = ffi.typeof("int64_t")

---------------------------------------------------------------------------
-- decode

-- a decode error: raised inside, returned as (nil, msg) by M.decode
local Fail = {}

---@param msg string
---@param pos integer
local function fail(msg, pos)
  error(setmetatable({ msg = format("%s at byte %d", msg, pos) }, Fail), 0)
end

-- the next byte at or after i that is not JSON whitespace (or #s + 1)
---@param s string
---@param i integer
---@return integer
local function skip(s, i)
  local c = byte(s, i)
  if c == 32 or c == 10 or c == 13 or c == 9 then
    return find(s, "[^ \t\r\n]", i + 1) or #s + 1
  end
  return i
end

local escapes = {
  [34] = '"', [92] = "\\", [47] = "/",
  [98] = "\b", [102] = "\f", [110] = "\n", [114] = "\r", [116] = "\t",
}

-- a string's special bytes: its end, an escape, a control character
local STRING_SPECIAL = '["\\%z\1-\31]'
-- the bytes from where it starts up to the next special one (anchored:
-- one greedy match, not a search from every position)
local PLAIN_RUN = '^[^"\\%z\1-\31]*'

local sbuf = buffer.new() -- strings with escapes (parse_string does not nest)

---@param cp integer a code point, not a surrogate
---@return string
local function utf8(cp)
  if cp < 0x80 then
    return char(cp)
  elseif cp < 0x800 then
    return char(0xC0 + rshift(cp, 6), 0x80 + band(cp, 0x3F))
  elseif cp < 0x10000 then
    return char(0xE0 + rshift(cp, 12), 0x80 + band(rshift(cp, 6), 0x3F), 0x80 + band(cp, 0x3F))
  end
  return char(0xF0 + rshift(cp, 18), 0x80 + band(rshift(cp, 12), 0x3F),
    0x80 + band(rshift(cp, 6), 0x3F), 0x80 + band(cp, 0x3F))
end

-- the four hex digits of the \u escape whose backslash is at j
---@param s string
---@param j integer
---@return integer
local function hex4(s, j)
  local h = sub(s, j + 2, j + 5)
  if not find(h, "^%x%x%x%x$") then fail("invalid \\u escape", j) end
  return tonumber(h, 16)
end

-- the \u escape at j (one, or a surrogate pair): its UTF-8 and the next index
---@param s string
---@param j integer
---@return string, integer
local function unicode_escape(s, j)
  local cp = hex4(s, j)
  if cp >= 0xD800 and cp <= 0xDFFF then
    if cp >= 0xDC00 or sub(s, j + 6, j + 7) ~= "\\u" then fail("lone surrogate", j) end
    local lo = hex4(s, j + 6)
    if lo < 0xDC00 or lo > 0xDFFF then fail("lone surrogate", j) end
    return utf8(0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)), j + 12
  end
  return utf8(cp), j + 6
end

-- Where the next backslash and the next control character (< 0x20) are,
-- at or after where they were last looked for in the text being decoded
-- (#s + 1 when there is none). A string that closes before both is taken
-- as it is, found with a plain find: much faster than scanning for a
-- character class. Each is looked for again only once the scan has
-- passed it, so the text is scanned about once for each.
local next_bs, next_ctl = 0, 0

-- the string whose opening quote is at i, and the index after its close
---@param s string
---@param i integer
---@return string, integer
local function parse_string(s, i)
  local q = find(s, '"', i + 1, true)
  if not q then fail("unterminated string", i) end
  if next_bs <= i then next_bs = find(s, "\\", i + 1, true) or #s + 1 end
  if next_ctl <= i then
    local _, e = find(s, "^[ -\255]*", i + 1)
    next_ctl = e + 1
  end
  if q < next_bs and q < next_ctl then return sub(s, i + 1, q - 1), q + 1 end
  -- escapes or a control character: run by run
  local buf = sbuf:reset()
  local start = i + 1
  while true do
    local _, e = find(s, PLAIN_RUN, start)
    local j = e + 1
    local c = byte(s, j)
    if c == 34 then
      buf:put(sub(s, start, e))
      return buf:get(), j + 1
    elseif c == 92 then
      buf:put(sub(s, start, e))
      local x = byte(s, j + 1)
      if x == 117 then -- \u
        local u
        u, start = unicode_escape(s, j)
        buf:put(u)
      else
        local r = escapes[x]
        if not r then
          if x == nil then fail("unterminated string", i) end
          fail(format("invalid escape '\\%s'", char(x)), j)
        end
        buf:put(r)
        start = j + 2
      end
    elseif c == nil then
      fail("unterminated string", i)
    else
      fail("control character in string", j)
    end
  end
end

-- the number starting at i (a '-' or a digit), and the index after it
---@param s string
---@param i integer
---@return number, integer
local function parse_number(s, i)
  local j = i
  if byte(s, j) == 45 then j = j + 1 end -- '-'
  local c = byte(s, j)
  if c == 48 then -- '0'
    j = j + 1
    c = byte(s, j)
    if c and c >= 48 and c <= 57 then fail("leading zero in number", i) end
  elseif c and c >= 49 and c <= 57 then
    -- an integer of up to 15 digits is summed here: no string, no tonumber
    local n, start = c - 48, j
    j = j + 1
    c = byte(s, j)
    while c and c >= 48 and c <= 57 do
      n = n * 10 + (c - 48)
      j = j + 1
      c = byte(s, j)
    end
    if c ~= 46 and c ~= 101 and c ~= 69 then
      if j - start <= 15 then
        if start > i then n = -n end
        return n, j
      end
      -- a longer integer: exact as int64 beyond 2^53 (when it fits)
      local digits = sub(s, start, j - 1)
      if #digits < 19 or (#digits == 19 and digits <= "9223372036854775807") then
        local x = tonumber(digits)
        if x >= TWO53 then
          local v = int64_t(0)
          for k = 1, #digits do v = v * 10 + (byte(digits, k) - 48) end
          if start > i then v = -v end
          return v, j
        end
      end
    end
  else
    fail("expected a digit", j)
  end
  if c == 46 then -- '.'
    local _, e = find(s, "^%d+", j + 1)
    if not e then fail("expected a digit", j + 1) end
    j = e + 1
    c = byte(s, j)
  end
  if c == 101 or c == 69 then -- 'e', 'E'
    local k = j + 1
    c = byte(s, k)
    if c == 43 or c == 45 then k = k + 1 end
    local _, e = find(s, "^%d+", k)
    if not e then fail("expected a digit", k) end
    j = e + 1
  end
  local n = tonumber(sub(s, i, j - 1))
  if n == huge or n == -huge then fail("number out of range", i) end
  return n, j
end

local parse_value

-- the array whose '[' is at i, and the index after its ']'
---@param s string
---@param i integer
---@param depth integer
---@param max integer
---@return table, integer
local function parse_array(s, i, depth, max)
  local t, n = {}, 0
  i = skip(s, i + 1)
  if byte(s, i) == 93 then return setmetatable(t, array_mt), i + 1 end -- ']' : an empty array, marked
  while true do
    local v
    v, i = parse_value(s, i, depth, max)
    n = n + 1
    t[n] = v
    i = skip(s, i)
    local c = byte(s, i)
    if c == 93 then return t, i + 1 end
    if c ~= 44 then fail("expected ',' or ']'", i) end
    i = skip(s, i + 1)
  end
end

-- the object whose '{' is at i, and the index after its '}'
---@param s string
---@param i integer
---@param depth integer
---@param max integer
---@return table, integer
local function parse_object(s, i, depth, max)
  local t = {}
  i = skip(s, i + 1)
  local c = byte(s, i)
  if c == 125 then return t, i + 1 end -- '}'
  if c ~= 34 then fail("expected a string key or '}'", i) end
  while true do
    local k, v
    k, i = parse_string(s, i)
    i = skip(s, i)
    if byte(s, i) ~= 58 then fail("expected ':'", i) end
    v, i = parse_value(s, skip(s, i + 1), depth, max)
    t[k] = v
    i = skip(s, i)
    c = byte(s, i)
    if c == 125 then return t, i + 1 end
    if c ~= 44 then fail("expected ',' or '}'", i) end
    i = skip(s, i + 1)
    if byte(s, i) ~= 34 then fail("expected a string key", i) end
  end
end

-- the value starting at i (no whitespace before it), and the index after it
---@param s string
---@param i integer
---@param depth integer nesting of the arrays and objects around it
---@param max integer
---@return any, integer
function parse_value(s, i, depth, max)
  local c = byte(s, i)
  if c == 34 then
    return parse_string(s, i)
  elseif c == 123 or c == 91 then -- '{', '['
    if depth >= max then fail(format("nesting deeper than %d", max), i) end
    if c == 123 then return parse_object(s, i, depth + 1, max) end
    return parse_array(s, i, depth + 1, max)
  elseif c == 45 or (c and c >= 48 and c <= 57) then
    return parse_number(s, i)
  elseif c == 116 then
    if sub(s, i, i + 3) == "true" then return true, i + 4 end
  elseif c == 102 then
    if sub(s, i, i + 4) == "false" then return false, i + 5 end
  elseif c == 110 then
    if sub(s, i, i + 3) == "null" then return null, i + 4 end
  end
  fail("expected a value", i)
end

---@param s string
---@param max integer
---@return any
local function decode_all(s, max)
  next_bs, next_ctl = 0, 0
  local v, i = parse_value(s, skip(s, 1), 0, max)
  i = skip(s, i)
  if i <= #s then fail("expected end of input", i) end
  return v
end

--- Decodes one JSON text. `null` decodes to `json.null`.
---@param s string
---@param opts? { max_depth?: integer } max_depth: nesting limit (default json.max_depth)
---@return any|nil value
---@return string|nil err "what was expected at byte N" when `s` is not JSON
function M.decode(s, opts)
  if type(s) ~= "string" then
    error(format("flow.json: decode expects a string, got %s", type(s)), 2)
  end
  local max = opts and opts.max_depth or M.max_depth
  local ok, v = pcall(decode_all, s, max)
  if ok then return v, nil end
  if type(v) == "table" and getmetatable(v) == Fail then return nil, v.msg end
  error(v, 0) -- not a decode error: a bug or out of memory
end

---------------------------------------------------------------------------
-- encode

-- an encode error: raised inside, raised again by M.encode at its caller
local EncodeError = {}

---@param msg string
local function raise(msg)
  error(setmetatable({ msg = "flow.json: " .. msg }, EncodeError), 0)
end

local string_escapes = {
  ['"'] = '\\"', ["\\"] = "\\\\",
  ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}
for c = 0, 31 do
  local ch = char(c)
  if not string_escapes[ch] then string_escapes[ch] = format("\\u%04x", c) end
end

---@param buf string.buffer
---@param s string
local function put_string(buf, s)
  local _, e = find(s, PLAIN_RUN)
  if e < #s then s = gsub(s, STRING_SPECIAL, string_escapes) end
  buf:put('"', s, '"')
end

---@param buf string.buffer
---@param x number
local function put_number(buf, x)
  if x ~= x then raise("cannot encode NaN") end
  if x == huge or x == -huge then raise("cannot encode " .. tostring(x)) end
  if floor(x) == x and x < TWO53 and x > -TWO53 then
    buf:putf("%.0f", x)
  else
    buf:putf("%.17g", x)
  end
end

local put_value

-- true when the keys of t are exactly 1..n, n >= 1
---@param t table
---@return boolean
local function is_array(t)
  local n = #t
  if n == 0 then return false end
  local count = 0
  for k in next, t do
    if type(k) ~= "number" or k < 1 or k > n or floor(k) ~= k then return false end
    count = count + 1
  end
  return count == n
end

---@param buf string.buffer
---@param t table
---@param seen table<table, boolean> the tables being written around t
---@param depth integer how many they are
local function put_table(buf, t, seen, depth)
  if seen[t] then raise("cannot encode a cycle (a table contains itself)") end
  if depth >= M.max_depth then
    raise(format("cannot encode nesting deeper than %d", M.max_depth))
  end
  if next(t) == nil then
    buf:put(getmetatable(t) == array_mt and "[]" or "{}")
    return
  end
  seen[t] = true
  depth = depth + 1
  if is_array(t) then
    buf:put("[")
    for i = 1, #t do
      if i > 1 then buf:put(",") end
      put_value(buf, t[i], seen, depth)
    end
    buf:put("]")
  else
    local keys, n = {}, 0
    for k in pairs(t) do
      if type(k) ~= "string" then
        raise(format("cannot encode a table with a %s key (%s): object keys must be strings",
          type(k), tostring(k)))
      end
      n = n + 1
      keys[n] = k
    end
    sort(keys)
    buf:put("{")
    for i = 1, n do
      local k = keys[i]
      if i > 1 then buf:put(",") end
      put_string(buf, k)
      buf:put(":")
      put_value(buf, t[k], seen, depth)
    end
    buf:put("}")
  end
  seen[t] = nil
end

---@param buf string.buffer
---@param v any
---@param seen table<table, boolean>
---@param depth integer
function put_value(buf, v, seen, depth)
  local tv = type(v)
  if tv == "string" then
    put_string(buf, v)
  elseif tv == "number" then
    put_number(buf, v)
  elseif v == nil or v == null then
    buf:put("null")
  elseif tv == "boolean" then
    buf:put(v and "true" or "false")
  elseif tv == "table" then
    put_table(buf, v, seen, depth)
  elseif tv == "cdata" and (ffi.istype("int64_t", v) or ffi.istype("uint64_t", v)) then
    buf:put((tostring(v):gsub("U?LL$", "")))
  else
    raise("cannot encode a " .. tv)
  end
end

local ebuf = buffer.new()

---@param v any
---@return string
local function encode_all(v)
  ebuf:reset()
  put_value(ebuf, v, {}, 0)
  return ebuf:get()
end

--- Encodes a value as compact JSON, object keys sorted.
--- nil and `json.null` are `null`; integers (|x| < 2^53) are written
--- without a decimal point or exponent (-0 as `-0`), other numbers with
--- "%.17g" (exact: decode gives the same number back).
---@param v any
---@return string
function M.encode(v)
  local ok, s = pcall(encode_all, v)
  if ok then return s end
  if type(s) == "table" and getmetatable(s) == EncodeError then error(s.msg, 2) end
  error(s, 0)
end

return M
