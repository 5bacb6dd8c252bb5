local ffi = require("ffi")
local ship = require("flow.ship")

local function rt(v)
  return ship.decode(ship.encode(v))
end

local function upvalue(f, name)
  local i = 1
  while true do
    local n, v = debug.getupvalue(f, i)
    if n == nil then return nil end
    if n == name then return v end
    i = i + 1
  end
end

local function ship_error(v)
  local ok, err = pcall(ship.encode, v)
  assert.is_false(ok, "expected ship.encode to fail")
  return err
end

local SRC = "spec/unit/ship_spec.lua"

describe("flow.ship", function()
  describe("plain data", function()
    it("round-trips scalars", function()
      for _, v in ipairs({ true, false, 0, -1.5, 2 ^ 60, "", "text\0with nul", 1 / 0 }) do
        assert.are.equal(v, rt(v))
      end
      assert.is_nil(rt(nil))
      local nan = rt(0 / 0)
      assert.is_true(nan ~= nan)
    end)

    it("round-trips nested tables", function()
      local v = { 1, 2, { "a", { b = true } }, name = "x", [10] = 0.5, [true] = "t" }
      assert.are.same(v, rt(v))
    end)

    it("keeps shared references shared", function()
      local shared = { n = 1 }
      local v = rt({ a = shared, b = shared, list = { shared } })
      assert.are.equal(v.a, v.b)
      assert.are.equal(v.a, v.list[1])
      assert.are_not.equal(shared, v.a)
    end)

    it("keeps cycles", function()
      local t = { name = "root", child = {} }
      t.self = t
      t.child.parent = t
      local v = rt(t)
      assert.are.equal(v, v.self)
      assert.are.equal(v, v.child.parent)
      assert.are.equal("root", v.name)
    end)

    it("ships tables used as keys", function()
      local k = { "key" }
      local v = rt({ [k] = "value", ref = k })
      assert.are.equal("value", v[v.ref])
    end)

    it("ships metatables", function()
      local mt = { __index = function(_, key) return key .. "!" end }
      local v = rt(setmetatable({ x = 1 }, mt))
      assert.are.equal(1, v.x)
      assert.are.equal("y!", v.y)
    end)

    it("ships a module metatable by reference", function()
      local Class = { kind = "class" }
      Class.__index = Class
      function Class.hello(self) return "hello " .. self.name end
      package.loaded["ship_spec_class"] = Class
      local v = rt(setmetatable({ name = "obj" }, Class))
      assert.are.equal(Class, getmetatable(v))
      assert.are.equal("hello obj", v:hello())
      package.loaded["ship_spec_class"] = nil
    end)
  end)

  describe("functions", function()
    it("ships a closure with its upvalues", function()
      local factor, suffix = 3, "!"
      local lookup = { a = 1, b = 2 }
      local f = function(k) return (lookup[k] or 0) * factor .. suffix end
      local g = rt(f)
      assert.are_not.equal(f, g)
      assert.are.equal("6!", g("b"))
      assert.are.equal(f("a"), g("a"))
    end)

    it("keeps upvalues shared between shipped closures", function()
      local count = 0
      local function incr() count = count + 1 end
      local function get() return count end
      local v = rt({ incr = incr, get = get })
      v.incr()
      v.incr()
      assert.are.equal(2, v.get())
      assert.are.equal(0, count) -- the original is untouched
      assert.are.equal(debug.upvalueid(v.incr, 1), debug.upvalueid(v.get, 1))
    end)

    it("ships recursive local functions", function()
      local function fact(n) return n <= 1 and 1 or n * fact(n - 1) end
      assert.are.equal(120, rt(fact)(5))
    end)

    it("keeps the identity of a function reached twice", function()
      local f = function() return 1 end
      local v = rt({ f, f, { f } })
      assert.are.equal(v[1], v[2])
      assert.are.equal(v[1], v[3][1])
    end)

    it("keeps source and line information", function()
      local f = function(x)
        if x then error("boom") end
        return 1
      end
      local g = rt(f)
      local a, b = debug.getinfo(f, "S"), debug.getinfo(g, "S")
      assert.are.equal(a.short_src, b.short_src)
      assert.are.equal(a.linedefined, b.linedefined)
      local ok, err = pcall(g, true)
      assert.is_false(ok)
      assert.matches("^" .. SRC:gsub("%p", "%%%0") .. ":%d+: boom", err)
    end)

    it("re-requires module upvalues by name", function()
      local s, m = string, math
      local codec = require("flow.codec")
      local f = function(x) return s.upper(x) .. m.floor(2.5) .. codec.size(x) end
      local g = rt(f)
      assert.are.equal("AB24", g("ab"))
      assert.are.equal(require("string"), upvalue(g, "s"))
      assert.are.equal(require("math"), upvalue(g, "m"))
      assert.are.equal(require("flow.codec"), upvalue(g, "codec"))
    end)

    it("ships _G as the target's _G", function()
      local env = _G
      local g = rt(function() return env end)
      assert.are.equal(_G, g())
    end)

    it("ships C functions and module members by their path", function()
      local fmt, tostr, out = string.format, tostring, io.stdout
      local size = require("flow.codec").size
      local C = ffi.C
      local f = function() return fmt, tostr, out, size, C end
      local a, b, c, d, e = rt(f)()
      assert.are.equal(string.format, a)
      assert.are.equal(tostring, b)
      assert.are.equal(io.stdout, c)
      assert.are.equal(require("flow.codec").size, d)
      assert.are.equal(ffi.C, e)
      assert.are.equal(string.format, rt(string.format))
    end)

    it("defines user globals a function reads", function()
      _G.ship_spec_helper = function(x) return x * 2 + ship_spec_offset end
      _G.ship_spec_offset = 1
      local f = function(x) return ship_spec_helper(x) + 1 end
      local bytes = ship.encode(f)
      _G.ship_spec_helper, _G.ship_spec_offset = nil, nil
      local g = ship.decode(bytes)
      assert.is_function(_G.ship_spec_helper)
      assert.are.equal(1, _G.ship_spec_offset)
      assert.are.equal(8, g(3))
      _G.ship_spec_helper, _G.ship_spec_offset = nil, nil
    end)

    it("leaves globals alone that the target already defines", function()
      _G.ship_spec_value = "client"
      local bytes = ship.encode(function() return ship_spec_value end)
      _G.ship_spec_value = "task"
      assert.are.equal("task", ship.decode(bytes)())
      _G.ship_spec_value = nil
    end)

    it("finds globals read by nested functions, and no standard ones", function()
      local f = function()
        local x = print
        return function() return ship_spec_inner, string, x end
      end
      assert.are.same({ "print", "ship_spec_inner", "string" }, ship.global_reads(f))
      _G.ship_spec_inner = 42
      local bytes = ship.encode(f)
      _G.ship_spec_inner = nil
      local v = ship.decode(bytes)()()
      assert.are.equal(42, v)
      _G.ship_spec_inner = nil
    end)

    it("keeps sharing between upvalues, globals and fields", function()
      local cfg = { n = 1 }
      _G.ship_spec_cfg = cfg
      local f = function() return cfg, ship_spec_cfg end
      local bytes = ship.encode({ f = f, cfg = cfg })
      _G.ship_spec_cfg = nil
      local v = ship.decode(bytes)
      local a, b = v.f()
      assert.are.equal(v.cfg, a)
      assert.are.equal(v.cfg, b)
      _G.ship_spec_cfg = nil
    end)
  end)

  describe("into a separate lua_State", function()
    -- a second state through LuaJIT's own C API, as a task thread has
    local ok_api = pcall(function()
      ffi.cdef [[
        typedef struct lua_State lua_State;
        lua_State *luaL_newstate(void);
        void luaL_openlibs(lua_State *L);
        int luaL_loadstring(lua_State *L, const char *s);
        int lua_pcall(lua_State *L, int nargs, int nresults, int errfunc);
        void lua_pushlstring(lua_State *L, const char *s, size_t l);
        const char *lua_tolstring(lua_State *L, int idx, size_t *len);
        void lua_close(lua_State *L);
      ]]
      return ffi.C.luaL_newstate
    end)

    local function run_in_new_state(chunk, bytes)
      local C = ffi.C
      local L = C.luaL_newstate()
      C.luaL_openlibs(L)
      local src = ("package.path = %q\n"):format(package.path) .. chunk
      local rc = C.luaL_loadstring(L, src)
      if rc == 0 then
        C.lua_pushlstring(L, bytes, #bytes)
        rc = C.lua_pcall(L, 1, 1, 0)
      end
      local p = C.lua_tolstring(L, -1, nil)
      local out = p ~= nil and ffi.string(p) or "(not a string)"
      C.lua_close(L)
      return rc, out
    end

    local test = ok_api and it or pending
    test("runs a shipped closure with its upvalues, modules and globals", function()
      _G.ship_spec_upper = function(w) return w:upper() end
      local fmt, counts = string.format, {}
      local f = function(w)
        counts[w] = (counts[w] or 0) + 1
        return fmt("%s=%d", ship_spec_upper(w), counts[w])
      end
      local bytes = ship.encode(f)
      _G.ship_spec_upper = nil
      local rc, out = run_in_new_state([[
        local g = require("flow.ship").decode(...)
        g("a"); g("b")
        return g("a") .. " " .. type(ship_spec_upper) .. " " .. debug.getinfo(g, "S").short_src
      ]], bytes)
      assert.are.equal(0, rc)
      assert.are.equal("A=2 function " .. SRC, out)
    end)
  end)

  describe("refusals", function()
    it("refuses a coroutine upvalue, naming the function and the upvalue", function()
      local co = coroutine.create(function() end)
      local line = debug.getinfo(1, "l").currentline + 1
      local f = function() return co end
      assert.are.equal(
        ("cannot ship function at %s:%d: upvalue 'co' is a thread"):format(SRC, line),
        ship_error(f))
    end)

    it("refuses userdata and cdata upvalues", function()
      local u = newproxy()
      local line = debug.getinfo(1, "l").currentline + 1
      local f = function() return u end
      assert.are.equal(("cannot ship function at %s:%d: upvalue 'u' is a userdata"):format(SRC, line),
        ship_error(f))
      local buf = ffi.new("int[4]")
      line = debug.getinfo(1, "l").currentline + 1
      local g = function() return buf end
      assert.are.equal(("cannot ship function at %s:%d: upvalue 'buf' is a cdata"):format(SRC, line),
        ship_error(g))
    end)

    it("refuses a C function that no loaded module holds", function()
      local wrapped = coroutine.wrap(function() end)
      local line = debug.getinfo(1, "l").currentline + 1
      local f = function() return wrapped() end
      assert.are.equal(("cannot ship function at %s:%d: upvalue 'wrapped' is a C function "
        .. "not found in any loaded module"):format(SRC, line), ship_error(f))
    end)

    it("names the path inside an upvalue table and the innermost function", function()
      local cfg = { handlers = { on = coroutine.create(function() end) } }
      local f = function() return cfg end
      assert.matches("^cannot ship function at " .. SRC:gsub("%p", "%%%0")
        .. ":%d+: upvalue 'cfg%.handlers%.on' is a thread$", ship_error(f))
      local co = coroutine.create(function() end)
      local line = debug.getinfo(1, "l").currentline + 1
      local inner = function() return co end
      local outer = function() return inner end
      assert.are.equal(("cannot ship function at %s:%d: upvalue 'co' is a thread"):format(SRC, line),
        ship_error(outer))
    end)

    it("refuses an unshippable global", function()
      _G.ship_spec_co = coroutine.create(function() end)
      local line = debug.getinfo(1, "l").currentline + 1
      local f = function() return ship_spec_co end
      local err = ship_error(f)
      _G.ship_spec_co = nil
      assert.are.equal(("cannot ship function at %s:%d: global 'ship_spec_co' is a thread"):format(SRC, line),
        err)
    end)

    it("refuses unshippable values at the top level and in tables", function()
      assert.are.equal("cannot ship a thread", ship_error(coroutine.create(function() end)))
      assert.are.equal("cannot ship a userdata", ship_error(newproxy()))
      assert.are.equal("cannot ship value: field 'a.b' is a thread",
        ship_error({ a = { b = coroutine.create(function() end) } }))
    end)

    it("refuses bytes that are not a shipped value", function()
      assert.has_error(function() ship.decode(require("string.buffer").encode(5)) end,
        "flow.ship: not a shipped value")
    end)
  end)

  describe("table constructors of shipped functions", function()
    --- How many NEWREF (a key added to a table's hash part) the traces of
    --- a loop calling f hold.
    local function newrefs(f)
      local jutil, vmdef, bit = require("jit.util"), require("jit.vmdef"), require("bit")
      jit.flush()
      local s = 0
      for x = 1, 2000 do s = s + f(x)[3] end
      local n = 0
      for tr = 1, 1000 do
        local info = jutil.traceinfo(tr)
        if info then
          for ins = 1, info.nins do
            local _, ot = jutil.traceir(tr, ins)
            local oidx = 6 * bit.rshift(ot, 8)
            if vmdef.irnames:sub(oidx + 1, oidx + 6):match("%S+") == "NEWREF" then n = n + 1 end
          end
        end
      end
      return n
    end

    it("keep their positional fields in the array part (string.dump trims the template)", function()
      local function mk(x) return { x % 1000, 1, x } end
      assert.are.equal(0, newrefs(mk))
      assert.is_true(newrefs(load(string.dump(mk))) > 0) -- what ship.decode repairs
      assert.are.equal(0, newrefs(rt(mk)))
      local function nested(x) return (function(y) return { y, "k", y + 1, y + 2 } end)(x) end
      assert.are.equal(0, newrefs(rt(nested)))
      local t = rt(mk)(7)
      assert.are.same({ 7, 1, 7 }, t)
    end)
  end)
end)
