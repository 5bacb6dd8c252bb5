--- flow.codec — the record format that crosses threads.
---
--- Records are written into and read out of network buffers (32 KiB by
--- default) through FFI pointers. One record is one tagged value,
--- little-endian, unaligned, without padding; see docs/record_format.md.
--- C operators read and write the same bytes.
---
--- This is the per-record cost of every exchange between threads, so the
--- hot functions allocate nothing but the decoded values themselves, create
--- no closures and use cached FFI pointer types.

local ffi = require("ffi")
local bit = require("bit")
local buffer = require("string.buffer")
local new_tab = require("table.new")

local type, next, rawget, error, tostring, pcall = type, next, rawget, error, tostring, pcall
local tobit = bit.tobit
local cast, ffi_copy, ffi_string = ffi.cast, ffi.copy, ffi.string

local u8p = ffi.typeof("uint8_t *")
local i32p = ffi.typeof("int32_t *")
local u32p = ffi.typeof("uint32_t *")
local i64p = ffi.typeof("int64_t *")
local dblp = ffi.typeof("double *")

assert(ffi.abi("le"), "flow.codec: the record format is little-endian")

-- the value tags (enum flow_record_tag, src/runtime/record_format.h)
local fi = require("flow.ffi")
local TAG_NIL, TAG_FALSE, TAG_TRUE = fi.TAG_NIL, fi.TAG_FALSE, fi.TAG_TRUE
local TAG_INT32, TAG_INT64, TAG_DOUBLE = fi.TAG_INT32, fi.TAG_INT64, fi.TAG_DOUBLE
local TAG_SHORT_STRING, TAG_LONG_STRING = fi.TAG_SHORT_STRING, fi.TAG_LONG_STRING
local TAG_ARRAY, TAG_LUA = fi.TAG_ARRAY, fi.TAG_LUA

local TWO53 = 2 ^ 53
local TWO32 = 2 ^ 32

-- string.buffer used for tag 9 (encode, decode and size; never re-entered)
local lbuf = buffer.new()
-- string.buffer used by encode_string
local sbuf = buffer.new()

local M = {
  TAG_NIL = TAG_NIL, TAG_FALSE = TAG_FALSE, TAG_TRUE = TAG_TRUE,
  TAG_INT32 = TAG_INT32, TAG_INT64 = TAG_INT64, TAG_DOUBLE = TAG_DOUBLE,
  TAG_SHORT_STRING = TAG_SHORT_STRING, TAG_LONG_STRING = TAG_LONG_STRING,
  TAG_ARRAY = TAG_ARRAY, TAG_LUA = TAG_LUA,
}

--- Length of `t` when it is an array table (all keys are the integers 1..n),
--- else nil. Fast rule: `n = #t` and `next(t, n) == nil` (n > 0), or
--- `next(t) == nil` (n = 0). Tables whose integer keys live in the hash part
--- fall back to a full scan, so `{[1]="a", [2]="b"}` is an array too.
---@param t table
---@return integer|nil
local function array_len(t)
  local n = #t
  if n > 0 then
    if next(t, n) == nil and rawget(t, 0) == nil then return n end
  elseif next(t) == nil then
    return 0
  end
  -- slow path: every key an integer in [1, n]
  for k in next, t do
    if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then return nil end
  end
  return n
end
M.array_len = array_len

--- The first value inside `v` (a table, possibly nested) that no record may
--- hold; used only to word the error after string.buffer refused a value.
local function find_unencodable(v, seen)
  local tv = type(v)
  if tv == "function" or tv == "thread" or tv == "userdata" then return tv end
  if tv == "cdata" then
    -- string.buffer serialises int64_t, uint64_t and complex cdata
    if not (ffi.istype("int64_t", v) or ffi.istype("uint64_t", v)
            or ffi.istype("complex", v)) then
      return tv
    end
  end
  if tv ~= "table" or seen[v] then return nil end
  seen[v] = true
  for k, x in next, v do
    local bad = find_unencodable(k, seen) or find_unencodable(x, seen)
    if bad then return bad end
  end
  return nil
end

local function refuse(tv)
  error("cannot encode a record containing a " .. tv, 0)
end

