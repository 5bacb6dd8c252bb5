#include "lua/state.h"

#include <lauxlib.h>
#include <lualib.h>
#include <string.h>

#include "lua/core.h"
#include "lua/embedded.h"

int flow_lua_load_embedded(lua_State *L, const char *name) {
  for (size_t i = 0; i < flow_embedded_module_count; i++) {
    const flow_embedded_module_t *m = &flow_embedded_modules[i];
    if (strcmp(m->name, name) == 0)
      return luaL_loadbuffer(L, (const char *)m->bytecode, m->size, name);
  }
  return -1;
}

/* package.loaders entry: finds embedded modules by name. */
static int embedded_searcher(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  int rc = flow_lua_load_embedded(L, name);
  if (rc == -1) {
    lua_pushfstring(L, "\n\tno embedded module '%s'", name);
    return 1;
  }
  if (rc != 0) return lua_error(L);
  return 1;
}

lua_State *flow_lua_new_state(void) {
  lua_State *L = luaL_newstate();
  if (L == NULL) return NULL;
  luaL_openlibs(L);
  /* insert the searcher right after package.preload's */
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "loaders");
  int n = (int)lua_objlen(L, -1);
  for (int i = n; i >= 2; i--) {
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushcfunction(L, embedded_searcher);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 1);
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_flow_core);
  lua_setfield(L, -2, "flow.core");
  lua_pop(L, 2);
  return L;
}

/* Strings get a traceback; other error values (sentinels such as the
 * task runtime's CANCELED) pass through untouched. */
static int traceback_handler(lua_State *L) {
  if (lua_type(L, 1) != LUA_TSTRING && lua_type(L, 1) != LUA_TNUMBER) return 1;
  luaL_traceback(L, L, lua_tostring(L, 1), 1);
  return 1;
}

const char *flow_lua_error_message(lua_State *L, int idx) {
  if (lua_isstring(L, idx)) return lua_tostring(L, idx);
  if (luaL_callmeta(L, idx, "__tostring") && lua_isstring(L, -1)) {
    lua_replace(L, idx < 0 ? idx - 1 : idx);
    return lua_tostring(L, idx);
  }
  return lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, idx));
}

int flow_lua_pcall(lua_State *L, int nargs, int nresults) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, traceback_handler);
  lua_insert(L, base);
  int rc = lua_pcall(L, nargs, nresults, base);
  lua_remove(L, base);
  return rc;
}
