/* Lua states of flowlua: the client state (the script), and one per task
 * thread. Both see the embedded modules of lua/ and stdlib/ through require. */
#ifndef FLOW_LUA_STATE_H
#define FLOW_LUA_STATE_H

#include <lua.h>

/* Makes require() find the embedded modules (and flow.core) in L. */
void flow_lua_install_embedded(lua_State *L);
int flow_lua_is_embedded_searcher(lua_CFunction f);
/* A new state with the standard libraries and the embedded-module loader. */
lua_State *flow_lua_new_state(void);
/* The one protected-call helper: calls the function below nargs arguments
 * with a traceback handler. On error returns the lua_pcall status and leaves
 * "message\nstack traceback:\n..." on the stack (one value). */
int flow_lua_pcall(lua_State *L, int nargs, int nresults);
/* The message of the error value at idx (a string, or its __tostring). */
const char *flow_lua_error_message(lua_State *L, int idx);
/* Loads an embedded module's chunk (not run). Returns 0, a Lua status (an
 * error message pushed), or FLOW_EINVAL when there is no such module. */
int flow_lua_load_embedded(lua_State *L, const char *name);

#endif
