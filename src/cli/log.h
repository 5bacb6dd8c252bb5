/* flowlua's log lines on stderr: "flowlua: LEVEL message". */
#ifndef FLOW_CLI_LOG_H
#define FLOW_CLI_LOG_H

#include <lua.h>

typedef enum { FLOW_LOG_ERROR = 0, FLOW_LOG_WARN, FLOW_LOG_INFO, FLOW_LOG_DEBUG } flow_log_level_t;

/* Messages above this level are dropped (default: warn). */
void flow_log_set_level(flow_log_level_t level);
flow_log_level_t flow_log_get_level(void);
/* "error" | "warn" | "info" | "debug" -> 0, or -1 for anything else. */
int flow_log_parse_level(const char *name, flow_log_level_t *level);
const char *flow_log_level_name(flow_log_level_t level);
void flow_log(flow_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The global flowlua_log(level, msg) in a Lua state. */
void flow_log_open_lua(lua_State *L);

#endif
