#ifndef FLOW_LUA_CORE_H
#define FLOW_LUA_CORE_H

#include <lua.h>

/* require("flow.core") in the client state. */
int luaopen_flow_core(lua_State *L);
/* Async-signal-safe: asks a client waiting for a job to cancel it. */
void flow_core_interrupt(void);
int flow_core_interrupted(void);
/* The REPL: forgets an interrupt once the job it canceled is over. */
void flow_core_clear_interrupt(void);
/* Async-signal-safe: is a client waiting for a job right now? */
int flow_core_waiting_for_job(void);
/* The CLI turns the live progress line on (stderr must be a terminal too). */
void flow_core_set_progress(int enabled);

/* Cluster mode (flowlua run --jobmanager, or --rest): jobs go to that
 * jobmanager (rest: through its REST endpoint); detached: execute returns
 * once the job is accepted. secret is borrowed for the process's life. */
void flow_core_set_remote(const char *host, int port, const char *secret, size_t secret_len, int detached,
                          int rest);
/* The script whose directory's modules are uploaded with a cluster job. */
void flow_core_set_script(const char *path);

#endif
