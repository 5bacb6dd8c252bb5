--- flow.format — records printed as Flink prints them.
---
--- `format.value(v)` is what `print()` sinks and `write_as_text` write:
--- strings as they are, `true`/`false`, `null`, integral numbers without a
--- decimal point, other numbers as Java's `Double.toString`, array tables as
--- tuples `(a,1,(b,2))`, other tables as `{k=v,...}` with sorted keys.

local codec = require("flow.codec")

local type, tostring, tonumber, pairs = type, tostring, tonumber, pairs
local sformat, sub, find, rep = string.format, string.sub, string.find, string.rep
local concat, sort = table.concat, table.sort
local array_len = codec.array_len

local M = {}

local TWO63 = 2 ^ 63
local MIN_NORMAL = 2.2250738585072014e-308
local EFMT = {}
for prec = 1, 16 do EFMT[prec] = "%." .. prec .. "e" end

--- Java's Double.toString: the shortest decimal that reads back to the same
--- double, "plain" for 1e-3 <= |d| < 1e7 (`0.5`, `55.0`), otherwise
--- computerized scientific notation (`1.0E-5`, `1.2345E10`).
---@param d number
---@return string
local function double(d)
  if d ~= d then return "NaN" end
  if d == 1 / 0 then return "Infinity" end
  if d == -1 / 0 then return "-Infinity" end
  if d == 0 then return 1 / d < 0 and "-0.0" or "0.0" end
  local sign = ""
  if d < 0 then sign, d = "-", -d end
  -- shortest round-tripping significand. A normal double carries ~15.9
  -- decimal digits, so when some decimal of <= 15 digits reads back to d,
  -- rounding d to 15 digits finds it (trailing zeros are dropped below);
  -- else 16, else 17 digits. Subnormals carry fewer digits: search upwards
  -- from 2 digits (Java then prefers the closest of the 1- and 2-digit
  -- candidates: Double.MIN_VALUE is 4.9E-324, not 5.0E-324).
  local s
  if d < MIN_NORMAL then
    for prec = 1, 16 do
      s = sformat(EFMT[prec], d)
      if tonumber(s) == d then break end
    end
  else
    s = sformat("%.14e", d)
    if tonumber(s) ~= d then
      s = sformat("%.15e", d)
      if tonumber(s) ~= d then s = sformat("%.16e", d) end
    end
  end
  local epos = find(s, "e", 1, true)
  local exp = tonumber(sub(s, epos + 1))
  -- significant digits, without the point and without trailing zeros
  local digits = sub(s, 1, 1) .. sub(s, 3, epos - 1)
  local last = #digits
  while last > 1 and sub(digits, last, last) == "0" do last = last - 1 end
  digits = sub(digits, 1, last)
  local nd = #digits
  if d >= 1e-3 and d < 1e7 then
    if exp >= 0 then
      local int_len = exp + 1
      if nd <= int_len then
        return sign .. digits .. rep("0", int_len - nd) .. ".0"
      end
      return sign .. sub(digits, 1, int_len) .. "." .. sub(digits, int_len + 1)
    end
    return sign .. "0." .. rep("0", -exp - 1) .. digits
  end
  local frac = nd > 1 and sub(digits, 2) or "0"
  return sign .. sub(digits, 1, 1) .. "." .. frac .. "E" .. exp
end
M.double = double

--- A number as a record field: integral values with |v| < 2^63 without a
--- decimal point (Lua cannot tell 3 from 3.0), the others as Java doubles.
---@param v number
---@return string
local function number(v)
  if v % 1 == 0 and v < TWO63 and v > -TWO63 then
    return sformat("%d", v)
  end
  return double(v)
end
M.number = number

local value

-- key order of `{k=v}` tables: numbers by value, then strings, then the rest
local KEY_RANK = { number = 1, string = 2, boolean = 3 }

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then
    return (KEY_RANK[ta] or 4) < (KEY_RANK[tb] or 4)
      or ((KEY_RANK[ta] or 4) == (KEY_RANK[tb] or 4) and ta < tb)
  end
  if ta == "number" or ta == "string" then return a < b end
  if ta == "boolean" then return not a and b end
  return tostring(a) < tostring(b)
end

local function table_value(t, seen)
  if seen[t] then return "<cycle>" end
  seen[t] = true
  local parts = {}
  local n = array_len(t)
  local s
  if n then
    for i = 1, n do parts[i] = value(t[i], seen) end
    s = "(" .. concat(parts, ",") .. ")"
  else
    local keys, nk = {}, 0
    for k in pairs(t) do
      nk = nk + 1
      keys[nk] = k
    end
    sort(keys, key_less)
    for i = 1, nk do
      local k = keys[i]
      parts[i] = value(k, seen) .. "=" .. value(t[k], seen)
    end
    s = "{" .. concat(parts, ",") .. "}"
  end
  seen[t] = nil
  return s
end

--- A record (or field) printed as Flink prints it.
---@param v any
---@param seen? table internal: tables being printed (cycle guard)
---@return string
value = function(v, seen)
  local tv = type(v)
  if tv == "string" then return v end
  if tv == "number" then return number(v) end
  if tv == "table" then return table_value(v, seen or {}) end
  if tv == "boolean" then return v and "true" or "false" end
  if v == nil then return "null" end
  return tostring(v)
end

---@param v any
---@return string
function M.value(v)
  return value(v)
end

return M
