-- luarocks --lua-version 5.1 make --tree TREE rockspec/flowlua-scm-1.rockspec
-- (from the checkout; builds offline: no dependency is fetched)
rockspec_format = "3.0"
package = "flowlua"
version = "scm-1"
source = {
   url = "git+file://.",
}
description = {
   summary = "Apache Flink's streaming runtime as a C core driven by LuaJIT",
   detailed = [[
The flow_native C module (the whole core, with the flow API embedded) and a
flow.lua shim, so plain luajit can `local flow = require("flow")`; and the
flowlua command.]],
   license = "Apache-2.0",
}
supported_platforms = { "linux" }
dependencies = {
   "lua == 5.1", -- LuaJIT
}
build = {
   type = "cmake",
   variables = {
      CMAKE_BUILD_TYPE = "Release",
      CMAKE_INSTALL_PREFIX = "$(PREFIX)",
      LUA_LIBDIR = "$(LIBDIR)",
      LUA_LUADIR = "$(LUADIR)",
      CMAKE_INSTALL_BINDIR = "$(BINDIR)",
      FLOWLUA_TESTS = "OFF",
   },
}
