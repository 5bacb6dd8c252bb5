/* flow.core: the only C that knows the shape of the `flow` Lua API. The
 * client state's lua/flow modules build a StreamGraph through it, explain it,
 * and execute it on a MiniCluster. */
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/minicluster.h"
#include "common.h"
#include "graph/explain.h"
#include "graph/job_graph.h"
#include "lua/core.h"

#define GRAPH_MT "flow.core.graph"

typedef struct lgraph {
  flow_stream_graph_t *sg;
  flow_job_graph_t *jg;
} lgraph_t;

static lgraph_t *check_graph(lua_State *L) { return luaL_checkudata(L, 1, GRAPH_MT); }

static int l_graph_new(lua_State *L) {
  const char *name = luaL_optstring(L, 1, "Flink Streaming Job");
  lgraph_t *g = lua_newuserdata(L, sizeof(*g));
  g->jg = NULL;
  g->sg = flow_sg_new(name);
  if (g->sg == NULL) return luaL_error(L, "out of memory");
  luaL_getmetatable(L, GRAPH_MT);
  lua_setmetatable(L, -2);
  return 1;
}

static int l_graph_gc(lua_State *L) {
  lgraph_t *g = check_graph(L);
  flow_jg_free(g->jg);
  flow_sg_free(g->sg);
  g->jg = NULL;
  g->sg = NULL;
  return 0;
}

static const char *opt_field_str(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  const char *s = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1); /* the string stays alive: it is referenced by the table */
  return s;
}

static lua_Number opt_field_num(lua_State *L, int t, const char *k, lua_Number dflt) {
  lua_getfield(L, t, k);
  lua_Number n = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : dflt;
  lua_pop(L, 1);
  return n;
}

static int opt_field_bool(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  int b = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return b;
}

/* g:add_node{ name=, kind=, parallelism=, max_parallelism=, slot_sharing_group=,
 *             uid=, chaining="always"|"head"|"never", source=bool, keyed=bool,
 *             origin=, payload= } -> id */
