/* flow.core: the only C that knows the shape of the `flow` Lua API. The
 * client state's lua/flow modules build a StreamGraph through it, explain it,
 * and execute it on a MiniCluster. */
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "coordination/dispatcher_gateway.h"
#include "client/minicluster_client.h"
#include "client/remote_client.h"
#include "client/rest_client.h"
#include "cluster/local_monitor.h"
#include "util/common.h"
#include "graph/serialize.h"
#include "graph/explain.h"
#include "graph/job_graph.h"
#include "lua/core.h"

#include "cluster/local_monitor.h"
#include "lua/task_body.h"

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

/* Sets *out from field k when present; numbers beyond +-2^53 are clamped,
 * never cast out of range. */
static void opt_field_i64(lua_State *L, int t, const char *k, int64_t *out) {
  lua_getfield(L, t, k);
  if (lua_isnumber(L, -1)) {
    lua_Number n = lua_tonumber(L, -1);
    if (n > 9007199254740992.0) n = 9007199254740992.0;
    if (n < -9007199254740992.0) n = -9007199254740992.0;
    *out = (int64_t)n;
  }
  lua_pop(L, 1);
}

/* An int field within [lo, hi], else a Lua error naming it. */
static int opt_field_int(lua_State *L, int t, const char *k, int dflt, int lo, int hi) {
  lua_getfield(L, t, k);
  int v = dflt;
  if (!lua_isnil(L, -1)) {
    lua_Number n = lua_tonumber(L, -1);
    if (!lua_isnumber(L, -1) || n != (lua_Number)(int64_t)n || n < lo || n > hi)
      return luaL_error(L, "%s must be an integer in %d..%d", k, lo, hi);
    v = (int)n;
  }
  lua_pop(L, 1);
  return v;
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
  d.name = d.name ? d.name : "?";
  /* range errors name the operator; the graph validates the rest */
  lua_getfield(L, 2, "parallelism");
  lua_Number p = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 1;
  lua_pop(L, 1);
  lua_getfield(L, 2, "max_parallelism");
  lua_Number mp = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 0;
  lua_pop(L, 1);
  if (p != (lua_Number)(int64_t)p || p < 1 || p > 1000000)
    return luaL_error(L, "the parallelism of '%s' (%s) must be a positive integer, got %f", d.name,
                      d.origin ? d.origin : "?", (double)p);
  if (mp != (lua_Number)(int64_t)mp || mp < 0 || mp > 1000000)
    return luaL_error(L, "the max parallelism of '%s' (%s) must be an integer in 1..32768, got %f", d.name,
                      d.origin ? d.origin : "?", (double)mp);
  d.parallelism = (int)p;
  d.max_parallelism = (int)mp;
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

/* SIGINT: the CLI's handler only sets this flag (async-signal-safe); a
 * client waiting for a job sees it and cancels the job. */
static volatile sig_atomic_t interrupted;
static volatile sig_atomic_t waiting; /* a client thread is waiting for a job */
void flow_core_interrupt(void) { interrupted = 1; }
void flow_core_clear_interrupt(void) { interrupted = 0; }
int flow_core_interrupted(void) { return interrupted != 0; }
int flow_core_waiting_for_job(void) { return waiting != 0; }

static int parse_restart(lua_State *L, int t, flow_restart_strategy_t *rs) {
  lua_getfield(L, t, "restart");
  int idx = lua_gettop(L);
  if (lua_isnil(L, idx)) {
    lua_pop(L, 1);
    return 0;
  }
  luaL_checktype(L, idx, LUA_TTABLE);
  const char *kind = opt_field_str(L, idx, "kind");
  flow_restart_kind_t k;
  if (kind == NULL || flow_restart_parse_kind(kind, &k) != 0)
    return luaL_error(L, "unknown restart strategy '%s' (none, fixed_delay, failure_rate, exponential_delay)",
                      kind ? kind : "nil");
  flow_restart_init(rs, k);
  opt_field_i64(L, idx, "attempts", &rs->attempts);
  opt_field_i64(L, idx, "delay_ms", &rs->delay_ms);
  opt_field_i64(L, idx, "max_failures", &rs->max_failures);
  opt_field_i64(L, idx, "interval_ms", &rs->interval_ms);
  opt_field_i64(L, idx, "initial_ms", &rs->initial_ms);
  opt_field_i64(L, idx, "max_ms", &rs->max_ms);
  opt_field_i64(L, idx, "reset_ms", &rs->reset_ms);
  rs->multiplier = opt_field_num(L, idx, "multiplier", rs->multiplier);
  rs->jitter = opt_field_num(L, idx, "jitter", rs->jitter);
  rs->current_backoff_ms = rs->initial_ms;
  char err[256];
  if (flow_restart_validate(rs, err, sizeof(err)) != 0) return luaL_error(L, "%s", err);
  lua_pop(L, 1);
  return 0;
}

/* checkpoint = { interval_ms, exactly_once, dir, timeout_ms, min_pause_ms, retained },
 * restore_dir = path. Strings stay referenced by the options table. */
static void parse_checkpoint(lua_State *L, int t, flow_checkpoint_config_t *cp) {
  memset(cp, 0, sizeof(*cp));
  cp->restore_dir = (char *)opt_field_str(L, t, "restore_dir"); /* copied by the MiniCluster */
  lua_getfield(L, t, "checkpoint");
  int idx = lua_gettop(L);
  if (lua_istable(L, idx)) {
    opt_field_i64(L, idx, "interval_ms", &cp->interval_ms);
    opt_field_i64(L, idx, "timeout_ms", &cp->timeout_ms);
    opt_field_i64(L, idx, "min_pause_ms", &cp->min_pause_ms);
    int64_t retained = 1;
    opt_field_i64(L, idx, "retained", &retained);
    cp->retained = (int)(retained > 0 && retained < 1000 ? retained : 1);
    cp->exactly_once = opt_field_bool(L, idx, "exactly_once");
    cp->dir = (char *)opt_field_str(L, idx, "dir");
  }
  lua_pop(L, 1);
}

/* ---- cluster mode: jobs go to a jobmanager instead of a MiniCluster ----- */

static flow_remote_target_t remote;
static int remote_on, remote_detached, remote_rest;
static char *script_dir; /* modules found here are uploaded with the job */
static char *script_path;

void flow_core_set_remote(const char *host, int port, const char *secret, size_t secret_len, int detached,
                          int rest) {
  remote_rest = rest;
  remote.host = flow_strdup(host);
  remote.port = port;
  remote.secret = secret;
  remote.secret_len = secret_len;
  remote_on = 1;
  remote_detached = detached;
}

void flow_core_set_script(const char *path) {
  free(script_path);
  free(script_dir);
  script_path = flow_strdup(path);
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    script_dir = flow_strdup(".");
  } else {
    script_dir = flow_xmalloc((size_t)(slash - path) + 1);
    memcpy(script_dir, path, (size_t)(slash - path));
    script_dir[slash - path] = '\0';
  }
}

