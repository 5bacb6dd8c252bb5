#include "cli/log.h"

#include <lauxlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/common.h"

static flow_log_level_t current = FLOW_LOG_WARN;
static const char *const names[] = {"error", "warn", "info", "debug"};
static const char *const labels[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void flow_log_set_level(flow_log_level_t level) { current = level; }
flow_log_level_t flow_log_get_level(void) { return current; }

int flow_log_parse_level(const char *name, flow_log_level_t *level) {
  for (int i = 0; i < 4; i++) {
    if (strcmp(name, names[i]) == 0) {
      *level = (flow_log_level_t)i;
      return 0;
    }
  }
  if (strcmp(name, "warning") == 0) {
    *level = FLOW_LOG_WARN;
    return 0;
  }
  return FLOW_EINVAL;
}

const char *flow_log_level_name(flow_log_level_t level) {
  return level <= FLOW_LOG_DEBUG ? names[level] : "?";
}

void flow_log(flow_log_level_t level, const char *fmt, ...) {
  if (level > current) return;
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  /* one write per line, so lines of several threads do not interleave */
  fprintf(stderr, "flowlua: %s %s\n", labels[level], msg);
  fflush(stderr);
}

/* flowlua_log(level, msg): level is "error" | "warn" | "info" | "debug";
 * msg is any value (tostring'ed). Returns whether the line was written. */
static int l_log(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  flow_log_level_t level;
  if (flow_log_parse_level(name, &level) != 0)
    return luaL_argerror(L, 1, "log level must be error, warn, info or debug");
  lua_getglobal(L, "tostring");
  lua_pushvalue(L, 2);
  lua_call(L, 1, 1);
  const char *msg = lua_tostring(L, -1);
  flow_log(level, "%s", msg ? msg : "nil");
  lua_pushboolean(L, level <= current);
  return 1;
}

void flow_log_open_lua(lua_State *L) {
  lua_pushcfunction(L, l_log);
  lua_setglobal(L, "flowlua_log");
}
