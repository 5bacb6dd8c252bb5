--- Operators written in C against include/flowlua.h: flow.c_operator loads
--- one from a shared library, flow.ops are those that ship with flowlua.
--- DataStream:map, :flat_map and :filter take them in place of a Lua
--- function (datastream.lua asks is_c_op).
local core = require("flow.core")

--- A C operator (flow.c_operator, flow.ops.*): accepted by DataStream:map,
--- :flat_map and :filter in place of a Lua function.
---@class flow.COperator
local COp = {}
COp.__index = COp

--- A config table becomes "key=value" lines for the C side; a string passes.
local function c_config(config)
  if config == nil then return "" end
  if type(config) == "string" then return config end
  if type(config) ~= "table" then error("c_operator: config must be a table or a string", 3) end
  local keys = {}
  for k in pairs(config) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local lines = {}
  for _, k in ipairs(keys) do lines[#lines + 1] = k .. "=" .. tostring(config[k]) end
  return table.concat(lines, "\n")
end

-- flow.c_operator and flow.ops (lua/flow/init.lua puts them into `flow`)
---@class flow
local flow = {}

--- flow.c_operator(library_path, symbol [, config]): an operator written in
--- C against include/flowlua.h, for map / flat_map / filter.
--- Pass the result to map, flat_map or filter. A relative library path is
--- made absolute (tasks may run elsewhere); a config table reaches the C
--- side as sorted "key=value" lines. Raises an error when the library file
--- cannot be opened.
---@param library string path of the shared library
---@param symbol string name of the exported function returning the operator's descriptor
---@param config? table|string options for the operator: a table of key/value pairs, or a string passed as is
---@return flow.COperator op
--- Example:
---   local upper = flow.c_operator("./libupper.so", "upper_operator", { min = 3 })
---   env:from_elements("flink", "is", "fast"):map(upper):print()
function flow.c_operator(library, symbol, config)
  if type(library) ~= "string" or type(symbol) ~= "string" then
    error("c_operator expects a library path and a symbol name", 2)
  end
  if not library:find("/", 1, true) then library = "./" .. library end
  local f = io.open(library, "rb")
  if not f then error("c_operator: cannot open library '" .. library .. "'", 2) end
  f:close()
  if library:sub(1, 1) ~= "/" then -- tasks may run elsewhere: make it absolute
    library = assert(core.realpath(library))
  end
  return setmetatable({ library = library, symbol = symbol, config = c_config(config) }, COp)
end

--- C operators that ship with flowlua, for DataStream:map and :flat_map.
---@class flow.ops
flow.ops = {}
--- Flink WordCount's tokenizer in C: a string record becomes one (word, 1)
--- per lower-cased run of [A-Za-z0-9_].
---@return flow.COperator op a flat_map operator emitting `{word, 1}`
--- Example:
---   env:read_text_file("input.txt"):flat_map(flow.ops.words())
---     :key_by(1):sum(2):print()
function flow.ops.words() return setmetatable({ symbol = "flowlua_op_words", config = "" }, COp) end
--- A string record, lower-cased (ASCII), in C.
---@return flow.COperator op a map operator
--- Example:
---   env:from_elements("Flink", "LUA"):map(flow.ops.lower()):print() -- flink, lua
function flow.ops.lower() return setmetatable({ symbol = "flowlua_op_lower", config = "" }, COp) end

--- Is f a C operator (rather than a Lua function)?
local function is_c_op(f) return getmetatable(f) == COp end

return {
  c_operator = flow.c_operator, -- public: flow.c_operator
  ops = flow.ops, -- public: flow.ops
  is_c_op = is_c_op,
}
