#ifndef FLOW_LUA_CORE_H
#define FLOW_LUA_CORE_H

#include <lua.h>

/* require("flow.core") in the client state. */
int luaopen_flow_core(lua_State *L);

#endif
