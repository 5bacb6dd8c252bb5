/* The task body of every Task (runtime/task.h's flow_task_body_fn): a Lua
 * state of the task's own, the task loop of lua/flow/runtime/task.lua run
 * once with the task's descriptor. From then on Lua drives: it pulls whole
 * buffers through the FFI (lua/flow/ffi.lua), so C enters Lua once per task. */
#include "lua/task_body.h"

#include <lauxlib.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "lua/state.h"
#include "util/common.h"

static void set_str(lua_State *L, const char *k, const char *v) {
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}
static void set_int(lua_State *L, const char *k, lua_Number v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void push_node(lua_State *L, const flow_stream_node_t *n) {
  lua_createtable(L, 0, 8);
  set_int(L, "id", n->id);
  set_str(L, "kind", n->kind);
  set_str(L, "name", n->name);
  set_str(L, "origin", n->origin ? n->origin : "?");
  set_int(L, "parallelism", n->parallelism);
  set_int(L, "max_parallelism", n->max_parallelism);
  if (n->uid != NULL) {
    set_str(L, "uid", n->uid);
  } else { /* a stable generated id: the node's place in the script */
    lua_pushfstring(L, "op-%d", n->id);
    lua_setfield(L, -2, "uid");
  }
  lua_pushlstring(L, n->payload ? (const char *)n->payload : "", n->payload_len);
  lua_setfield(L, -2, "payload");
}

static void push_descriptor(lua_State *L, flow_task_t *t) {
  const flow_job_graph_t *jg = t->jg;
  const flow_stream_graph_t *sg = jg->sg;
  const flow_job_vertex_t *jv = &jg->vertices[t->vertex - 1];
  lua_createtable(L, 0, 12);
  set_str(L, "name", t->name);
  set_str(L, "job_name", sg->job_name);
  set_int(L, "vertex", t->vertex);
  set_int(L, "subtask", t->subtask);
  set_int(L, "parallelism", jv->parallelism);
  set_int(L, "max_parallelism", jv->max_parallelism);
  set_int(L, "attempt", t->attempt);
  set_int(L, "buffer_timeout_ms", (lua_Number)t->buffer_timeout_ms);
  set_str(L, "mode", sg->mode == FLOW_MODE_BATCH ? "batch" : "streaming");
  set_int(L, "input_channels", t->gate ? t->gate->n_channels : 0);
  if (t->restore_dir != NULL) set_str(L, "restore_dir", t->restore_dir);
  if (t->checkpoint_dir != NULL) set_str(L, "checkpoint_dir", t->checkpoint_dir);
  if (t->blob_dir != NULL) set_str(L, "blob_dir", t->blob_dir);
  lua_pushboolean(L, t->checkpoint_exactly_once);
  lua_setfield(L, -2, "exactly_once");
  lua_pushboolean(L, t->lazy_splits);
  lua_setfield(L, -2, "lazy_splits");

  /* outputs, 1-based as in Lua; index k+1 is C output k */
  lua_createtable(L, t->n_outputs, 0);
  for (int k = 0; k < t->n_outputs; k++) {
    const flow_job_edge_t *je = &jg->edges[t->outputs[k].job_edge];
    lua_createtable(L, 0, 6);
    set_str(L, "partitioner", flow_partitioner_name(je->part));
    set_int(L, "channels", t->outputs[k].n_channels);
    set_int(L, "source_node", je->source_node);
    set_int(L, "type_number", je->type_number);
    push_node(L, flow_sg_node(sg, je->target_node));
    lua_setfield(L, -2, "target");
    lua_rawseti(L, -2, k + 1);
  }
  lua_setfield(L, -2, "outputs");

  /* the chain, in order; each op lists where its records go */
  lua_createtable(L, jv->n_ops, 0);
  for (int i = 0; i < jv->n_ops; i++) {
    const flow_stream_node_t *n = flow_sg_node(sg, jv->ops[i]);
    push_node(L, n);
    lua_newtable(L);
    int no = 0;
    for (int e = 0; e < sg->n_edges; e++) {
      const flow_stream_edge_t *se = &sg->edges[e];
      if (se->source != n->id) continue;
      lua_createtable(L, 0, 2);
      set_int(L, "target", se->target);
      if (jg->vertex_of_node[se->target] == t->vertex) {
        for (int j = 0; j < jv->n_ops; j++)
          if (jv->ops[j] == se->target) set_int(L, "op", j + 1);
      } else {
        for (int k = 0; k < t->n_outputs; k++) {
          const flow_job_edge_t *je = &jg->edges[t->outputs[k].job_edge];
          if (je->source_node == se->source && je->target_node == se->target) set_int(L, "net", k + 1);
        }
      }
      lua_rawseti(L, -2, ++no);
    }
    lua_setfield(L, -2, "outputs");
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "ops");

  /* which logical input (1 or 2) each input channel belongs to, 0-based channels */
  int nch = t->gate ? t->gate->n_channels : 0;
  lua_createtable(L, nch, 0);
  for (int c = 0; c < nch; c++) {
    lua_pushinteger(L, t->gate->channels[c].input + 1);
    lua_rawseti(L, -2, c);
  }
  lua_setfield(L, -2, "channel_inputs");
}

flow_execution_state_t flow_lua_task_body(flow_task_t *t, char **err, flow_buffer_t **accumulators) {
  lua_State *L = flow_lua_new_state();
  if (L == NULL) {
    *err = flow_strdup("cannot create a Lua state (out of memory)");
    return FLOW_EXEC_FAILED;
  }
  flow_execution_state_t final = FLOW_EXEC_FINISHED;
  lua_getglobal(L, "require");
  lua_pushliteral(L, "flow.runtime.task");
  int rc = flow_lua_pcall(L, 1, 1);
  if (rc == 0) {
    lua_getfield(L, -1, "run_task");
    lua_pushlightuserdata(L, t);
    push_descriptor(L, t);
    rc = flow_lua_pcall(L, 2, 1);
    if (rc == 0) { /* run_task returns the encoded accumulators, or nil */
      size_t n = 0;
      const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
      if (s != NULL) *accumulators = flow_buffer_from(s, n);
    }
  }
  if (rc != 0) {
    /* the runtime's CANCELED sentinel: our gates were canceled (the job is
     * being canceled or failed elsewhere), which is not this task's failure */
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "loaded");
    lua_getfield(L, -1, "flow.runtime.task");
    int sentinel = 0;
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "CANCELED");
      sentinel = lua_rawequal(L, -1, -5);
      lua_pop(L, 1);
    }
    lua_pop(L, 3);
    if (sentinel || flow_task_canceled(t)) {
      final = FLOW_EXEC_CANCELED;
    } else {
      final = FLOW_EXEC_FAILED;
      const char *msg = flow_lua_error_message(L, -1);
      *err = flow_strdup(msg ? msg : "unknown Lua error");
    }
  }
  lua_close(L);
  return final;
}
