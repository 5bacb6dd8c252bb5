-- The FFI door: lua/flow/ffi.lua and the C headers agree. spec/c/ffi_layout
-- (built by CMake; ctest passes its path in FLOWLUA_FFI_LAYOUT) prints C's
-- enum values, sizeof and offsetof; it includes ffi.lua's prototypes after
-- the real headers, so that it compiled at all says they agree.
local ffi = require("ffi")
local fi = require("flow.ffi")

-- ctest sets these; a plain `busted --run=unit` in the checkout uses build/
local build_dir = (os.getenv("FLOWLUA") or "build/flowlua"):match("^(.*)/[^/]*$") or "."
local layout = os.getenv("FLOWLUA_FFI_LAYOUT") or build_dir .. "/ffi_layout"
local source_dir = os.getenv("FLOWLUA_SOURCE_DIR") or "."

--- Runs a shell command: its output, and whether it exited 0.
local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; echo \"::exit::$?\""))
  local out = p:read("*a")
  p:close()
  local text, code = out:match("^(.*)::exit::(%d+)%s*$")
  return text, tonumber(code) == 0
end

--- C's view: { name = value } and the names in order.
local function c_view()
  assert(layout, "FLOWLUA_FFI_LAYOUT is not set (ctest sets it: see CMakeLists.txt)")
  local text, ok = sh("'" .. layout .. "'")
  assert(ok, "ffi_layout failed: " .. text)
  local values, names = {}, {}
  for line in text:gmatch("[^\n]+") do
    local name, value = line:match("^(.-) (%-?%d+)$")
    assert(name, "unexpected line from ffi_layout: " .. line)
    values[name] = tonumber(value)
    names[#names + 1] = name
  end
  return values, names
end

--- The fields of each struct typedef of ffi.lua's declarations.
local function lua_struct_fields()
  local structs = {}
  for body, name in fi.TYPES:gmatch("typedef struct [%w_]+ (%b{})%s*([%w_]+);") do
    local fields = {}
    for decl in body:sub(2, -2):gmatch("[^;]+;") do
      local f = decl:match("%(%*%s*([%w_]+)%)") or decl:match("([%w_]+)%s*;$")
      fields[#fields + 1] = f
    end
    structs[name] = fields
  end
  return structs
end

--- LuaJIT's view of one of ffi_layout's names.
local function lua_value(name)
  local t = name:match("^sizeof%((.+)%)$")
  if t then return ffi.sizeof(t) end
  local s, f = name:match("^offsetof%(([^,]+),(.+)%)$")
  if s then return ffi.offsetof(s, f) end
  if name == "functions" then
    local n = 0
    for line in fi.FUNCTIONS:gmatch("[^\n]+") do
      if not line:match("^%s*/%*") then n = n + 1 end
    end
    return n
  end
  for _, e in ipairs(fi.ENUMS) do
    if e.name == name then return e.value end
  end
  return nil
end

--- Every disagreement between C's view and Lua's, as strings.
local function mismatches(c_values, c_names)
  local bad = {}
  for _, name in ipairs(c_names) do
    local lv = lua_value(name)
    if lv ~= c_values[name] then
      bad[#bad + 1] = string.format("%s: C says %s, LuaJIT says %s", name, tostring(c_values[name]), tostring(lv))
    end
  end
  -- and what Lua declares, C must have printed
  for _, e in ipairs(fi.ENUMS) do
    if c_values[e.name] == nil then bad[#bad + 1] = e.name .. ": declared in Lua, unknown to ffi_layout" end
  end
  local fields = lua_struct_fields()
  for _, s in ipairs(fi.STRUCTS) do
    if c_values["sizeof(" .. s .. ")"] == nil then bad[#bad + 1] = s .. ": no sizeof from ffi_layout" end
    assert(fields[s], "ffi.lua declares no struct " .. s)
    for _, f in ipairs(fields[s]) do
      if c_values["offsetof(" .. s .. "," .. f .. ")"] == nil then
        bad[#bad + 1] = s .. "." .. f .. ": declared in Lua, no offsetof from ffi_layout"
      end
    end
  end
  return bad
end

describe("the FFI door (lua/flow/ffi.lua)", function()
  it("agrees with the C headers: enum values, struct sizes and offsets, functions", function()
    local values, names = c_view()
    assert.are.same({}, mismatches(values, names))
    -- not vacuous: every kind of line was there
    assert.are.equal(fi.ECANCELED, values.FLOW_ECANCELED)
    assert.truthy(values["sizeof(flow_buffer_t)"])
    assert.truthy(values["offsetof(flowlua_operator_t,close)"])
    assert.truthy(values.functions > 30)
  end)

  it("finds a deliberately wrong expectation", function()
    local values, names = c_view()
    local wrong = {}
    for k, v in pairs(values) do wrong[k] = v end
    wrong.FLOW_EBLOCKED = -99
    wrong["offsetof(flow_buffer_t,channel)"] = 0
    local bad = mismatches(wrong, names)
    assert.are.equal(2, #bad, table.concat(bad, "\n"))
    -- a field Lua declares that C did not print
    wrong = {}
    for k, v in pairs(values) do wrong[k] = v end
    wrong["offsetof(flowlua_out_t,grow)"] = nil
    local names2 = {}
    for _, n in ipairs(names) do if n ~= "offsetof(flowlua_out_t,grow)" then names2[#names2 + 1] = n end end
    bad = mismatches(wrong, names2)
    assert.are.equal(1, #bad, table.concat(bad, "\n"))
  end)

  it("names the codes and tags C uses", function()
    assert.are.equal(-6, fi.ECANCELED)
    assert.are.equal(-9, fi.ETIMEDOUT)
    assert.are.equal(-10, fi.EBLOCKED)
    assert.are.equal(10, fi.TAG_TS)
    assert.are.equal(13, fi.TAG_BARRIER)
    assert.are.equal(fi.C, ffi.C)
  end)

  describe("prototypes that disagree with their header", function()
    local cc, cflags = os.getenv("FLOWLUA_CC") or "cc", os.getenv("FLOWLUA_FFI_CFLAGS")
    if not cflags then
      local p = io.popen("pkg-config --cflags luajit libuv 2>/dev/null")
      cflags = "-std=c11 -D_GNU_SOURCE " .. (p:read("*l") or "")
      p:close()
    end
    local headers = [[
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include "flowlua.h"
#include "runtime/buffer.h"
#include "runtime/c_operator.h"
#include "runtime/fd_source.h"
#include "runtime/line_reader.h"
#include "runtime/task.h"
#include "runtime/text_format.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/hash.h"
#include "nexmark.h"
]]
    local function compiles(prototypes)
      assert(cc and cflags, "FLOWLUA_CC / FLOWLUA_FFI_CFLAGS are not set (ctest sets them)")
      local src = os.tmpname()
      local f = assert(io.open(src, "w"))
      f:write(headers, prototypes, "\n")
      f:close()
      local out, ok = sh(string.format("env -u LD_PRELOAD '%s' %s -I'%s/src' -I'%s/include' -I'%s/stdlib' -fsyntax-only -x c '%s'", cc, cflags,
        source_dir, source_dir, source_dir, src))
      os.remove(src)
      return ok, out
    end

    it("ffi.lua's own compile", function()
      local ok, out = compiles(fi.FUNCTIONS)
      assert.is_true(ok, out)
    end)

    it("a changed parameter type does not", function()
      local wrong = fi.FUNCTIONS:gsub("int flow_task_next%(flow_task_t %*, int64_t,",
        "int flow_task_next(flow_task_t *, int,")
      assert.are_not.equal(fi.FUNCTIONS, wrong)
      local ok, out = compiles(wrong)
      assert.is_false(ok)
      assert.truthy(out:find("flow_task_next", 1, true), out)
    end)

    it("a changed result type does not", function()
      local wrong = fi.FUNCTIONS:gsub("int64_t flow_task_checkpoint_request", "int flow_task_checkpoint_request")
      assert.are_not.equal(fi.FUNCTIONS, wrong)
      local ok = compiles(wrong)
      assert.is_false(ok)
    end)
  end)

  it("dir_names lists a directory of any size, nil for a missing one", function()
    require("helpers.unit").native() -- the C core in this luajit
    local dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p '" .. dir .. "'")
    local want = {}
    for i = 1, 700 do -- more than the first 4 KiB guess
      local name = ("file-%04d-%s"):format(i, ("x"):rep(i % 13))
      io.open(dir .. "/" .. name, "w"):close()
      want[#want + 1] = name
    end
    local got = fi.dir_names(dir)
    table.sort(got)
    table.sort(want)
    assert.are.same(want, got)
    os.execute("rm -rf '" .. dir .. "'")
    assert.is_nil(fi.dir_names(dir))
  end)
end)