--- string.buffer-encodes v (tag 9 payload) into lbuf; returns pointer, length.
local function lua_payload(v)
  lbuf:reset()
  local ok, err = pcall(lbuf.encode, lbuf, v)
  if not ok then
    lbuf:reset()
    local bad = find_unencodable(v, {})
    if bad then refuse(bad) end
    error("cannot encode a record: " .. tostring(err), 0)
  end
  return lbuf:ref()
end

--- Tag 9: the value's string.buffer encoding (non-array tables, cdata).
local function put_lua(v, p, off, cap)
  local src, len = lua_payload(v)
  local e = off + 5 + len
  if e > cap then lbuf:reset(); return nil end
  p[off] = TAG_LUA
  cast(u32p, p + off + 1)[0] = len
  ffi_copy(p + off + 5, src, len)
  lbuf:reset()
  return e
end

local encode

--- Writes `v` at `p + off`; returns the offset after it, or nil when it does
--- not fit before `cap` (bytes beyond `off` may have been written; the caller
--- ignores them, flushes and retries).
---@param v any
---@param p ffi.cdata* uint8_t *
---@param off integer
---@param cap integer
---@return integer|nil
encode = function(v, p, off, cap)
  local tv = type(v)
  if tv == "string" then
    local len = #v
    if len < 256 then
      local e = off + 2 + len
      if e > cap then return nil end
      p[off] = TAG_SHORT_STRING
      p[off + 1] = len
      ffi_copy(p + off + 2, v, len)
      return e
    end
    local e = off + 5 + len
    if e > cap then return nil end
    p[off] = TAG_LONG_STRING
    cast(u32p, p + off + 1)[0] = len
    ffi_copy(p + off + 5, v, len)
    return e
  elseif tv == "number" then
    if tobit(v) == v then -- integral and in [-2^31, 2^31) (-0.0 becomes 0)
      if off + 5 > cap then return nil end
      p[off] = TAG_INT32
      cast(i32p, p + off + 1)[0] = v
      return off + 5
    end
    if off + 9 > cap then return nil end
    if v % 1 == 0 and v < TWO53 and v > -TWO53 then
      p[off] = TAG_INT64
      cast(i64p, p + off + 1)[0] = v
    else
      p[off] = TAG_DOUBLE
      cast(dblp, p + off + 1)[0] = v
    end
    return off + 9
  elseif tv == "table" then
    local n = array_len(v)
    if n then
      if off + 5 > cap then return nil end
      p[off] = TAG_ARRAY
      cast(u32p, p + off + 1)[0] = n
      off = off + 5
      -- Short tuples are unrolled: an inner loop here would split the
      -- caller's trace (LuaJIT does not unroll inner loops in root traces).
      if n <= 4 then
        if n == 0 then return off end
        off = encode(v[1], p, off, cap)
        if n == 1 or not off then return off end
        off = encode(v[2], p, off, cap)
        if n == 2 or not off then return off end
        off = encode(v[3], p, off, cap)
        if n == 3 or not off then return off end
        return encode(v[4], p, off, cap)
      end
      for i = 1, n do
        off = encode(v[i], p, off, cap)
        if not off then return nil end
      end
      return off
    end
    return put_lua(v, p, off, cap)
  elseif tv == "boolean" then
    if off + 1 > cap then return nil end
    p[off] = v and TAG_TRUE or TAG_FALSE
    return off + 1
  elseif v == nil then
    if off + 1 > cap then return nil end
    p[off] = TAG_NIL
    return off + 1
  elseif tv == "cdata" then
    return put_lua(v, p, off, cap)
  end
  refuse(tv)
end
M.encode = encode

local decode