static int read_file(const char *path, flow_wbuf_t *w) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return FLOW_EIO;
  char buf[8192];
  size_t n;
  size_t at = w->len;
  flow_wr_u32(w, 0); /* length, patched below */
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) flow_wr_raw(w, buf, n);
  fclose(f);
  if (w->err == 0) {
    uint32_t len = (uint32_t)(w->len - at - 4);
    for (int i = 0; i < 4; i++) w->data[at + (size_t)i] = (uint8_t)(len >> (8 * i));
  }
  return 0;
}

/* The BlobServer upload: the script and every loaded module whose file is
 * in the script's directory (package.searchpath over that directory only),
 * as (path relative to it, bytes). Appends i32 n + the blobs to w. */
static void write_blobs(lua_State *L, flow_wbuf_t *w) {
  size_t count_at = w->len;
  flow_wr_i32(w, 0);
  int32_t n = 0;
  if (script_path != NULL && strcmp(script_path, "-") != 0) {
    const char *base = strrchr(script_path, '/');
    base = base ? base + 1 : script_path;
    if (flow_gateway_blob_path_ok(base)) {
      flow_wr_str(w, base);
      if (read_file(script_path, w) == 0) n++;
      else w->len = count_at + 4; /* unreadable: not uploaded */
    }
  }
  if (script_dir != NULL) {
    size_t dl = strlen(script_dir);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "loaded");
    lua_getfield(L, -2, "searchpath");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua", script_dir, script_dir);
    int t = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, t - 2) != 0) {
      lua_pop(L, 1);
      if (lua_type(L, -1) != LUA_TSTRING) continue;
      lua_pushvalue(L, t - 1);
      lua_pushvalue(L, -2);
      lua_pushvalue(L, t);
      if (lua_pcall(L, 2, 1, 0) == 0 && lua_isstring(L, -1)) {
        const char *file = lua_tostring(L, -1);
        const char *rel = strncmp(file, script_dir, dl) == 0 && file[dl] == '/' ? file + dl + 1 : NULL;
        if (rel != NULL && flow_gateway_blob_path_ok(rel)) {
          size_t at = w->len;
          flow_wr_str(w, rel);
          if (read_file(file, w) == 0) n++;
          else w->len = at;
        }
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 4);
  }
  if (w->err == 0)
    for (int i = 0; i < 4; i++) w->data[count_at + (size_t)i] = (uint8_t)((uint32_t)n >> (8 * i));
}

