--- Generates the C half of the FFI door's compile-time check: the function
--- prototypes lua/flow/ffi.lua declares, verbatim, to be included after
--- the real headers (spec/c/ffi_layout.c). C refuses to compile a
--- prototype that conflicts with its header's; FFI_FUNCTIONS lists every
--- function so the program takes its address (a missing one fails to link).
---
---   luajit spec/c/ffi_prototypes.lua SOURCE_DIR OUT.h
local source_dir, out = arg[1], arg[2]
assert(source_dir and out, "usage: ffi_prototypes.lua SOURCE_DIR OUT.h")
package.path = source_dir .. "/lua/?.lua;" .. source_dir .. "/lua/?/init.lua;" .. package.path
local fi = require("flow.ffi")

local names = {}
for line in fi.FUNCTIONS:gmatch("[^\n]+") do
  if not line:match("^%s*/%*") then
    local name = line:match("([%w_]+)%s*%(")
    assert(name, "cannot find the function's name in: " .. line)
    names[#names + 1] = name
  end
end

local f = assert(io.open(out, "w"))
f:write("/* Generated from lua/flow/ffi.lua by spec/c/ffi_prototypes.lua: do not edit. */\n")
f:write(fi.FUNCTIONS)
f:write("\n#define FFI_FUNCTIONS(X) \\\n")
for _, n in ipairs(names) do f:write("  X(", n, ") \\\n") end
f:write("\n")
f:close()
