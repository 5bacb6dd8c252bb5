/* Lua modules of lua/ and stdlib/, compiled to bytecode into the binary. */
#ifndef FLOW_LUA_EMBEDDED_H
#define FLOW_LUA_EMBEDDED_H

#include <stddef.h>

typedef struct flow_embedded_module {
  const char *name; /* "flow", "flow.codec", "flow.stdlib.x" */
  const unsigned char *bytecode;
  size_t size;
} flow_embedded_module_t;

extern const flow_embedded_module_t flow_embedded_modules[];
extern const size_t flow_embedded_module_count;

#endif
