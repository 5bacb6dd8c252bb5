/* The interactive REPL of flowlua (libedit line editing, history, tab
 * completion, multi-line input, background jobs). */
#ifndef FLOW_CLI_REPL_H
#define FLOW_CLI_REPL_H

#include <lua.h>

/* Installs the REPL's SIGINT handler: it interrupts the running foreground
 * job (or Lua code), clears the line at the prompt, and never exits. */
void flow_repl_install_signals(lua_State *L);
/* Loads the REPL's helpers and puts flow, env, show, explain, jobs and
 * cancel in the globals. Returns 0, or 1 with the error printed. */
int flow_repl_setup(lua_State *L);
/* The prompt loop: libedit when stdin is a terminal, plain lines otherwise.
 * Returns the process exit code. */
int flow_repl_run(lua_State *L);

#endif
