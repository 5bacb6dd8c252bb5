--- Reduce functions of keyed aggregations (Flink's ReduceFunction and the
--- built-in SumAggregator / ComparableAggregator): shared by the keyed
--- reduce, the window operator and the batch combiner of a network writer.
local new_tab = require("table.new")

local M = {}

--- A table's shallow copy; other values as they are.
function M.shallow_copy(t)
  if type(t) ~= "table" then return t end
  local c = new_tab(#t, 0) -- the tuple's fields go straight to the array part
  for k, v in pairs(t) do c[k] = v end
  return c
end
local shallow_copy = M.shallow_copy

--- The accumulate function of a keyed reduce/aggregation:
--- step(acc_or_nil, v) -> acc. It may mutate and return acc (acc is owned by
--- the operator), never its input v — unless owns_input says every v is
--- the operator's own (a record fresh from the network, nobody else holds
--- it): then the first record of a key becomes its accumulator, no copy.
---@param spec { agg: "sum"|"min"|"max"|"min_by"|"max_by"|nil, field: any, fn: function|nil }
---@param owns_input? boolean
---@return fun(acc:any, v:any):any
function M.reducer(spec, owns_input)
  local agg, field = spec.agg, spec.field
  local first = owns_input and function(v) return v end or shallow_copy
  if agg == nil then
    local f = spec.fn
    return function(a, v)
      if a == nil then return v end
      return f(a, v)
    end
  end
  local function get(v) if type(v) == "table" then return v[field] end return v end
  if agg == "sum" then
    -- Flink's SumAggregator: the other fields are the first record's
    return function(a, v)
      if type(v) ~= "table" then return (a or 0) + v end
      if a == nil then return first(v) end
      a[field] = a[field] + v[field]
      return a
    end
  elseif agg == "min" or agg == "max" then
    local less = agg == "min"
    return function(a, v)
      if type(v) ~= "table" then
        if a == nil then return v end
        if less then return v < a and v or a end
        return v > a and v or a
      end
      if a == nil then return first(v) end
      local x = v[field]
      if (less and x < a[field]) or (not less and x > a[field]) then a[field] = x end
      return a
    end
  elseif agg == "min_by" or agg == "max_by" then
    local less = agg == "min_by"
    return function(a, v) -- the whole record; the first among ties
      if a == nil then return v end
      local x, y = get(v), get(a)
      if (less and x < y) or (not less and x > y) then return v end
      return a
    end
  end
  error("unknown aggregation " .. tostring(agg))
end

return M
