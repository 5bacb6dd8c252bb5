/* flow_native.so: the core as a Lua C module, for plain luajit.
 *
 *   require("flow_native")  -- installs the embedded-module searcher and
 *                           -- flow.core; makes flow_* visible to ffi.C
 *   require("flow")         -- the rock's flow.lua shim calls load("flow")
 *
 * The same object is linked into the flowlua binary, where it is unused. */
#include <dlfcn.h>
#include <lauxlib.h>
#include <lua.h>

#include "lua/core.h"
#include "lua/state.h"
#include "util/common.h"

int luaopen_flow_native(lua_State *L);

/* flow_native.load(name) -> the embedded module's chunk (not run) */
static int l_load(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  int rc = flow_lua_load_embedded(L, name);
  if (rc == FLOW_EINVAL) return luaL_error(L, "no embedded module '%s'", name);
  if (rc != 0) return lua_error(L);
  return 1;
}

/* flow_native.require(name): loads and runs an embedded module under
 * package.loaded[name], as require would (the flow.lua shim uses it for
 * "flow", whose own name on package.path is the shim). */
static int l_require(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "loaded");
  lua_getfield(L, -1, name);
  /* a module table; not require's "being loaded" sentinel (which LuaJIT's
   * API shows as a non-table value) */
  if (lua_istable(L, -1)) return 1;
  lua_pop(L, 1);
  int rc = flow_lua_load_embedded(L, name);
  if (rc == FLOW_EINVAL) return luaL_error(L, "no embedded module '%s'", name);
  if (rc != 0) return lua_error(L);
  lua_pushstring(L, name);
  lua_call(L, 1, 1);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
  }
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, name);
  return 1;
}

/* Re-opens this library RTLD_GLOBAL: require() opened it RTLD_LOCAL, and
 * the task states find flow_task_next etc. through ffi.C (dlsym(RTLD_DEFAULT)). */
static int make_symbols_global(lua_State *L) {
  Dl_info info;
  if (dladdr((void *)&luaopen_flow_native, &info) == 0 || info.dli_fname == NULL)
    return luaL_error(L, "flow_native: cannot find its own path (dladdr)");
  void *h = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
  if (h == NULL) return luaL_error(L, "flow_native: %s", dlerror());
  /* the handle stays open: the library must outlive every state */
  return 0;
}

static int installed_searcher(lua_State *L) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "loaders");
  int n = (int)lua_objlen(L, -1);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    int same = flow_lua_is_embedded_searcher(lua_tocfunction(L, -1));
    lua_pop(L, 1);
    if (same) {
      lua_pop(L, 2);
      return 1;
    }
  }
  lua_pop(L, 2);
  return 0;
}

int luaopen_flow_native(lua_State *L) {
  make_symbols_global(L);
  if (!installed_searcher(L)) flow_lua_install_embedded(L);
  lua_createtable(L, 0, 3);
  lua_pushcfunction(L, l_load);
  lua_setfield(L, -2, "load");
  lua_pushcfunction(L, l_require);
  lua_setfield(L, -2, "require");
  lua_pushstring(L, FLOWLUA_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
