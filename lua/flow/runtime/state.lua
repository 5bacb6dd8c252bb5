--- Keyed state: a per-subtask backend partitioned by key group, as Flink's
--- heap keyed state backend. Every access is scoped to the current key (set
--- by the keyed operator before it calls user code) and a namespace (the
--- window, or "" outside windows).
---
--- Layout: plain[state name][state key] = value for the namespace "" (state
--- outside windows: one lookup per access, the hot path of process
--- functions), and data[key_group][state name][state key][namespace] =
--- value for windows' namespaces, where the state key is the key itself for
--- strings, numbers and booleans and the key's encoded bytes for tables. A
--- snapshot has the second layout for both (so it can be split by key group
--- and restored at another parallelism): a key's group is a function of its
--- state key (hashing a table key hashes its encoding).
local codec = require("flow.codec")

local encode_string = codec.encode_string

local M = {}

---@class flow.KeyedStateBackend
local Backend = {}
Backend.__index = Backend

--- key_group(key) -> integer in 0..max_parallelism-1
function M.new(key_group)
  return setmetatable({ data = {}, plain = {}, key_group = key_group, key = nil, sk = nil, kg = nil, ns = "" },
    Backend)
end

--- The state key of a key: tables become their encoding.
local function state_key(key)
  if type(key) == "table" then return encode_string(key) end
  return key
end
M.state_key = state_key

function Backend:set_key(key)
  if key == nil then error("a key selector returned nil", 0) end
  if key ~= self.key then
    self.key = key
    self.sk = state_key(key)
    self.kg = self.key_group(key)
  end
end

--- Runs with (key, namespace) current, restoring the previous ones after.
function Backend:set_namespace(ns) self.ns = ns or "" end

local function slot(self, name, create)
  local g = self.data[self.kg]
  if not g then
    if not create then return nil end
    g = {}
    self.data[self.kg] = g
  end
  local t = g[name]
  if not t then
    if not create then return nil end
    t = {}
    g[name] = t
  end
  local e = t[self.sk]
  if not e then
    if not create then return nil end
    e = {}
    t[self.sk] = e
  end
  return e
end

-- plain[name], created on first use (never replaced: handles keep it)
local function plain_of(self, name)
  local t = self.plain[name]
  if t == nil then
    t = {}
    self.plain[name] = t
  end
  return t
end

function Backend:get(name, ns)
  if (ns or self.ns) == "" then
    local t = self.plain[name]
    return t and t[self.sk]
  end
  local e = slot(self, name, false)
  if e == nil then return nil end
  return e[ns or self.ns]
end

function Backend:put(name, v, ns)
  if v == nil then return self:remove(name, ns) end
  if (ns or self.ns) == "" then
    plain_of(self, name)[self.sk] = v
    return
  end
  slot(self, name, true)[ns or self.ns] = v
end

function Backend:remove(name, ns)
  if (ns or self.ns) == "" then
    local t = self.plain[name]
    if t then t[self.sk] = nil end
    return
  end
  local e = slot(self, name, false)
  if e == nil then return end
  e[ns or self.ns] = nil
  if next(e) == nil then self.data[self.kg][name][self.sk] = nil end
end

--- Number of (key, namespace) entries of a state (for tests and metrics).
function Backend:count(name)
  local n = 0
  for _ in pairs(self.plain[name] or {}) do n = n + 1 end
  for _, g in pairs(self.data) do
    local t = g[name]
    if t then for _, e in pairs(t) do for _ in pairs(e) do n = n + 1 end end end
  end
  return n
end

-- ------------------------------------------------------------ snapshots

-- t[k], created empty when missing
local function sub(t, k)
  local s = t[k]
  if s == nil then
    s = {}
    t[k] = s
  end
  return s
end

--- The backend's state by key group: data[kg][name][sk][ns] = value
--- (shares the live tables: encode it at once).
function Backend:snapshot()
  if next(self.plain) == nil then return self.data end
  -- the windows' state as it is, copied only down to where a key's
  -- namespace "" joins it
  local out = {}
  for kg, g in pairs(self.data) do
    local og = {}
    for name, t in pairs(g) do og[name] = t end
    out[kg] = og
  end
  local kg_of = self.key_group
  for name, t in pairs(self.plain) do
    for sk, v in pairs(t) do
      local kg = kg_of(sk)
      local og = sub(out, kg)
      local ot = og[name]
      local g = self.data[kg]
      if ot ~= nil and g ~= nil and ot == g[name] then -- shared: copy before adding
        local c = {}
        for k, e in pairs(ot) do c[k] = e end
        ot = c
        og[name] = c
      elseif ot == nil then
        ot = {}
        og[name] = ot
      end
      local e = ot[sk]
      if e == nil then ot[sk] = { [""] = v }
      else
        local c = { [""] = v }
        for ns, x in pairs(e) do c[ns] = x end
        ot[sk] = c
      end
    end
  end
  return out