--- Reads the value at `p + off`; returns it and the offset after it.
---@param p ffi.cdata* uint8_t *
---@param off integer
---@return any value
---@return integer newoff
decode = function(p, off)
  local tag = p[off]
  if tag == TAG_SHORT_STRING then
    local len = p[off + 1]
    return ffi_string(p + off + 2, len), off + 2 + len
  elseif tag == TAG_INT32 then
    return cast(i32p, p + off + 1)[0], off + 5
  elseif tag == TAG_ARRAY then
    local n = cast(u32p, p + off + 1)[0]
    off = off + 5
    if n <= 4 then -- unrolled, as in encode; constructors of constant size
      if n == 0 then return {}, off end
      local a, b, c, d
      a, off = decode(p, off)
      if n == 1 then return { a }, off end
      b, off = decode(p, off)
      if n == 2 then return { a, b }, off end
      c, off = decode(p, off)
      if n == 3 then return { a, b, c }, off end
      d, off = decode(p, off)
      return { a, b, c, d }, off
    end
    local t = new_tab(n, 0)
    local x
    for i = 1, n do
      x, off = decode(p, off)
      t[i] = x
    end
    return t, off
  elseif tag == TAG_DOUBLE then
    return cast(dblp, p + off + 1)[0], off + 9
  elseif tag == TAG_INT64 then
    -- two 32-bit halves: no boxed int64 cdata in the interpreter
    return cast(u32p, p + off + 1)[0] + cast(i32p, p + off + 5)[0] * TWO32, off + 9
  elseif tag == TAG_TRUE then
    return true, off + 1
  elseif tag == TAG_FALSE then
    return false, off + 1
  elseif tag == TAG_NIL then
    return nil, off + 1
  elseif tag == TAG_LONG_STRING then
    local len = cast(u32p, p + off + 1)[0]
    return ffi_string(p + off + 5, len), off + 5 + len
  elseif tag == TAG_LUA then
    local len = cast(u32p, p + off + 1)[0]
    lbuf:set(p + off + 5, len)
    local v = lbuf:decode()
    lbuf:reset()
    return v, off + 5 + len
  end
  error("flow.codec: corrupt record: unknown tag " .. tostring(tag) .. " at offset " .. off, 0)
end
M.decode = decode

--- Exact encoded size of `v` in bytes.
---@param v any
---@return integer
local function size(v)
  local tv = type(v)
  if tv == "string" then
    local len = #v
    return len < 256 and 2 + len or 5 + len
  elseif tv == "number" then
    return tobit(v) == v and 5 or 9
  elseif tv == "table" then
    local n = array_len(v)
    if n then
      local s = 5
      for i = 1, n do s = s + size(v[i]) end
      return s
    end
    local _, len = lua_payload(v)
    lbuf:reset()
    return 5 + len
  elseif tv == "boolean" or v == nil then
    return 1
  elseif tv == "cdata" then
    local _, len = lua_payload(v)
    lbuf:reset()
    return 5 + len
  end
  refuse(tv)
end
M.size = size

--- Encodes `v` into a Lua string (tests, small control messages).
---@param v any
---@return string
function M.encode_string(v)
  local n = size(v)
  sbuf:reset()
  local p = sbuf:reserve(n)
  local e = encode(v, p, 0, n)
  if e ~= n then
    sbuf:reset()
    error("flow.codec: size mismatch while encoding (" .. tostring(e) .. " ~= " .. n .. ")", 0)
  end
  sbuf:commit(n)
  local s = sbuf:tostring()
  sbuf:reset()
  return s
end

--- Decodes a string made by encode_string.
---@param s string
---@return any
function M.decode_string(s)
  if type(s) ~= "string" or #s == 0 then
    error("flow.codec: decode_string expects a non-empty string", 2)
  end
  local v, e = decode(cast(u8p, s), 0)
  if e ~= #s then
    error("flow.codec: corrupt record: " .. (#s - e) .. " trailing bytes", 0)
  end
  return v
end

--- In-band events carry i64 times (timestamps, watermarks) and ids
--- (barriers); they are numbers in Lua, where the end of time is
--- math.huge (INT64_MAX on the wire; -math.huge is INT64_MIN).
local I64_MAX, I64_MIN = 0x7fffffffffffffffLL, -0x7fffffffffffffffLL - 1

--- Writes x as an i64 at p.
---@param p ffi.cdata* uint8_t *
---@param x number
function M.put_time(p, x)
  if x == math.huge then cast(i64p, p)[0] = I64_MAX
  elseif x == -math.huge then cast(i64p, p)[0] = I64_MIN
  else cast(i64p, p)[0] = x end
end

--- Reads the i64 at p as a number.
---@param p ffi.cdata* uint8_t *
---@return number
function M.get_time(p)
  local x = cast(i64p, p)[0]
  if x == I64_MAX then return math.huge end
  if x == I64_MIN then return -math.huge end
  return tonumber(x)
end

return M
