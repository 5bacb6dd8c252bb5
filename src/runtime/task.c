#include "runtime/task.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/common.h"
#include "lua/state.h"

#define TASK_POOL_MAX 8

flow_task_t *flow_task_new(const flow_job_graph_t *jg, flow_job_network_t *net, int vertex,
                           int subtask, int attempt, const char *name) {
  flow_task_t *t = flow_xcalloc(1, sizeof(*t));
  t->jg = jg;
  t->net = net;
  t->vertex = vertex;
  t->subtask = subtask;
  t->attempt = attempt;
  t->slot = -1;
  t->name = flow_strdup(name);
  t->gate = flow_net_gate(net, vertex, subtask);
  t->buffer_timeout_ms = 100;
  atomic_init(&t->canceled, 0);
  for (int e = 0; e < jg->n_edges; e++)
    if (jg->edges[e].source == vertex) t->n_outputs++;
  t->outputs = flow_xcalloc((size_t)(t->n_outputs ? t->n_outputs : 1), sizeof(*t->outputs));
  int k = 0;
  for (int e = 0; e < jg->n_edges; e++) {
    const flow_job_edge_t *je = &jg->edges[e];
    if (je->source != vertex) continue;
    flow_task_output_t *o = &t->outputs[k++];
    o->job_edge = e;
    o->n_channels = jg->vertices[je->target - 1].parallelism;
    o->gates = flow_xcalloc((size_t)o->n_channels, sizeof(*o->gates));
    for (int c = 0; c < o->n_channels; c++) o->gates[c] = flow_net_gate(net, je->target, c);
    o->channel = net->edge_offset[e] + subtask;
  }
  return t;
}

/* ---- buffers held by Lua (task thread only) ------------------------------ */

static void hold(flow_task_t *t, flow_buffer_t *b) {
  b->prev = NULL;
  b->next = t->held;
  if (t->held != NULL) t->held->prev = b;
  t->held = b;
}

static void release(flow_task_t *t, flow_buffer_t *b) {
  if (b->prev != NULL) b->prev->next = b->next;
  else if (t->held == b) t->held = b->next;
  if (b->next != NULL) b->next->prev = b->prev;
  b->next = b->prev = NULL;
}

static void free_held(flow_task_t *t) {
  while (t->held != NULL) {
    flow_buffer_t *b = t->held;
    release(t, b);
    flow_buffer_free(b);
  }
}

static void task_free(flow_task_t *t) {
  for (int k = 0; k < t->n_outputs; k++) free(t->outputs[k].gates);
  free(t->outputs);
  while (t->pool != NULL) {
    flow_buffer_t *b = t->pool;
    t->pool = b->next;
    flow_buffer_free(b);
  }
  free(t->name);
  free(t->restore_dir);
  free(t->checkpoint_dir);
  free(t->blob_dir);
  free(t->fail_reason);
  free(t);
}

/* ---- the task descriptor handed to the Lua task loop -------------------- */

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

/* ---- the thread ---------------------------------------------------------- */

static int send_end_of_partition(flow_task_t *t) {
  for (int k = 0; k < t->n_outputs; k++) {
    flow_task_output_t *o = &t->outputs[k];
    for (int c = 0; c < o->n_channels; c++) {
      flow_buffer_t *b = flow_buffer_new(64);
      if (b == NULL) return FLOW_ENOMEM;
      b->kind = FLOW_BUF_END_OF_PARTITION;
      int rc = flow_gate_push(o->gates[c], o->channel, b);
      if (rc < 0) {
        flow_buffer_free(b);
        return rc;
      }
    }
  }
  return 0;
}

static char *task_error(flow_task_t *t, const char *msg) {
  size_t n = strlen(msg) + strlen(t->name) + 64;
  char *s = malloc(n);
  if (s != NULL) snprintf(s, n, "%s (attempt %d): %s", t->name, t->attempt, msg);
  return s;
}

static void task_main(void *arg) {
  flow_task_t *t = arg;
  flow_execution_state_t final = FLOW_EXEC_FINISHED;
  char *err = NULL;
  flow_buffer_t *acc = NULL;
  t->report(t, FLOW_EXEC_INITIALIZING, NULL, NULL);

  lua_State *L = flow_lua_new_state();
  if (L == NULL) {
    t->report(t, FLOW_EXEC_FAILED, task_error(t, "cannot create a Lua state (out of memory)"), NULL);
    return;
  }
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
      if (s != NULL) acc = flow_buffer_from(s, n);
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
    if (sentinel || atomic_load(&t->canceled)) {
      final = FLOW_EXEC_CANCELED;
    } else {
      final = FLOW_EXEC_FAILED;
      const char *msg = flow_lua_error_message(L, -1);
      err = task_error(t, msg ? msg : "unknown Lua error");
    }
  }
  lua_close(L);
  free_held(t); /* what a failed or canceled task's Lua still held */
  if (final == FLOW_EXEC_FINISHED) {
    rc = send_end_of_partition(t);
    if (rc == FLOW_ECANCELED || atomic_load(&t->canceled)) final = FLOW_EXEC_CANCELED;
    else if (rc < 0) final = FLOW_EXEC_FAILED, err = task_error(t, flow_strerror(rc));
  }
  if (final != FLOW_EXEC_FINISHED) {
    flow_buffer_free(acc);
    acc = NULL;
    /* canceled because something outside failed it: the fail reason, read
     * after the canceled flag it was written before */
    if (atomic_load(&t->canceled) && t->fail_reason != NULL) {
      final = FLOW_EXEC_FAILED;
      free(err);
      err = task_error(t, t->fail_reason);
    }
  }
  t->report(t, final, err, acc);
}

