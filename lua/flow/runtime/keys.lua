--- Keys on the task side: key selectors from their shipped spec (Flink's
--- KeySelector) and key groups (Flink's KeyGroupRangeAssignment): a key's
--- hash picks its key group in [0, max_parallelism), and each operator
--- index owns a contiguous range of key groups, so keyed state can be
--- redistributed when the parallelism changes.
local fi = require("flow.ffi")
local codec = require("flow.codec")
local format = require("flow.format")

local C = fi.C
local floor, ceil = math.floor, math.ceil
local encode_string = codec.encode_string

local M = {}

--- A key selector from a spec: `{ fn = f }`, or `{ field = i }` (a field
--- index or name; a non-table record is its own field 1).
---@param key table|nil
---@return (fun(v:any):any)|nil
function M.selector(key)
  if key == nil then return nil end
  if key.fn then return key.fn end
  local field = key.field
  return function(v)
    if type(v) ~= "table" then
      if field == 1 then return v end
      error("key_by(" .. tostring(field) .. "): record " .. format.value(v) .. " is not a table", 0)
    end
    return v[field]
  end
end

--- The key spec a network edge partitions by: the target operator's key,
--- or for a two-input target the key of the input `type_number` (1 or 2).
---@param tspec table the target operator's spec
---@param type_number integer|nil
---@return table|nil
function M.of_target(tspec, type_number)
  if tspec.keys and type_number and type_number > 0 then return tspec.keys[type_number] end
  return tspec.key
end

---@param key any
---@return integer hash (32-bit, non-negative)
local function hash(key)
  local t = type(key)
  if t == "string" then return C.flow_hash_bytes(key, #key) end
  if t == "number" then return C.flow_hash_number(key) end
  if t == "boolean" then return key and 1231 or 1237 end
  local s = encode_string(key)
  return C.flow_hash_bytes(s, #s)
end
M.hash = hash

--- The key group of a key.
---@param key any
---@param max_parallelism integer
---@return integer
function M.key_group(key, max_parallelism)
  return hash(key) % max_parallelism
end

--- key -> key group, for a state backend.
---@param max_parallelism integer
---@return fun(key:any):integer
function M.assigner(max_parallelism)
  return function(key) return hash(key) % max_parallelism end
end

--- The channel (1-based operator index) of the n downstream operators that
--- owns key.
---@return integer
function M.channel(key, max_parallelism, n)
  return floor((hash(key) % max_parallelism) * n / max_parallelism) + 1
end

--- The key groups operator index i (0-based) of p owns: [first, last].
---@return integer first
---@return integer last
function M.key_group_range(i, p, max_parallelism)
  local first = ceil(i * max_parallelism / p)
  local last = ceil((i + 1) * max_parallelism / p) - 1
  return first, last
end

return M