static flow_job_client_t *submit_remote(lua_State *L, lgraph_t *g, const flow_minicluster_options_t *opt,
                                        char *err, size_t errlen) {
  flow_gateway_options_t o;
  memset(&o, 0, sizeof(o));
  o.buffer_timeout_ms = opt->buffer_timeout_ms;
  o.restart = opt->restart;
  o.checkpoint = opt->checkpoint;
  if (o.checkpoint.retained < 1) o.checkpoint.retained = 1;
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_gateway_write_options(&w, &o);
  flow_wbuf_t gw;
  flow_wbuf_init(&gw);
  int rc = flow_sg_encode(g->sg, &gw);
  if (rc == 0) flow_wr_bytes(&w, gw.data, gw.len);
  flow_wbuf_free(&gw);
  write_blobs(L, &w);
  if (rc != 0 || w.err != 0) {
    snprintf(err, errlen, "cannot encode the job: %s", flow_strerror(rc != 0 ? rc : w.err));
    flow_wbuf_free(&w);
    return NULL;
  }
  flow_job_client_t *c;
  if (remote_rest) {
    flow_rest_target_t rt = {remote.host, remote.port, remote.secret, remote.secret_len, 30000};
    c = flow_rest_client_submit(&rt, w.data, w.len, err, errlen);
  } else {
    c = flow_remote_client_submit(&remote, w.data, w.len, err, errlen);
  }
  flow_wbuf_free(&w);
  if (c != NULL) fprintf(stderr, "Job has been submitted with JobID %s\n", flow_job_client_job_id(c));
  return c;
}

static void read_options(lua_State *L, int t, flow_minicluster_options_t *opt) {
  flow_minicluster_options_init(opt);
  opt->task_body = flow_lua_task_body;
  if (!lua_istable(L, t)) return;
  opt->slots = opt_field_int(L, t, "slots", 0, 0, 1 << 20);
  opt->buffer_timeout_ms = (int64_t)opt_field_num(L, t, "buffer_timeout_ms", 100);
  parse_restart(L, t, &opt->restart);
  parse_checkpoint(L, t, &opt->checkpoint);
}

/* Pushes the result table; for a job that did not finish also nil, message
 * first: returns the number of values pushed (1, or 3: nil, message, result). */
static int push_result(lua_State *L, flow_job_result_t *r) {
  lua_createtable(L, 0, 6);
  lua_pushstring(L, r->job_id);
  lua_setfield(L, -2, "job_id");
  lua_pushstring(L, flow_job_status_name(r->status));
  lua_setfield(L, -2, "status");
  lua_pushnumber(L, (lua_Number)r->net_runtime_ms);
  lua_setfield(L, -2, "net_runtime_ms");
  lua_pushinteger(L, r->restarts);
  lua_setfield(L, -2, "restarts");
  lua_newtable(L);
  int i = 0;
  for (flow_buffer_t *b = r->collected; b != NULL; b = b->next) {
    lua_pushlstring(L, (const char *)b->data, b->size);
    lua_rawseti(L, -2, ++i);
  }
  lua_setfield(L, -2, "collected");
  lua_newtable(L);
  i = 0;
  for (flow_buffer_t *b = r->accumulators; b != NULL; b = b->next) {
    lua_pushlstring(L, (const char *)b->data, b->size);
    lua_rawseti(L, -2, ++i);
  }
  lua_setfield(L, -2, "accumulators");
  if (r->status == FLOW_JOB_FINISHED || (remote_on && remote_detached)) return 1;
  lua_pushnil(L);
  if (r->status == FLOW_JOB_CANCELED && interrupted) lua_pushliteral(L, "job canceled (interrupted)");
  else lua_pushstring(L, r->failure ? r->failure : flow_job_status_name(r->status));
  lua_pushvalue(L, -3);
  return 3;
}

/* ---- progress: one live status line on stderr while a job runs --------- */

