--- flow.params — command-line parameters, as Flink's ParameterTool.
---
--- `params.from_args(arg)` parses `--key value`, `-k value` and `--flag`
--- (a key followed by another key, or by nothing, is a flag: it has no
--- value, `has` is true and `get_bool` gives true). A value may start with
--- "-" when it is a number (`--offset -5`). An argument that is neither a
--- key nor a key's value is an error, as in ParameterTool.fromArgs.

local type, tostring, tonumber, error, setmetatable, getmetatable, rawget, pairs, ipairs =
  type, tostring, tonumber, error, setmetatable, getmetatable, rawget, pairs, ipairs
local sub, lower, format = string.sub, string.lower, string.format
local sort, concat = table.sort, table.concat
local G = _G

local M = {}

---@class flow.Params
---@field private values table<string, string|boolean> key -> value, `false` for a flag
---@field private order string[] keys in the order they were given
local Params = {}
Params.__index = Params

local function is_key(s)
  return sub(s, 1, 1) == "-" and tonumber(s) == nil
end

--- Parses an argument array like the global `arg` (`argv[1]..argv[n]`).
---@param argv? string[] defaults to the global `arg` (or no arguments)
---@return flow.Params
function M.from_args(argv)
  if argv == nil then argv = rawget(G, "arg") or {} end
  local values, order = {}, {}
  local n = #argv
  local i = 1
  while i <= n do
    local a = tostring(argv[i])
    local key
    if sub(a, 1, 2) == "--" then
      key = sub(a, 3)
    elseif sub(a, 1, 1) == "-" then
      key = sub(a, 2)
    else
      error(format("unexpected argument '%s': keys start with -- or - (as --key value)", a), 2)
    end
    if key == "" then
      error(format("unexpected argument '%s': empty key", a), 2)
    end
    if values[key] == nil then order[#order + 1] = key end
    i = i + 1
    local nxt = argv[i]
    if i <= n and not is_key(tostring(nxt)) then
      values[key] = tostring(nxt)
      i = i + 1
    else
      values[key] = false -- a flag: present, without a value
    end
  end
  return setmetatable({ values = values, order = order }, Params)
end

--- Parameters from a table `{key = value}`; `true` values are flags.
---@param t table<string, any>
---@return flow.Params
function M.from_table(t)
  local values, order = {}, {}
  for k, v in pairs(t) do
    k = tostring(k)
    order[#order + 1] = k
    if v == true then values[k] = false else values[k] = tostring(v) end
  end
  sort(order)
  return setmetatable({ values = values, order = order }, Params)
end

--- True when `v` is a Params object.
function M.is_params(v)
  return type(v) == "table" and getmetatable(v) == Params
end

--- The value of `key`, or `default` when the key is absent or is a flag.
---@param key string
---@param default? any
---@return string|any
function Params:get(key, default)
  local v = self.values[key]
  if v then return v end
  return default
end

--- The value of `key` as a number, or `default`.
---@param key string
---@param default? number
---@return number|nil
function Params:get_number(key, default)
  local v = self.values[key]
  if not v then return default end
  local x = tonumber(v)
  if x == nil then
    error(format("parameter '%s' is not a number: '%s'", key, v), 2)
  end
  return x
end

--- The value of `key` as a boolean ("true"/"false", any case); a flag given
--- alone is true; `default` when absent.
---@param key string
---@param default? boolean
---@return boolean|nil
function Params:get_bool(key, default)
  local v = self.values[key]
  if v == false then return true end
  if v == nil then return default end
  local l = lower(v)
  if l == "true" then return true end
  if l == "false" then return false end
  error(format("parameter '%s' is not a boolean: '%s'", key, v), 2)
end

--- True when `key` was given (with or without a value).
---@param key string
---@return boolean
function Params:has(key)
  return self.values[key] ~= nil
end

--- The value of `key`; an error when it is absent or has no value.
---@param key string
---@return string
function Params:get_required(key)
  local v = self.values[key]
  if not v then error(format("no value for required parameter '%s'", key), 2) end
  return v
end

--- Number of parameters given.
---@return integer
function Params:size()
  return #self.order
end

--- The keys in the order they were given.
---@return string[]
function Params:keys()
  local out = {}
  for i, k in ipairs(self.order) do out[i] = k end
  return out
end

--- A plain table `{key = value}`; flags map to `true`.
---@return table<string, string|boolean>
function Params:to_table()
  local out = {}
  for k, v in pairs(self.values) do
    if v == false then out[k] = true else out[k] = v end
  end
  return out
end

function Params:__tostring()
  local parts = {}
  for i, k in ipairs(self.order) do
    local v = self.values[k]
    parts[i] = v and ("--" .. k .. " " .. v) or ("--" .. k)
  end
  return "Params(" .. concat(parts, " ") .. ")"
end

return M