int flow_task_start(flow_task_t *t) {
  int rc = uv_thread_create(&t->thread, task_main, t);
  if (rc != 0) return FLOW_EIO;
  t->started = 1;
  return 0;
}

void flow_task_cancel(flow_task_t *t) {
  atomic_store(&t->canceled, 1);
  if (t->gate != NULL) flow_gate_cancel(t->gate);
  for (int k = 0; k < t->n_outputs; k++)
    for (int c = 0; c < t->outputs[k].n_channels; c++) flow_gate_cancel(t->outputs[k].gates[c]);
}

void flow_task_fail(flow_task_t *t, const char *reason) {
  if (t->fail_reason == NULL && !atomic_load(&t->canceled)) t->fail_reason = flow_strdup(reason);
  flow_task_cancel(t);
}

void flow_task_join_and_free(flow_task_t *t) {
  if (t->started) uv_thread_join(&t->thread);
  task_free(t);
}

/* ---- FFI entry points ----------------------------------------------------- */

int flow_task_next(flow_task_t *t, int64_t timeout_ms, flow_buffer_t **out) {
  if (t->gate == NULL) return 0;
  int rc = flow_gate_poll(t->gate, timeout_ms, out);
  if (rc == 1) hold(t, *out);
  return rc;
}

void flow_task_recycle(flow_task_t *t, flow_buffer_t *b) {
  release(t, b);
  if (b->capacity == FLOW_BUFFER_SIZE && t->pool_size < TASK_POOL_MAX) { /* reuse */
    b->next = t->pool;
    t->pool = b;
    t->pool_size++;
  } else {
    flow_buffer_free(b);
  }
}

flow_buffer_t *flow_task_buffer(flow_task_t *t, uint32_t capacity) {
  flow_buffer_t *b;
  if ((capacity == 0 || capacity == FLOW_BUFFER_SIZE) && t->pool != NULL) {
    b = t->pool;
    t->pool = b->next;
    t->pool_size--;
    b->next = NULL;
  } else {
    b = flow_buffer_new(capacity);
    if (b == NULL) return NULL;
  }
  b->size = 0;
  b->kind = FLOW_BUF_DATA;
  b->channel = -1;
  hold(t, b);
  return b;
}

int flow_task_emit(flow_task_t *t, int output, int channel, flow_buffer_t *b) {
  if (output < 0 || output >= t->n_outputs || channel < 0 ||
      channel >= t->outputs[output].n_channels) {
    flow_buffer_free(b);
    return FLOW_EINVAL;
  }
  release(t, b);
  flow_task_output_t *o = &t->outputs[output];
  int rc = flow_gate_push(o->gates[channel], o->channel, b);
  if (rc < 0) flow_buffer_free(b);
  return rc;
}

int64_t flow_task_collect(flow_task_t *t, flow_buffer_t *b, int64_t records) {
  release(t, b);
  if (flow_net_collect_bounded(t->net, b, FLOW_COLLECT_MAX_BYTES) != 0) {
    flow_buffer_free(b);
    return FLOW_EFULL;
  }
  return atomic_fetch_add(&t->net->collect_count, records) + records;
}

void flow_task_cancel_job(flow_task_t *t) {
  if (t->cancel_job != NULL) t->cancel_job(t);
}

void flow_task_running(flow_task_t *t) { t->report(t, FLOW_EXEC_RUNNING, NULL, NULL); }

int flow_task_canceled(flow_task_t *t) { return atomic_load(&t->canceled); }

void flow_task_count(flow_task_t *t, int64_t in, int64_t out) {
  if (t->metrics == NULL) return;
  if (in) atomic_fetch_add_explicit(&t->metrics->records_in, in, memory_order_relaxed);
  if (out) atomic_fetch_add_explicit(&t->metrics->records_out, out, memory_order_relaxed);
}

void flow_task_input_progress(flow_task_t *t, int64_t read, int64_t total) {
  if (t->metrics == NULL) return;
  if (read) atomic_fetch_add_explicit(&t->metrics->bytes_read, read, memory_order_relaxed);
  if (total) atomic_fetch_add_explicit(&t->metrics->bytes_total, total, memory_order_relaxed);
}