static int progress_enabled;
void flow_core_set_progress(int enabled) { progress_enabled = enabled; }

static void human(char *out, size_t cap, double x) {
  if (x >= 1e9) snprintf(out, cap, "%.1fG", x / 1e9);
  else if (x >= 1e6) snprintf(out, cap, "%.1fM", x / 1e6);
  else if (x >= 1e3) snprintf(out, cap, "%.1fK", x / 1e3);
  else snprintf(out, cap, "%.0f", x);
}

typedef struct progress {
  uint64_t start_ns, last_ns;
  int64_t last_total;
  double rate;
  int printed;
} progress_t;

/* "[ 3.2s] 1.2M rec/s | A -> B 45% 1.2M in | C 800 in 10 out", cut to the terminal */
static void progress_print(const flow_job_graph_t *jg, const flow_vertex_metrics_t *m, progress_t *pg) {
  uint64_t now = uv_hrtime();
  int64_t total = 0;
  for (int v = 0; v < jg->n_vertices; v++) total += atomic_load_explicit(&m[v].records_in, memory_order_relaxed);
  double dt = (double)(now - pg->last_ns) / 1e9;
  if (dt > 0) pg->rate = (double)(total - pg->last_total) / dt;
  pg->last_ns = now;
  pg->last_total = total;
  char line[1024], num[32], num2[32];
  int n = snprintf(line, sizeof(line), "[%5.1fs] ", (double)(now - pg->start_ns) / 1e9);
  human(num, sizeof(num), pg->rate);
  n += snprintf(line + n, sizeof(line) - (size_t)n, "%s rec/s", num);
  for (int v = 0; v < jg->n_vertices && n < (int)sizeof(line) - 64; v++) {
    int64_t in = atomic_load_explicit(&m[v].records_in, memory_order_relaxed);
    int64_t out = atomic_load_explicit(&m[v].records_out, memory_order_relaxed);
    int64_t rd = atomic_load_explicit(&m[v].bytes_read, memory_order_relaxed);
    int64_t tot = atomic_load_explicit(&m[v].bytes_total, memory_order_relaxed);
    human(num, sizeof(num), (double)in);
    human(num2, sizeof(num2), (double)out);
    n += snprintf(line + n, sizeof(line) - (size_t)n, " | %.40s", jg->vertices[v].name);
    if (tot > 0 && n < (int)sizeof(line) - 16)
      n += snprintf(line + n, sizeof(line) - (size_t)n, " %d%%", (int)(100.0 * (double)rd / (double)tot));
    if (n < (int)sizeof(line) - 48)
      n += snprintf(line + n, sizeof(line) - (size_t)n, " %s in %s out", num, num2);
  }
  struct winsize ws;
  int width = ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10 ? ws.ws_col - 1 : 100;
  if (n > width) n = width;
  fprintf(stderr, "\r\033[K%.*s", n, line);
  fflush(stderr);
  pg->printed = 1;
}

/* A submitted job: its JobClient and the client's compilation of its
 * graph (the same vertices as the cluster's, for the progress line). */
typedef struct job_handle {
  flow_job_client_t *client;
  const flow_job_graph_t *jg;
} job_handle_t;

static int jh_wait(job_handle_t *h, int64_t timeout_ms, flow_job_result_t *r) {
  if (remote_on && remote_detached) { /* submitted: that is all a detached client waits for */
    memset(r, 0, sizeof(*r));
    memcpy(r->job_id, flow_job_client_job_id(h->client), 33);
    r->status = flow_job_client_status(h->client);
    return 1;
  }
  return flow_job_client_wait(h->client, timeout_ms, r);
}

/* Waits for the job, cancelling it once if SIGINT arrives meanwhile. */
static int wait_job(lua_State *L, job_handle_t *h, int64_t timeout_ms) {
  uint64_t start = uv_hrtime();
  int canceled = 0;
  flow_job_result_t r;
  progress_t pg = {start, start, 0, 0, 0};
  int show = progress_enabled && isatty(2);
  int ticks = 0;
  waiting = 1;
  for (;;) {
    const flow_vertex_metrics_t *live =
        show && ++ticks % 5 == 0 ? flow_job_client_metrics(h->client, h->jg->n_vertices) : NULL;
    if (live != NULL) progress_print(h->jg, live, &pg);
    if (interrupted && !canceled) {
      flow_job_client_cancel(h->client);
      canceled = 1;
    }
    int64_t step = 50;
    if (timeout_ms >= 0) {
      int64_t left = timeout_ms - (int64_t)((uv_hrtime() - start) / 1000000u);
      if (left <= 0) {
        if (jh_wait(h, 0, &r)) break;
        waiting = 0;
        return 0;
      }
      if (left < step) step = left;
    }
    if (jh_wait(h, step, &r)) break;
  }
  waiting = 0;
  if (pg.printed) { /* clear the status line */
    fputs("\r\033[K", stderr);
    fflush(stderr);
  }
  int n = push_result(L, &r);
  flow_job_result_clear(&r);
  return n;
}

