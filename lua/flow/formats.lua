--- flow.formats — how connectors turn lines or messages into records and
--- back (Flink's formats): `flow.formats.json{...}` and
--- `flow.formats.csv{...}`.
---
--- A format is plain data (it ships with the job); `formats.decoder(fmt)`
--- and `formats.encoder(fmt)` build its functions where they run, and
--- `fmt:decode(s)` / `fmt:encode(v)` call them directly. A decoder returns
--- the record, or nil and a message; the connector adds where the record
--- came from (topic, partition and offset, or file and line), and either
--- fails the job with it or, with `ignore_parse_errors = true`, skips the
--- record and counts it (`numRecordsInErrors`).
local json = require("flow.json")
local ffi = require("ffi")

local type, tostring, tonumber, error, setmetatable = type, tostring, tonumber, error, setmetatable
local byte, sub, find, gsub, format, concat = string.byte, string.sub, string.find, string.gsub, string.format,
  table.concat
local floor = math.floor

local M = {}

local Format = {}
Format.__index = Format

--- Decodes one line or message.
---@param s string
---@return any|nil record
---@return string|nil message why it does not decode
function Format:decode(s) return M.decoder(self)(s) end

--- Encodes one record as a line or message (no line end); raises for a
--- record the format cannot hold.
---@param v any
---@return string
function Format:encode(v) return M.encoder(self)(v) end

--- JSON: a line or message is one JSON text (`flow.json`: `null` is
--- `flow.json.null`, `[]` stays an array, integers beyond 2^53 are exact
--- int64 cdata).
---@param opts? { ignore_parse_errors?: boolean }
---@return table format
--- Example:
---   local fmt = flow.formats.json()
---   local rec = fmt:decode('{"user":"ann","n":3}')   -- { user = "ann", n = 3 }
function M.json(opts)
  opts = opts or {}
  return setmetatable({ format = "json", ignore_parse_errors = opts.ignore_parse_errors == true }, Format)
end

local TYPES = { string = true, integer = true, number = true, boolean = true }

--- CSV (RFC 4180 within one line): fields separated by `delimiter`, a field
--- in double quotes may hold the delimiter and doubled quotes. `fields`
--- names the columns, each optionally typed `"name:type"` (type `string`,
--- the default, `integer`, `number` or `boolean`): a record is then a table
--- by name, an empty field nil. Without `fields` a record is the array of
--- its strings. `header = true`: the first line of a file is a header
--- (sources skip it; sinks write it).
---@param opts? { fields?: string[], delimiter?: string, header?: boolean, ignore_parse_errors?: boolean }
---@return table format
--- Example:
---   local fmt = flow.formats.csv{ fields = { "name", "age:integer" } }
---   local rec = fmt:decode('"Smith, J",42')   -- { name = "Smith, J", age = 42 }
function M.csv(opts)
  opts = opts or {}
  local delimiter = opts.delimiter or ","
  if type(delimiter) ~= "string" or #delimiter ~= 1 or delimiter == '"' or delimiter == "\n" then
    error("flow.formats.csv: delimiter must be one character other than '\"' and a line end", 2)
  end
  local names, types
  if opts.fields ~= nil then
    if type(opts.fields) ~= "table" or #opts.fields == 0 then
      error("flow.formats.csv: fields must be a list of names (\"name\" or \"name:type\")", 2)
    end
    names, types = {}, {}
    for i, f in ipairs(opts.fields) do
      local name, ty = tostring(f):match("^([^:]+):?(.*)$")
      if ty == "" then ty = "string" end
      if not name or not TYPES[ty] then
        error(format("flow.formats.csv: field %d ('%s'): the type must be string, integer, number or boolean",
          i, tostring(f)), 2)
      end
      names[i], types[i] = name, ty
    end
  end
  return setmetatable({ format = "csv", delimiter = delimiter, names = names, types = types,
    header = opts.header == true, ignore_parse_errors = opts.ignore_parse_errors == true }, Format)
end

--- The header line of a CSV format with fields (its names), or nil.
---@param fmt table
---@return string|nil
function M.header_line(fmt)
  if fmt.format ~= "csv" or not fmt.names then return nil end
  return M.encoder(M.csv { delimiter = fmt.delimiter })(fmt.names)
end

-- the fields of one CSV line, or nil and a message
local function split_csv(s, d)
  local out, n = {}, 0
  local i, len = 1, #s
  if byte(s, len) == 13 then len = len - 1 end -- a CRLF line
  local db = byte(d)
  while true do
    if byte(s, i) == 34 then -- '"': a quoted field
      local parts, j = {}, i + 1
      while true do
        local q = find(s, '"', j, true)
        if not q or q > len then return nil, format("unterminated quoted field at column %d", i) end
        parts[#parts + 1] = sub(s, j, q - 1)
        if byte(s, q + 1) == 34 then -- a doubled quote
          parts[#parts + 1] = '"'
          j = q + 2
        else
          i = q + 1
          break
        end
      end
      n = n + 1
      out[n] = concat(parts)
      if i > len then return out, n end
      if byte(s, i) ~= db then return nil, format("expected '%s' after a quoted field at column %d", d, i) end
      i = i + 1
    else
      local e = find(s, d, i, true)
      if not e or e > len then
        n = n + 1
        out[n] = sub(s, i, len)
        return out, n
      end
      n = n + 1
      out[n] = sub(s, i, e - 1)
      i = e + 1
    end
  end
end

local int64_t = ffi.typeof("int64_t")

local function convert(ty, v, name)
  if v == "" then return nil end
  if ty == "string" then return v end
  if ty == "integer" then
    local x = tonumber(v)
    if not x or floor(x) ~= x or find(v, "[%.eExX]") then
      return nil, format("field %s: not an integer: '%s'", name, v)
    end
    if x >= 2 ^ 53 or x <= -(2 ^ 53) then -- exact as int64 (flow.json does the same)
      local y = json.decode(v)
      if type(y) == "cdata" then return y end
      return nil, format("field %s: integer out of range: '%s'", name, v)
    end
    return x
  end
  if ty == "number" then
    local x = tonumber(v)
    if not x then return nil, format("field %s: not a number: '%s'", name, v) end
    return x
  end
  if v == "true" then return true end
  if v == "false" then return false end
  return nil, format("field %s: not a boolean: '%s'", name, v)
end

--- The decoding function of a format: s -> record | nil, message.
---@param fmt table
---@return fun(s:string):any, string|nil
function M.decoder(fmt)
  if fmt.format == "json" then
    return function(s) return json.decode(s) end
  elseif fmt.format == "csv" then
    local d, names, types = fmt.delimiter, fmt.names, fmt.types
    return function(s)
      local fields, n = split_csv(s, d)
      if not fields then return nil, n end
      if not names then return fields end
      if n ~= #names then return nil, format("expected %d fields, got %d", #names, n) end
      local rec = {}
      for i = 1, n do
        local v, err = convert(types[i], fields[i], names[i])
        if err then return nil, err end
        rec[names[i]] = v
      end
      return rec
    end
  end
  error("flow.formats: not a format: " .. tostring(fmt and fmt.format), 2)
end

local function csv_field(v, d)
  if v == nil or v == json.null then return "" end
  local s
  if type(v) == "cdata" then s = (tostring(v):gsub("U?LL$", ""))
  elseif type(v) == "number" and floor(v) == v and v < 2 ^ 53 and v > -(2 ^ 53) then s = format("%.0f", v)
  elseif type(v) == "number" then s = format("%.17g", v)
  elseif type(v) == "string" or type(v) == "boolean" then s = tostring(v)
  else error("flow.formats.csv: cannot encode a " .. type(v) .. " field", 0) end
  if find(s, '["\r\n]') or find(s, d, 1, true) or find(s, "^%s") or find(s, "%s$") then
    s = '"' .. gsub(s, '"', '""') .. '"'
  end
  return s
end

--- The encoding function of a format: record -> string.
---@param fmt table
---@return fun(v:any):string
function M.encoder(fmt)
  if fmt.format == "json" then return json.encode end
  if fmt.format == "csv" then
    local d, names = fmt.delimiter, fmt.names
    return function(v)
      local parts = {}
      if type(v) ~= "table" then
        parts[1] = csv_field(v, d)
      elseif names then
        for i = 1, #names do parts[i] = csv_field(v[names[i]], d) end
      else
        for i = 1, #v do parts[i] = csv_field(v[i], d) end
      end
      return concat(parts, d)
    end
  end
  error("flow.formats: not a format: " .. tostring(fmt and fmt.format), 2)
end

return M
