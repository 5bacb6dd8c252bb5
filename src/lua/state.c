#include "lua/state.h"

#include <lauxlib.h>
#include <lualib.h>
#include <string.h>

#include "lua/core.h"
#include "lua/embedded.h"
#include "util/common.h"

int flow_lua_load_embedded(lua_State *L, const char *name) {
  for (size_t i = 0; i < flow_embedded_module_count; i++) {
    const flow_embedded_module_t *m = &flow_embedded_modules[i];
    if (strcmp(m->name, name) == 0)
      return luaL_loadbuffer(L, (const char *)m->bytecode, m->size, name);
  }
  return FLOW_EINVAL; /* no such module */
}

/* package.loaders entry: finds embedded modules by name. */
static int embedded_searcher(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  int rc = flow_lua_load_embedded(L, name);
  if (rc == FLOW_EINVAL) {
    lua_pushfstring(L, "\n\tno embedded module '%s'", name);
    return 1;
  }
  if (rc != 0) return lua_error(L);
  return 1;
}

void flow_lua_install_embedded(lua_State *L) {
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
}

int flow_lua_is_embedded_searcher(lua_CFunction f) { return f == embedded_searcher; }

lua_State *flow_lua_new_state(void) {
  lua_State *L = luaL_newstate();
  if (L == NULL) return NULL;
  luaL_openlibs(L);
  flow_lua_install_embedded(L);
  return L;
}

/* Is the value at idx a flowlua sentinel (its metatable has __flow_sentinel)? */
static int is_sentinel(lua_State *L, int idx) {
  if (!lua_istable(L, idx) || !lua_getmetatable(L, idx)) return 0;
  lua_getfield(L, -1, "__flow_sentinel");
  int yes = lua_toboolean(L, -1);
  lua_pop(L, 2);
  return yes;
}

static int call_tostring(lua_State *L) {
  lua_getglobal(L, "tostring");
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  return 1;
}

/* Error values become "message\nstack traceback:..." strings; sentinels
 * (the task runtime's CANCELED, explain's EXPLAINED) pass through untouched.
 * A value whose __tostring fails is described by its type: this handler
 * never raises. */
static int traceback_handler(lua_State *L) {
  if (is_sentinel(L, 1)) return 1;
  /* a failed job's message (lua/flow/api/job_client.lua) already carries
   * the root cause's traceback: no second one */
  lua_getfield(L, LUA_REGISTRYINDEX, "FLOW_COMPLETE_ERROR");
  int complete = lua_type(L, 1) == LUA_TSTRING && lua_rawequal(L, 1, -1);
  lua_pop(L, 1);
  if (complete) return 1;
  const char *msg;
  if (lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER) {
    msg = lua_tostring(L, 1);
  } else {
    lua_pushcfunction(L, call_tostring);
    lua_pushvalue(L, 1);
    if (lua_pcall(L, 1, 1, 0) == 0 && lua_isstring(L, -1))
      msg = lua_pushfstring(L, "%s (a %s error value)", lua_tostring(L, -1), luaL_typename(L, 1));
    else
      msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

const char *flow_lua_error_message(lua_State *L, int idx) {
  if (lua_isstring(L, idx)) return lua_tostring(L, idx);
  if (idx < 0) idx = lua_gettop(L) + idx + 1;
  lua_pushcfunction(L, call_tostring); /* sentinels have a safe __tostring */
  lua_pushvalue(L, idx);
  if (lua_pcall(L, 1, 1, 0) == 0 && lua_isstring(L, -1)) {
    lua_replace(L, idx);
  } else {
    lua_pop(L, 1);
    lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, idx));
    lua_replace(L, idx);
  }
  return lua_tostring(L, idx);
}

int flow_lua_pcall(lua_State *L, int nargs, int nresults) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, traceback_handler);
  lua_insert(L, base);
  int rc = lua_pcall(L, nargs, nresults, base);
  lua_remove(L, base);
  return rc;
}