/* Submits the job to a cluster (cluster mode) or starts it on a MiniCluster;
 * raises the error (no script position for a cluster's answer). */
static flow_job_client_t *start_job(lua_State *L, lgraph_t *g, flow_job_graph_t *jg,
                                    const flow_minicluster_options_t *opt) {
  char err[1024];
  flow_job_client_t *c;
  if (remote_on) {
    c = submit_remote(L, g, opt, err, sizeof(err));
    if (c == NULL) {
      lua_pushstring(L, err);
      lua_error(L);
    }
  } else {
    flow_minicluster_options_t o = *opt;
    o.publish_views = flow_local_monitor_on(); /* REST or Prometheus: views of the job, every second */
    c = flow_minicluster_client_start(jg, &o, err, sizeof(err));
    if (c == NULL) luaL_error(L, "could not start the MiniCluster: %s", err);
    flow_local_monitor_add(flow_minicluster_client_cluster(c));
  }
  return c;
}

/* Frees a job client (a MiniCluster: cancels a job still running, joins
 * every thread); the local monitor keeps the job's last view. */
static void free_client(flow_job_client_t *c) {
  if (c == NULL) return;
  if (!remote_on && flow_local_monitor_on()) {
    /* a job still running is canceled first, so that the view kept is its
     * last one (the MiniCluster publishes it before its status turns) */
    flow_minicluster_t *mc = flow_minicluster_client_cluster(c);
    if (!flow_job_status_is_globally_terminal(flow_job_client_status(c))) flow_job_client_cancel(c);
    flow_minicluster_wait_ended(mc);
    flow_local_monitor_remove(mc);
  }
  flow_job_client_free(c);
}

/* g:execute{ slots=n, buffer_timeout_ms=n, restart={kind=...} } ->
 *   result | nil, message, result */
static int l_execute(lua_State *L) {
  lgraph_t *g = check_graph(L);
  flow_minicluster_options_t opt;
  read_options(L, 2, &opt);
  flow_job_graph_t *jg = compile(L, g);
  if (jg == NULL) return 2;
  job_handle_t h = {start_job(L, g, jg, &opt), jg};
  int n = wait_job(L, &h, -1);
  free_client(h.client);
  return n;
}

/* ---- JobClient (execute_async) ----------------------------------------- */

#define CLIENT_MT "flow.core.job_client"

typedef struct lclient {
  job_handle_t h;
} lclient_t;

static lclient_t *check_client(lua_State *L) {
  lclient_t *c = luaL_checkudata(L, 1, CLIENT_MT);
  if (c->h.client == NULL) luaL_error(L, "the job client is closed");
  return c;
}

/* g:submit(opts) -> client; the client keeps the graph alive. */
static int l_submit(lua_State *L) {
  lgraph_t *g = check_graph(L);
  flow_minicluster_options_t opt;
  read_options(L, 2, &opt);
  flow_job_graph_t *jg = compile(L, g);
  if (jg == NULL) return 2;
  lclient_t *c = lua_newuserdata(L, sizeof(*c));
  c->h.client = NULL;
  c->h.jg = jg;
  luaL_getmetatable(L, CLIENT_MT);
  lua_setmetatable(L, -2);
  lua_createtable(L, 1, 0); /* environment: a reference to the graph */
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  lua_setfenv(L, -2);
  c->h.client = start_job(L, g, jg, &opt);
  return 1;
}

static int l_client_status(lua_State *L) {
  lclient_t *c = check_client(L);
  lua_pushstring(L, flow_job_status_name(flow_job_client_status(c->h.client)));
  return 1;
}

static int l_client_job_id(lua_State *L) {
  lclient_t *c = check_client(L);
  lua_pushstring(L, flow_job_client_job_id(c->h.client));
  return 1;
}

static int l_client_cancel(lua_State *L) {
  lclient_t *c = check_client(L);
  flow_job_client_cancel(c->h.client);
  return 0;
}