int64_t flow_task_checkpoint_request(flow_task_t *t) { return atomic_load(&t->checkpoint_request); }
int64_t flow_task_checkpoint_complete(flow_task_t *t) { return atomic_load(&t->checkpoint_complete); }

void flow_task_ack_checkpoint(flow_task_t *t, int64_t id, const char *path) {
  if (t->ack_checkpoint != NULL) t->ack_checkpoint(t, id, path != NULL ? flow_strdup(path) : NULL);
}

int64_t flow_task_next_split(flow_task_t *t) { return atomic_fetch_add(&t->net->split_next[t->vertex - 1], 1); }

int flow_task_checkpoint_dir(flow_task_t *t, int64_t id, char *buf, size_t cap) {
  flow_job_network_t *net = t->net;
  int ok = 0;
  uv_mutex_lock(&net->cp_mu);
  if (net->cp_id == id && net->cp_dir != NULL && strlen(net->cp_dir) < cap) {
    strcpy(buf, net->cp_dir);
    ok = 1;
  }
  uv_mutex_unlock(&net->cp_mu);
  return ok;
}

void flow_task_block_channel(flow_task_t *t, int channel) {
  if (t->gate != NULL && channel >= 0 && channel < t->gate->n_channels) flow_gate_block(t->gate, channel);
}

int flow_task_channel_finished(flow_task_t *t, int channel) {
  if (t->gate == NULL || channel < 0 || channel >= t->gate->n_channels) return 1;
  return flow_gate_channel_finished(t->gate, channel);
}

void flow_task_unblock_channels(flow_task_t *t) {
  if (t->gate != NULL) flow_gate_unblock_all(t->gate);
}

int flow_file_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen) {
  size_t n = strlen(path);
  char *tmp = malloc(n + 16);
  if (tmp == NULL) return -1;
  snprintf(tmp, n + 16, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
    free(tmp);
    return -1;
  }
  const char *p = data;
  size_t left = len;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
      close(fd);
      unlink(tmp);
      free(tmp);
      return -1;
    }
    p += w;
    left -= (size_t)w;
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    snprintf(err, errlen, "cannot sync %s: %s", tmp, strerror(errno));
    unlink(tmp);
    free(tmp);
    return -1;
  }
  if (rename(tmp, path) != 0) {
    snprintf(err, errlen, "cannot rename %s: %s", tmp, strerror(errno));
    unlink(tmp);
    free(tmp);
    return -1;
  }
  free(tmp);
  /* the rename is durable once the directory is synced */
  char *dir = flow_strdup(path);
  char *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash != NULL) {
    *slash = '\0';
    int dfd = open(slash == dir ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)fsync(dfd);
      close(dfd);
    }
  }
  free(dir);
  return 0;
}

int flow_mkdir_p(const char *path) {
  char *p = flow_strdup(path);
  if (p == NULL) return -1;
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      free(p);
      return -1;
    }
    *s = '/';
  }
  int rc = mkdir(p, 0777);
  free(p);
  return rc == 0 || errno == EEXIST ? 0 : -1;
}

uint32_t flow_crc32(const void *data, size_t n) {
  static uint32_t table[256];
  static atomic_int ready;
  if (!atomic_load(&ready)) { /* idempotent: racing threads compute the same table */
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    atomic_store(&ready, 1);
  }
  const uint8_t *p = data;
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

/* MurmurHash3 x86_32 (public domain algorithm), seed 0. */
uint32_t flow_hash_bytes(const void *p, size_t n) {
  const uint8_t *d = p;
  uint32_t h = 0, c1 = 0xcc9e2d51u, c2 = 0x1b873593u, k;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    memcpy(&k, d + i, 4);
    k *= c1;
    k = (k << 15) | (k >> 17);
    k *= c2;
    h ^= k;
    h = (h << 13) | (h >> 19);
    h = h * 5 + 0xe6546b64u;
  }
  k = 0;
  switch (n & 3) {
  case 3: k ^= (uint32_t)d[i + 2] << 16; /* fall through */
  case 2: k ^= (uint32_t)d[i + 1] << 8;  /* fall through */
  case 1:
    k ^= d[i];
    k *= c1;
    k = (k << 15) | (k >> 17);
    k *= c2;
    h ^= k;
  }
  h ^= (uint32_t)n;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

uint32_t flow_hash_number(double d) {
  if (d == 0) d = 0; /* -0.0 and 0.0 are one key */
  return flow_hash_bytes(&d, sizeof(d));
}

void flow_sleep_ms(int64_t ms) {
  if (ms > 0) uv_sleep((unsigned)ms);
}

int64_t flow_mono_ms(void) { return (int64_t)(uv_hrtime() / 1000000u); }

int64_t flow_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