end

--- Merges snapshots, keeping the key groups in [first, last] (all when nil).
--- `fix(name, value)` may rewrite restored values (re-interning windows).
function Backend:restore(snapshots, first, last, fix)
  for _, snap in ipairs(snapshots) do
    for kg, g in pairs(snap) do
      if first == nil or (kg >= first and kg <= last) then
        local mine = sub(self.data, kg)
        for name, t in pairs(g) do
          local mt = sub(mine, name)
          for sk, e in pairs(t) do
            for ns, v in pairs(e) do
              if fix then v = fix(name, v) or v end
              if ns == "" then plain_of(self, name)[sk] = v
              else sub(mt, sk)[ns] = v end
            end
          end
        end
      end
    end
  end
end

--- Calls f(sk) for every state key held (e.g. to rebuild key maps).
function Backend:each_key(f)
  for _, t in pairs(self.plain) do
    for sk in pairs(t) do f(sk) end
  end
  for _, g in pairs(self.data) do
    for _, t in pairs(g) do
      for sk in pairs(t) do f(sk) end
    end
  end
end

-- ------------------------------------------------------------ state handles
-- A handle reads and writes the backend's current key and namespace when
-- it is used, so one handle per (name, default) serves every key: made
-- once and cached, with methods from a metatable (a closure made per call
-- would keep LuaJIT from compiling the caller: FNEW is not compiled).

local ValueState, ListState, MapState, ReducingState = {}, {}, {}, {}
ValueState.__index, ListState.__index, MapState.__index, ReducingState.__index =
  ValueState, ListState, MapState, ReducingState

function ValueState:value()
  local b = self.b
  local v
  if b.ns == "" then v = self.t[b.sk] else v = b:get(self.name) end
  if v == nil then return self.default end
  return v
end
function ValueState:update(v)
  local b = self.b
  if b.ns == "" and v ~= nil then self.t[b.sk] = v else b:put(self.name, v) end
end
function ValueState:clear() self.b:remove(self.name) end

function ListState:get() return self.b:get(self.name) or {} end
function ListState:add(v)
  local b, name = self.b, self.name
  local l = b:get(name)
  if l == nil then
    l = {}
    b:put(name, l)
  end
  l[#l + 1] = v
end
function ListState:update(list)
  if list == nil or #list == 0 then return self.b:remove(self.name) end
  local c = {}
  for i = 1, #list do c[i] = list[i] end
  self.b:put(self.name, c)
end
function ListState:clear() self.b:remove(self.name) end

local function map_of(self, create)
  local b, name = self.b, self.name
  local m = b:get(name)
  if m == nil and create then
    m = {}
    b:put(name, m)
  end
  return m
end
function MapState:get(k)
  local m = map_of(self, false)
  return m and m[k]
end
function MapState:put(k, v) map_of(self, true)[k] = v end
function MapState:remove(k)
  local m = map_of(self, false)
  if m then
    m[k] = nil
    if next(m) == nil then self.b:remove(self.name) end
  end
end
function MapState:contains(k)
  local m = map_of(self, false)
  return m ~= nil and m[k] ~= nil
end
function MapState:pairs() return pairs(map_of(self, false) or {}) end
function MapState:clear() self.b:remove(self.name) end

function ReducingState:get() return self.b:get(self.name) end
function ReducingState:add(v)
  local b, name = self.b, self.name
  local a = b:get(name)
  if a == nil then b:put(name, v) else b:put(name, self.f(a, v)) end
end
function ReducingState:clear() self.b:remove(self.name) end

--- The cached handle of class mt for (name, extra); made on first use.
local function handle(self, mt, name, extra_key, extra_val)
  local cache = self.handles
  if cache == nil then
    cache = {}
    self.handles = cache
  end
  local by_name = cache[mt]
  if by_name == nil then
    by_name = {}
    cache[mt] = by_name
  end
  local h = by_name[name]
  if h ~= nil and h[extra_key] == extra_val then return h end
  h = setmetatable({ b = self, name = name, t = plain_of(self, name), [extra_key] = extra_val }, mt)
  if h[extra_key] == extra_val then by_name[name] = h end
  return h
end

--- ctx:value_state(name [, default]) -> :value() :update(v) :clear()
function Backend:value_state(name, default)
  return handle(self, ValueState, name, "default", default)
end

--- ctx:list_state(name) -> :get() :add(v) :update(list) :clear()
function Backend:list_state(name)
  return handle(self, ListState, name, "default", nil)
end

--- ctx:map_state(name) -> :get(k) :put(k, v) :remove(k) :contains(k) :pairs() :clear()
function Backend:map_state(name)
  return handle(self, MapState, name, "default", nil)
end

--- ctx:reducing_state(name, f) -> :get() :add(v) :clear()
function Backend:reducing_state(name, f)
  return handle(self, ReducingState, name, "f", f)
end

return M