/* client:wait([timeout_ms]) -> result | nil, message, result | nil, "timeout" */
static int l_client_wait(lua_State *L) {
  lclient_t *c = check_client(L);
  int64_t timeout = (int64_t)luaL_optnumber(L, 2, -1);
  int n = wait_job(L, &c->h, timeout);
  if (n == 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "timeout");
    return 2;
  }
  return n;
}

/* client:savepoint(dir, stop, timeout_ms) -> path | nil, message */
static int l_client_savepoint(lua_State *L) {
  lclient_t *c = check_client(L);
  const char *dir = luaL_checkstring(L, 2);
  int stop = lua_toboolean(L, 3);
  int64_t timeout = (int64_t)luaL_optnumber(L, 4, 600000);
  char out[4096];
  int rc = flow_job_client_savepoint(c->h.client, dir, stop, timeout, out, sizeof(out));
  if (rc != 0) {
    lua_pushnil(L);
    lua_pushstring(L, strncmp(out, "error: ", 7) == 0 ? out + 7 : out);
    return 2;
  }
  lua_pushstring(L, out);
  return 1;
}

static int l_client_gc(lua_State *L) {
  lclient_t *c = luaL_checkudata(L, 1, CLIENT_MT);
  free_client(c->h.client);
  c->h.client = NULL;
  return 0;
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

/* core.realpath(path) -> the absolute path without links | nil, message */
static int l_realpath(lua_State *L) {
  char *p = realpath(luaL_checkstring(L, 1), NULL);
  if (p == NULL) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushstring(L, p);
  free(p);
  return 1;
}

/* core.list_dir(path) -> { names... } (without "." and "..") | nil, message */
static int l_list_dir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  DIR *d = opendir(path);
  if (d == NULL) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_newtable(L);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    lua_pushstring(L, e->d_name);
    lua_rawseti(L, -2, ++n);
  }
  closedir(d);
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
    {"submit", l_submit},     {NULL, NULL}};

/* client:records_read() -> records its sources read so far (the progress
 * counters), or nil when not known (yet) */
static int l_client_records_read(lua_State *L) {
  lclient_t *c = check_client(L);
  const flow_job_graph_t *jg = c->h.jg;
  const flow_vertex_metrics_t *m = flow_job_client_metrics(c->h.client, jg->n_vertices);
  if (m == NULL) return 0;
  double sum = 0;
  for (int v = 0; v < jg->n_vertices; v++) {
    int is_source = 1;
    for (int e = 0; e < jg->n_edges; e++)
      if (jg->edges[e].target == jg->vertices[v].id) is_source = 0;
    if (is_source) sum += (double)atomic_load_explicit(&m[v].records_in, memory_order_relaxed);
  }
  lua_pushnumber(L, sum);
  return 1;
}

static const luaL_Reg client_methods[] = {{"status", l_client_status},
                                          {"records_read", l_client_records_read},
                                          {"job_id", l_client_job_id},
                                          {"savepoint", l_client_savepoint},
                                          {"cancel", l_client_cancel},
                                          {"wait", l_client_wait},
                                          {"close", l_client_gc},
                                          {NULL, NULL}};

/* core.cluster_target() -> "host:port" of the jobmanager jobs go to, or nil */
static int l_cluster_target(lua_State *L) {
  if (!remote_on) return 0;
  lua_pushfstring(L, "%s:%d", remote.host ? remote.host : "127.0.0.1", remote.port);
  return 1;
}

static const luaL_Reg core_funcs[] = {{"graph", l_graph_new},
                                      {"cpu_count", l_cpu_count},
                                      {"mkdir", l_mkdir},
                                      {"list_dir", l_list_dir},
                                      {"realpath", l_realpath},
                                      {"cluster_target", l_cluster_target},
                                      {NULL, NULL}};

int luaopen_flow_core(lua_State *L) {
  if (luaL_newmetatable(L, GRAPH_MT)) {
    lua_pushcfunction(L, l_graph_gc);
    lua_setfield(L, -2, "__gc");
    lua_newtable(L);
    luaL_register(L, NULL, graph_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, CLIENT_MT)) {
    lua_pushcfunction(L, l_client_gc);
    lua_setfield(L, -2, "__gc");
    lua_newtable(L);
    luaL_register(L, NULL, client_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  lua_newtable(L);
  luaL_register(L, NULL, core_funcs);
  lua_pushstring(L, FLOWLUA_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
