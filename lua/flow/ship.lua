--- flow.ship — shipping closures (and the data they reach) to other Lua states.
---
--- User functions are created in the client Lua state and run in each task
--- thread's own lua_State. `ship.encode(v)` flattens the object graph that
--- `v` reaches into plain data and serialises it with `string.buffer`;
--- `ship.decode(bytes)` rebuilds it in the current state.
---
--- * nil, booleans, numbers, strings: as they are.
--- * Tables: by value, with their metatables; shared references and cycles
---   are kept (the graph is flattened into numbered objects).
--- * Lua functions: `string.dump` (not stripped: tracebacks keep their lines)
---   plus every upvalue; an upvalue shared by two shipped closures is still
---   shared after decoding (`debug.upvalueid` / `debug.upvaluejoin`).
---   The decoded function's environment is the target state's `_G`.
--- * Module tables (`package.loaded[name]`): by name, re-`require`d on decode;
---   `_G` is the target state's `_G`. Functions, userdata and cdata found as
---   members of a loaded module (`string.format`, `io.stdout`, `ffi.C`) are
---   shipped by their path.
--- * Globals: the user-defined globals (not standard Lua/LuaJIT names) that a
---   shipped function reads (GGET in its bytecode, nested functions included)
---   are shipped too and defined in the target's `_G` unless already defined.
---   (`arg` is not a standard name: a function that reads it ships it.)
--- * Refused: coroutines, userdata, cdata and C functions that are not
---   members of a loaded module. The error message comes first, without a
---   position, so that callers can prefix it:
---   `cannot ship function at wordcount.lua:12: upvalue 'co' is a thread`.

local buffer = require("string.buffer")
local jutil = require("jit.util")
local bit = require("bit")

local type, next, pairs, error, tostring, pcall, rawget, rawset, load, require =
  type, next, pairs, error, tostring, pcall, rawget, rawset, load, require
local getfenv, setmetatable = getfenv, setmetatable
local dump, format, match = string.dump, string.format, string.match
local concat, sort = table.concat, table.sort
local band, rshift = bit.band, bit.rshift
local getinfo, getupvalue, setupvalue = debug.getinfo, debug.getupvalue, debug.setupvalue
local upvalueid, upvaluejoin = debug.upvalueid, debug.upvaluejoin
local getmetatable = debug.getmetatable
local funcbc, funck, funcinfo = jutil.funcbc, jutil.funck, jutil.funcinfo
local loaded = package.loaded
local G = _G

local M = {}

--- Names of the globals a fresh LuaJIT state defines: never shipped.
local STANDARD_GLOBALS = {}
for name in ([[
  _G _VERSION assert collectgarbage dofile error gcinfo getfenv getmetatable
  ipairs load loadfile loadstring module newproxy next pairs pcall print
  rawequal rawget rawlen rawset require select setfenv setmetatable tonumber
  tostring type unpack xpcall coroutine debug io math os package string table
  bit jit
]]):gmatch("%S+") do
  STANDARD_GLOBALS[name] = true
end
M.STANDARD_GLOBALS = STANDARD_GLOBALS

-- bytecode opcodes by name, from jit.vmdef; probed where that is missing
local opcode = (function()
  local ok, vmdef = pcall(require, "jit.vmdef")
  local ops = {}
  if ok and type(vmdef) == "table" and vmdef.bcnames then
    local names = vmdef.bcnames
    for op = 0, #names / 6 - 1 do
      ops[match(names:sub(op * 6 + 1, op * 6 + 6), "^(%S+)")] = op
    end
  end
  local function probe(src, pc) return band(funcbc(load(src), pc), 0xff) end
  -- the first instruction of `return some_global` is a GGET; a
  -- constructor with a constant starts with TDUP, then stores with TSETB
  ops.GGET = ops.GGET or probe("return __flow_ship_probe__", 1)
  ops.TDUP = ops.TDUP or probe("local x return { x, 1 }", 1)
  ops.TSETB = ops.TSETB or probe("local x return { x, 1 }", 2)
  return ops
end)()
local GGET, TDUP, TSETB = opcode.GGET, opcode.TDUP, opcode.TSETB

--- Calls f(child, extra) for every prototype nested in prototype `pt`.
local function each_child(pt, f, extra)
  if not funcinfo(pt).children then return end
  local i = -1
  while true do
    local k = funck(pt, i)
    if k == nil then break end
    if type(k) == "proto" then f(k, extra) end
    i = i - 1
  end
end