static int l_add_node(lua_State *L) {
  lgraph_t *g = check_graph(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  flow_stream_node_desc_t d;
  memset(&d, 0, sizeof(d));
  d.name = opt_field_str(L, 2, "name");
  d.kind = opt_field_str(L, 2, "kind");
  d.parallelism = (int)opt_field_num(L, 2, "parallelism", 1);
  d.max_parallelism = (int)opt_field_num(L, 2, "max_parallelism", 0);
  d.slot_sharing_group = opt_field_str(L, 2, "slot_sharing_group");
  d.uid = opt_field_str(L, 2, "uid");
  d.origin = opt_field_str(L, 2, "origin");
  d.is_source = opt_field_bool(L, 2, "source");
  d.is_keyed = opt_field_bool(L, 2, "keyed");
  const char *ch = opt_field_str(L, 2, "chaining");
  d.chaining = FLOW_CHAIN_ALWAYS;
  if (ch != NULL && strcmp(ch, "head") == 0) d.chaining = FLOW_CHAIN_HEAD;
  if (ch != NULL && strcmp(ch, "never") == 0) d.chaining = FLOW_CHAIN_NEVER;
  lua_getfield(L, 2, "payload");
  size_t len = 0;
  d.payload = lua_isstring(L, -1) ? lua_tolstring(L, -1, &len) : NULL;
  d.payload_len = len;
  int id = flow_sg_add_node(g->sg, &d);
  lua_pop(L, 1);
  if (id < 0) return luaL_error(L, "add_node: %s", flow_strerror(id));
  lua_pushinteger(L, id);
  return 1;
}

/* g:add_edge(source, target, partitioner, explicit, type_number) */
static int l_add_edge(lua_State *L) {
  lgraph_t *g = check_graph(L);
  int src = (int)luaL_checkinteger(L, 2), dst = (int)luaL_checkinteger(L, 3);
  flow_partitioner_t p;
  if (flow_partitioner_parse(luaL_checkstring(L, 4), &p) != 0)
    return luaL_error(L, "unknown partitioner '%s'", lua_tostring(L, 4));
  int rc = flow_sg_add_edge(g->sg, src, dst, p, lua_toboolean(L, 5), (int)luaL_optinteger(L, 6, 0));
  if (rc < 0) return luaL_error(L, "add_edge: %s", flow_strerror(rc));
  return 0;
}

/* g:configure{ mode="batch"|"streaming", chaining=bool, max_parallelism=n } */
static int l_configure(lua_State *L) {
  lgraph_t *g = check_graph(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  const char *mode = opt_field_str(L, 2, "mode");
  if (mode != NULL) g->sg->mode = strcmp(mode, "batch") == 0 ? FLOW_MODE_BATCH : FLOW_MODE_STREAMING;
  lua_getfield(L, 2, "chaining");
  if (!lua_isnil(L, -1)) g->sg->chaining_enabled = lua_toboolean(L, -1);
  lua_pop(L, 1);
  g->sg->max_parallelism = (int)opt_field_num(L, 2, "max_parallelism", g->sg->max_parallelism);
  return 0;
}

/* Compiles once; returns the job graph or pushes nil, message. */
static flow_job_graph_t *compile(lua_State *L, lgraph_t *g) {
  if (g->jg != NULL) return g->jg;
  char err[1024] = "";
  g->jg = flow_jg_build(g->sg, err, sizeof(err));
  if (g->jg == NULL) {
    lua_pushnil(L);
    lua_pushstring(L, err[0] ? err : "invalid job graph");
  }
  return g->jg;
}

static int l_explain(lua_State *L) {
  lgraph_t *g = check_graph(L);
  const char *fmt = luaL_optstring(L, 2, "text");
  flow_job_graph_t *jg = compile(L, g);
  if (jg == NULL) return 2;
  char *s;
  if (strcmp(fmt, "json") == 0) s = flow_explain_json(jg);
  else if (strcmp(fmt, "dot") == 0) s = flow_explain_dot(jg);
  else if (strcmp(fmt, "text") == 0) s = flow_explain_text(jg);
  else return luaL_error(L, "unknown explain format '%s' (text, json or dot)", fmt);
  if (s == NULL) return luaL_error(L, "out of memory");
  lua_pushstring(L, s);
  free(s);
  return 1;
}

/* g:validate() -> true | nil, message */
static int l_validate(lua_State *L) {
  lgraph_t *g = check_graph(L);
  if (compile(L, g) == NULL) return 2;
  lua_pushboolean(L, 1);
  return 1;
}

/* g:execute{ slots=n, buffer_timeout_ms=n } ->
 *   { job_id=, status=, net_runtime_ms=, collected={bytes...} } | nil, message, result */
static int l_execute(lua_State *L) {
  lgraph_t *g = check_graph(L);
  flow_minicluster_options_t opt = {0, 100};
  if (lua_istable(L, 2)) {
    opt.slots = (int)opt_field_num(L, 2, "slots", 0);
    opt.buffer_timeout_ms = (int64_t)opt_field_num(L, 2, "buffer_timeout_ms", 100);
  }
  flow_job_graph_t *jg = compile(L, g);
  if (jg == NULL) return 2;
  flow_job_result_t r;
  int rc = flow_minicluster_execute(jg, &opt, &r);
  if (rc != 0) {
    flow_job_result_clear(&r);
    return luaL_error(L, "could not start the MiniCluster: %s", flow_strerror(rc));
  }
  lua_createtable(L, 0, 5);
  lua_pushstring(L, r.job_id);
  lua_setfield(L, -2, "job_id");
  lua_pushstring(L, flow_job_status_name(r.status));
  lua_setfield(L, -2, "status");
  lua_pushnumber(L, (lua_Number)r.net_runtime_ms);
  lua_setfield(L, -2, "net_runtime_ms");
  lua_newtable(L);
  int i = 0;
  for (flow_buffer_t *b = r.collected; b != NULL; b = b->next) {
    lua_pushlstring(L, (const char *)b->data, b->size);
    lua_rawseti(L, -2, ++i);
  }
  lua_setfield(L, -2, "collected");
  if (r.status != FLOW_JOB_FINISHED) {
    lua_pushnil(L);
    lua_pushstring(L, r.failure ? r.failure : flow_job_status_name(r.status));
    lua_pushvalue(L, -3);
    flow_job_result_clear(&r);
    return 3;
  }
  flow_job_result_clear(&r);
  return 1;
}

/* core.mkdir(path) -> true | nil, message (an existing directory is fine) */
static int l_mkdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (mkdir(path, 0777) != 0 && !(errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_cpu_count(lua_State *L) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  lua_pushinteger(L, n > 0 ? n : 1);
  return 1;
}

static const luaL_Reg graph_methods[] = {
    {"add_node", l_add_node}, {"add_edge", l_add_edge}, {"configure", l_configure},
    {"explain", l_explain},   {"validate", l_validate}, {"execute", l_execute},
    {NULL, NULL}};

static const luaL_Reg core_funcs[] = {{"graph", l_graph_new}, {"cpu_count", l_cpu_count}, {"mkdir", l_mkdir}, {NULL, NULL}};

int luaopen_flow_core(lua_State *L) {
  if (luaL_newmetatable(L, GRAPH_MT)) {
    lua_pushcfunction(L, l_graph_gc);
    lua_setfield(L, -2, "__gc");
    lua_newtable(L);
    luaL_register(L, NULL, graph_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  lua_newtable(L);
  luaL_register(L, NULL, core_funcs);
  lua_pushstring(L, FLOWLUA_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
