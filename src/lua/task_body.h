/* The body every Task runs (Flink: StreamTask's invoke): the Lua task loop.
 * The endpoints that start tasks get it as a callback (flow_task_body_fn),
 * so src/runtime and src/coordination never know Lua. */
#ifndef FLOW_LUA_TASK_BODY_H
#define FLOW_LUA_TASK_BODY_H

#include "runtime/task.h"

flow_execution_state_t flow_lua_task_body(flow_task_t *t, char **err, flow_buffer_t **accumulators);

#endif