--- string.dump trims the nil slots at the end of a table constructor's
--- template (`{ x, 1, y }` keeps { nil, 1 }), so in a loaded copy every
--- table the constructor makes puts its last fields in the hash part: a
--- hash allocation per table, and LuaJIT can no longer sink it (150x
--- slower in a loop). This gives each template of prototype `pt` (and of
--- its nested prototypes) back an array part as large as the positional
--- fields its constructors store (TSETB into the TDUP's register).
local function widen_templates(pt)
  local need, reg = {}, {} -- template -> largest index stored; register -> template
  local pc = 1
  while true do
    local ins = funcbc(pt, pc)
    if not ins then break end
    local op = band(ins, 0xff)
    if op == TDUP then
      reg[band(rshift(ins, 8), 0xff)] = funck(pt, -rshift(ins, 16) - 1)
    elseif op == TSETB then -- B: the table's register, C: the index
      local t, c = reg[band(rshift(ins, 24), 0xff)], band(rshift(ins, 16), 0xff)
      if t and c > (need[t] or 0) then need[t] = c end
    end
    pc = pc + 1
  end
  for t, n in pairs(need) do
    if type(t) == "table" and n <= 64 then -- (a register reused later may overstate n)
      local fill = {}
      for i = 1, n do
        if rawget(t, i) == nil then
          fill[#fill + 1] = i
          rawset(t, i, true)
        end
      end
      for i = 1, #fill do rawset(t, fill[i], nil) end
    end
  end
  each_child(pt, widen_templates)
end
M.widen_templates = widen_templates

--- Names of the globals read by prototype `pt` and its nested prototypes.
local function collect_global_reads(pt, out)
  local pc = 1
  while true do
    local ins = funcbc(pt, pc)
    if not ins then break end
    if band(ins, 0xff) == GGET then
      local name = funck(pt, -rshift(ins, 16) - 1)
      if type(name) == "string" then out[name] = true end
    end
    pc = pc + 1
  end
  each_child(pt, collect_global_reads, out)
  return out
end

--- The sorted names of all globals that Lua function `f` (or a function
--- nested in it) reads.
---@param f function
---@return string[]
function M.global_reads(f)
  local set = collect_global_reads(f, {})
  local names = {}
  for name in pairs(set) do names[#names + 1] = name end
  sort(names)
  return names
end

-- the value of global `name` as seen by a function with environment `env`
local function lookup_global(env, name)
  local e = env
  for _ = 1, 16 do
    local v = rawget(e, name)
    if v ~= nil then return v end
    local mt = getmetatable(e)
    local idx = mt and rawget(mt, "__index")
    if type(idx) ~= "table" then break end
    e = idx
  end
  if env ~= G then return rawget(G, name) end
  return nil
end

local function better_name(old, new)
  return old == nil or #new < #old or (#new == #old and new < old)
end

--- Modules and module members of this state, by value.
local function scan_loaded()
  local modules, members = {}, {}
  for name, mod in pairs(loaded) do
    if type(name) == "string" and mod ~= G then
      local tm = type(mod)
      if tm == "table" or tm == "function" or tm == "userdata" then
        if better_name(modules[mod], name) then modules[mod] = name end
      end
    end
  end
  for mod, name in pairs(modules) do
    if type(mod) == "table" then
      for k, x in next, mod do
        local tx = type(x)
        if type(k) == "string" and (tx == "function" or tx == "userdata" or tx == "cdata")
            and modules[x] == nil then
          local old = members[x]
          if old == nil or better_name(old[1] .. "." .. old[2], name .. "." .. k) then
            members[x] = { name, k }
          end
        end
      end
    end
  end
  -- the standard global functions (print, pairs, ...): by their name in _G
  for name in pairs(STANDARD_GLOBALS) do
    local x = rawget(G, name)
    if type(x) == "function" and members[x] == nil and modules[x] == nil then
      members[x] = { "_G", name }
    end
  end
  return modules, members
end

--------------------------------------------------------------------------
-- encoding
--------------------------------------------------------------------------

-- Representation handed to string.buffer (no cycles, no functions):
--   { root = slot, objs = { obj, ... }, globals = { name, slot, ... } }
-- slot: nil | boolean | number | string | { id } (a reference to objs[id])
-- obj:
--   { "t", mt_slot | false, k1, v1, k2, v2, ... }  table
--   { "f", bytecode, ups = { [i] = slot }, joins = { [i] = { id, j } } }
--   { "m", name }        require(name)
--   { "G" }              the target's _G
--   { "p", name, key }   require(name)[key] (name "_G": the target's _G)

local function key_repr(k)
  if type(k) == "string" then
    if match(k, "^[%a_][%w_]*$") then return "." .. k end
    return format("[%q]", k)
  end
  return "[" .. tostring(k) .. "]"
end

local function function_where(f)
  local info = getinfo(f, "S")
  return format("function at %s:%d", info.short_src, info.linedefined)
end

-- Raises the refusal for the value at the top of the walk's context stack.
-- ctx is an array of frames: { "fn", f } | { "up", name } | { "global", name }
-- | { "key", k } | { "mt" }.
local function refuse(ctx, n, what)
  local start = 0
  for i = n, 1, -1 do
    if ctx[i][1] == "fn" then start = i; break end
  end
  local subject, path = nil, {}
  local kind = "value"
  for i = start + 1, n do
    local fr = ctx[i]
    if fr[1] == "up" then kind = "upvalue"; path[#path + 1] = fr[2]
    elseif fr[1] == "global" then kind = "global"; path[#path + 1] = fr[2]
    elseif fr[1] == "key" then path[#path + 1] = key_repr(fr[2])
    elseif fr[1] == "mt" then path[#path + 1] = "<metatable>"
    end
  end
  local p = concat(path)
  if start > 0 then
    subject = function_where(ctx[start][2])
    if p == "" then
      error(format("cannot ship %s: it %s", subject, what), 0)
    end
    error(format("cannot ship %s: %s '%s' %s", subject, kind, p, what), 0)
  end
  if p == "" then
    error(format("cannot ship %s", (what:gsub("^is ", ""))), 0)
  end
  if kind == "value" then p = p:gsub("^%.", "") end
  error(format("cannot ship value: %s '%s' %s", kind == "value" and "field" or kind, p, what), 0)
end

---@class flow.ship.Walker
---@field ids table<any, integer> value -> object id
---@field refs table<integer, table> object id -> its reference slot `{ id }`
---@field objs table[] object id -> flattened object
---@field upids table<any, table> upvalue id -> `{ function id, upvalue index }`
---@field globals any[] global name, slot, name, slot, ...
---@field ctx table[] context stack for error messages
local Walker = {}
Walker.__index = Walker

local function new_walker()
  local w = setmetatable({
    ids = {},       -- value -> id
    refs = {},      -- id -> { id }
    objs = {},      -- id -> obj
    nobj = 0,
    upids = {},     -- upvalue id -> { function id, index }
    globals = {},   -- name, slot, name, slot, ...
    gdone = {},     -- global name -> true once shipped
    ctx = {},       -- context stack for error messages
    nctx = 0,
    modules = nil,  -- filled by scan_loaded on first need
    members = nil,
  }, Walker)
  return w
end

function Walker:push(a, b)
  local n = self.nctx + 1
  self.nctx = n
  local fr = self.ctx[n]
  if fr then fr[1], fr[2] = a, b else self.ctx[n] = { a, b } end
end

function Walker:pop()
  self.nctx = self.nctx - 1
end

function Walker:add(v, obj)
  local id = self.nobj + 1
  self.nobj = id
  self.objs[id] = obj
  self.ids[v] = id
  local ref = { id }
  self.refs[id] = ref
  return ref
end

function Walker:loaded()
  if not self.modules then self.modules, self.members = scan_loaded() end
  return self.modules, self.members
end

local KIND = {
  thread = "is a thread",
  userdata = "is a userdata",
  cdata = "is a cdata",
  ["function"] = "is a C function not found in any loaded module",
}

function Walker:slot(v)
  local tv = type(v)
  if tv == "string" or tv == "number" or tv == "boolean" or tv == "nil" then return v end
  local id = self.ids[v]
  if id then return self.refs[id] end
  if v == G then return self:add(v, { "G" }) end
  local modules, members = self:loaded()
  local modname = modules[v]
  if modname then return self:add(v, { "m", modname }) end
  local member = members[v]
  if member then return self:add(v, { "p", member[1], member[2] }) end
  if tv == "table" then return self:table(v) end
  if tv == "function" and getinfo(v, "S").what ~= "C" then return self:func(v) end
  refuse(self.ctx, self.nctx, KIND[tv] or ("is a " .. tv))
end

function Walker:table(t)
  local obj = { "t", false }
  local ref = self:add(t, obj)
  local mt = getmetatable(t)
  if mt ~= nil then
    self:push("mt")
    obj[2] = self:slot(mt)
    self:pop()
  end
  local n = 2
  for k, x in next, t do
    self:push("key", k)
    local ks = self:slot(k)
    local xs = self:slot(x)
    self:pop()
    obj[n + 1], obj[n + 2] = ks, xs
    n = n + 2
  end
  return ref
end

function Walker:func(f)
  local ok, code = pcall(dump, f)
  if not ok then refuse(self.ctx, self.nctx, "cannot be dumped (" .. tostring(code) .. ")") end
  local ups, joins = {}, {}
  local obj = { "f", code, ups = ups, joins = joins }
  local ref = self:add(f, obj)
  local id = self.nobj
  self:push("fn", f)
  local i = 1
  while true do
    local name, val = getupvalue(f, i)
    if name == nil then break end
    local uid = upvalueid(f, i)
    local first = self.upids[uid]
    if first then
      joins[i] = first
    else
      self.upids[uid] = { id, i }
      self:push("up", name ~= "" and name or ("#" .. i))
      ups[i] = self:slot(val)
      self:pop()
    end
    i = i + 1
  end
  -- user-defined globals this function reads
  local reads = collect_global_reads(f, {})
  local env = getfenv(f)
  for name in pairs(reads) do
    if not STANDARD_GLOBALS[name] and not self.gdone[name] then
      local val = lookup_global(env, name)
      if val ~= nil then
        self.gdone[name] = true
        self:push("global", name)
        local s = self:slot(val)
        self:pop()
        local g = self.globals
        g[#g + 1] = name
        g[#g + 1] = s
      end
    end
  end
  self:pop()
  return ref
end

--- Serialises `value` (and everything it reaches) for another Lua state.
---@param value any
---@return string
function M.encode(value)
  local w = new_walker()
  local root = w:slot(value)
  return buffer.encode({ root = root, objs = w.objs, globals = w.globals })
end

--------------------------------------------------------------------------
-- decoding
--------------------------------------------------------------------------

local function resolve(vals, s)
  if type(s) == "table" then return vals[s[1]] end
  return s
end

--- Rebuilds a value made by `ship.encode`, in the current Lua state.
---@param bytes string
---@return any
function M.decode(bytes)
  local rep = buffer.decode(bytes)
  if type(rep) ~= "table" or type(rep.objs) ~= "table" then
    error("flow.ship: not a shipped value", 2)
  end
  local objs, vals = rep.objs, {}
  -- 1. create every object
  for id = 1, #objs do
    local o = objs[id]
    local kind = o[1]
    if kind == "t" then
      vals[id] = {}
    elseif kind == "f" then
      local fn, err = load(o[2])
      if not fn then error("flow.ship: cannot load a shipped function: " .. tostring(err), 0) end
      widen_templates(fn)
      vals[id] = fn
    elseif kind == "m" then
      vals[id] = require(o[2])
    elseif kind == "G" then
      vals[id] = G
    elseif kind == "p" then
      local mod = o[2] == "_G" and G or require(o[2])
      local x = type(mod) == "table" and mod[o[3]] or nil
      if x == nil then
        error(format("flow.ship: %s.%s does not exist in this state", o[2], tostring(o[3])), 0)
      end
      vals[id] = x
    else
      error("flow.ship: corrupt shipped value (object kind " .. tostring(kind) .. ")", 0)
    end
  end
  -- 2. fill tables, set and join upvalues
  for id = 1, #objs do
    local o = objs[id]
    local kind = o[1]
    if kind == "t" then
      local t = vals[id]
      for j = 3, #o, 2 do
        rawset(t, resolve(vals, o[j]), resolve(vals, o[j + 1]))
      end
    elseif kind == "f" then
      local fn = vals[id]
      for i, s in pairs(o.ups) do setupvalue(fn, i, resolve(vals, s)) end
      for i, j in pairs(o.joins) do upvaluejoin(fn, i, vals[j[1]], j[2]) end
    end
  end
  -- 3. metatables, once every table is filled
  for id = 1, #objs do
    local o = objs[id]
    if o[1] == "t" and o[2] ~= false then
      setmetatable(vals[id], resolve(vals, o[2]))
    end
  end
  -- 4. globals the shipped functions read
  local globals = rep.globals or {}
  for j = 1, #globals, 2 do
    local name = globals[j]
    if rawget(G, name) == nil then rawset(G, name, resolve(vals, globals[j + 1])) end
  end
  return resolve(vals, rep.root)
end

return M
