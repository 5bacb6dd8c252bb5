--- Stateless transforms (Flink's StreamMap, StreamFilter, StreamFlatMap,
--- CoStreamMap, CoStreamFlatMap): one closure each, calling the next
--- operator's push directly.
local M = {}

---@param op flow.Op
function M.map(op)
  local f, emit = op.spec.fn, op.emit
  return function(v) return emit(f(v)) end
end

---@param op flow.Op
function M.filter(op)
  local f, emit = op.spec.fn, op.emit
  return function(v)
    if f(v) then return emit(v) end
  end
end

--- The collector handed to flat_map and process functions: out:collect(v)
--- emits v; it is the next operator's own collect method when it has one
--- (a record writer's combiner), so no call comes in between.
---@param op flow.Op
---@return { collect: fun(self:table, v:any) }
function M.collector(op)
  local emit = op.emit
  return { collect = op.collect or function(_, x) return emit(x) end }
end

---@param op flow.Op
function M.flat_map(op)
  local f = op.spec.fn
  local out = M.collector(op)
  return function(v) return f(v, out) end
end

--- Two-input operators (connect): build returns { push1, push2 }.
---@param op flow.Op
function M.co_map(op)
  local f1, f2, emit = op.spec.fn1, op.spec.fn2, op.emit
  return { function(v) return emit(f1(v)) end, function(v) return emit(f2(v)) end }
end

---@param op flow.Op
function M.co_flat_map(op)
  local f1, f2 = op.spec.fn1, op.spec.fn2
  local out = M.collector(op)
  return { function(v) return f1(v, out) end, function(v) return f2(v, out) end }
end

return M
