#include "cluster/cluster_log.h"
#include "cluster/taskmanager.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster/protocol.h"
#include "cluster/rest_routes.h"
#include "coordination/resource_manager.h"
#include "coordination/task_executor.h"
#include "cluster/jobmanager.h"
#include "net/transport.h"
#include "net/tcp_addr.h"
#include "util/common.h"
#include "util/fs.h"
#include "graph/serialize.h"

/* Threads: the loop thread runs the TaskExecutor, the proxies and the data
 * plane; task threads only push/poll gates and post messages. The gate hooks
 * (task threads) touch only atomics and uv_async_send. */

#define EARLY_CREDITS_MAX 65536

typedef struct tm_job tm_job_t;
typedef struct flow_tm tm_t;

/* One attempt's network here, with what the data plane needs to know. */
typedef struct dp_net {
  tm_job_t *job;
  int attempt;
  flow_job_network_t *net;
  int n_exec;
  int *vert_base;    /* [vertex id - 1]: first execution index of the vertex */
  int *exec_vertex;  /* [exec]: vertex id */
  char **exec_addr;  /* [exec]: data address of the taskmanager running it */
  unsigned char *exec_local;
  struct gate_ctx *gctx; /* [exec]: hook data of its gate */
  int **credits;     /* [exec of a remote consumer][channel]: buffers we may still send */
  int **prod;        /* [exec with a hooked gate][channel]: the producer's execution index */
  _Atomic int **owed; /* [exec of a local consumer][channel]: credits to give back */
  struct dp_net *next; /* in the job's retired list */
} dp_net_t;

typedef struct gate_ctx {
  tm_t *tm;
  dp_net_t *dp;
  int exec;
} gate_ctx_t;

struct tm_job {
  flow_endpoint_t ep; /* first: the TaskExecutor holds &ep as the job's JobMaster */
  tm_t *tm;
  char id[33];
  flow_stream_graph_t *sg;
  flow_job_graph_t *jg;
  char *blob_dir;
  dp_net_t *dp;       /* the newest attempt's network, or NULL */
  flow_job_metrics_t *metrics; /* our subtasks' counters (latest attempt each) */
  flow_job_sampler_t *sampler; /* their readings and rates (the Prometheus reporter) */
  dp_net_t *retired;  /* older attempts' networks that a task still uses (a task
                         failed from here ends after the JobMaster moved on) */
  tm_job_t *next;
};

typedef struct peer {
  char addr[80];
  flow_transport_conn_t *conn;
  struct peer *next;
} peer_t;

typedef struct early_credit {
  flow_proto_channel_t ch;
  int32_t n;
  struct early_credit *next;
} early_credit_t;

struct flow_tm {
  flow_taskmanager_options_t opt;
  uv_loop_t loop;
  flow_rpc_t rpc;
  flow_resource_manager_t rm_proxy; /* its ep encodes for the real ResourceManager */
  flow_task_executor_t te;
  flow_transport_conn_t *jobmanager_conn;
  int registered;    /* the jobmanager accepted us on this connection */
  int rejoining;     /* the jobmanager was lost: register again, however long it takes */
  flow_endpoint_t reset_ep; /* after a lost jobmanager: drops every job once its tasks ended */
  uint64_t jobmanager_heard_ns;
  uint64_t started_ns;
  flow_transport_server_t *data_server;
  flow_http_server_t *prom;  /* the Prometheus reporter, or NULL */
  char data_addr[80];
  peer_t *peers;
  tm_job_t *jobs;
  early_credit_t *early;
  int n_early;
  char released[64][33];   /* recently released jobs: their late credits are dropped */
  int n_released;
  uv_async_t pump_async;
  _Atomic int pump_pending;
  uv_timer_t heartbeat, reconnect, metrics_timer;
  uv_signal_t sigint, sigterm;
  char *base_dir;    /* blob cache: <tmp>/flowlua-tm-<pid> */
  int exit_code;
  int stopping;
};

static tm_t *g_tm;

#define tlog(...) flow_cluster_log("taskmanager", __VA_ARGS__)

void flow_taskmanager_options_init(flow_taskmanager_options_t *o) {
  memset(o, 0, sizeof(*o));
  o->jobmanager_port = 6123;
  o->slots = 1;
  o->heartbeat_interval_ms = 10000;
  o->heartbeat_timeout_ms = 50000;
  o->connect_timeout_ms = 60000;
}

static int rm_path(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  remove(p);
  return 0;
}

static void remove_tree(const char *dir) {
  if (dir != NULL) nftw(dir, rm_path, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the data plane ----------------------------------------------------- */

static void pump(tm_t *tm);

static void on_pump_async(uv_async_t *h) {
  tm_t *tm = h->data;
  atomic_store(&tm->pump_pending, 0);
  pump(tm);
}

static void wake_pump(tm_t *tm) {
  if (atomic_exchange(&tm->pump_pending, 1) == 0) uv_async_send(&tm->pump_async);
}

/* Task threads: a buffer went into a proxy gate. */
static void hook_push(flow_input_gate_t *g, int channel, void *ud) {
  (void)g, (void)channel;
  gate_ctx_t *gc = ud;
  wake_pump(gc->tm);
}

/* Task threads: a local consumer took a data buffer; a remote channel's
 * credit is owed back to its producer. */
static void hook_take(flow_input_gate_t *g, int channel, void *ud) {
  (void)g;
  gate_ctx_t *gc = ud;
  _Atomic int *owed = gc->dp->owed[gc->exec];
  if (owed == NULL || channel < 0 || channel >= gc->dp->net->n_channels[gc->dp->exec_vertex[gc->exec] - 1])
    return;
  atomic_fetch_add(&owed[channel], 1);
  wake_pump(gc->tm);
}

/* The producer (execution index) of channel ch of vertex v's gates. */
static int producer_exec(const dp_net_t *dp, int v, int ch) {
  const flow_job_graph_t *jg = dp->job->jg;
  for (int e = 0; e < jg->n_edges; e++) {
    const flow_job_edge_t *je = &jg->edges[e];
    if (je->target != v) continue;
    int off = dp->net->edge_offset[e], ps = jg->vertices[je->source - 1].parallelism;
    if (ch >= off && ch < off + ps) return dp->vert_base[je->source - 1] + (ch - off);
  }
  return -1;
}

static void peer_on_frame(flow_transport_conn_t *c, uint8_t type, const uint8_t *p, uint32_t len);
static void peer_on_close(flow_transport_conn_t *c, const char *reason);
static void fail_jobs_using(tm_t *tm, const char *addr, const char *why);

/* Our connections' common options: the role, the handshake name, the secret. */
static void net_opts(tm_t *tm, flow_transport_opts_t *no, const char *name,
                     void (*on_frame)(flow_transport_conn_t *, uint8_t, const uint8_t *, uint32_t),
                     void (*on_close)(flow_transport_conn_t *, const char *)) {
  memset(no, 0, sizeof(*no));
  no->role = FLOW_TRANSPORT_ROLE_TASKMANAGER;
  no->name = name;
  no->on_frame = on_frame;
  no->on_close = on_close;
  no->secret = tm->opt.secret;
  no->secret_len = tm->opt.secret_len;
}

static flow_transport_conn_t *peer_conn(tm_t *tm, const char *addr) {
  for (peer_t *p = tm->peers; p != NULL; p = p->next)
    if (strcmp(p->addr, addr) == 0) return p->conn;
  char *host = NULL;
  int port = 0;
  if (flow_parse_host_port(addr, &host, &port) != 0) return NULL;
  flow_transport_opts_t no;
  net_opts(tm, &no, tm->data_addr, peer_on_frame, peer_on_close);
  no.max_queued = 256u << 20; /* credits bound what is queued; this is a safety net */
  flow_transport_conn_t *c = NULL;
  int rc = flow_transport_connect(&tm->loop, host, port, &no, &c);
  free(host);
  if (rc != 0) return NULL;
  peer_t *p = flow_xcalloc(1, sizeof(*p));
  snprintf(p->addr, sizeof(p->addr), "%s", addr);
  p->conn = c;
  p->next = tm->peers;
  tm->peers = p;
  flow_transport_conn_set_data(c, p);
  return c;
}

static void send_credit(tm_t *tm, dp_net_t *dp, int exec, int ch, int n) {
  int prod = dp->prod[exec][ch];
  if (prod < 0 || dp->exec_local[prod]) return; /* local channels need no credit */
  flow_transport_conn_t *c = peer_conn(tm, dp->exec_addr[prod]);
  if (c == NULL) return;
  flow_proto_channel_t cc;
  memcpy(cc.job_id, dp->job->id, 33);
  cc.attempt = dp->attempt;
  cc.vertex = dp->exec_vertex[exec];
  cc.subtask = exec - dp->vert_base[cc.vertex - 1];
  cc.channel = ch;
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_proto_write_channel(&w, &cc);
  flow_wr_i32(&w, n);
  if (w.err == 0) (void)flow_transport_send(c, FLOW_PROTO_CREDIT, w.data, (uint32_t)w.len);
  flow_wbuf_free(&w);
}

static void pump_net(tm_t *tm, dp_net_t *dp) {
  for (int e = 0; e < dp->n_exec; e++) {
    int v = dp->exec_vertex[e];
    int nch = dp->net->n_channels[v - 1];
    if (nch == 0) continue;
    flow_input_gate_t *g = flow_network_gate(dp->net, v, e - dp->vert_base[v - 1]);
    if (dp->exec_local[e]) { /* give credits back */
      if (dp->owed[e] == NULL) continue;
      for (int ch = 0; ch < nch; ch++) {
        int n = atomic_exchange(&dp->owed[e][ch], 0);
        if (n > 0) send_credit(tm, dp, e, ch, n);
      }
      continue;
    }
    /* a proxy gate: forward what its local producers queued, one buffer per credit */
    flow_transport_conn_t *c = NULL;
    for (int ch = 0; ch < nch; ch++) {
      if (dp->prod[e][ch] < 0 || !dp->exec_local[dp->prod[e][ch]]) continue;
      while (dp->credits[e][ch] > 0) {
        flow_buffer_t *b = NULL;
        if (flow_gate_take_channel(g, ch, &b) != 1) break;
        if (c == NULL) c = peer_conn(tm, dp->exec_addr[e]);
        if (c == NULL) { /* cannot even connect: the job fails (fail_jobs_using) */
          flow_buffer_free(b);
          fail_jobs_using(tm, dp->exec_addr[e], "cannot connect to it");
          return;
        }
        flow_proto_channel_t cc;
        memcpy(cc.job_id, dp->job->id, 33);
        cc.attempt = dp->attempt;
        cc.vertex = v;
        cc.subtask = e - dp->vert_base[v - 1];
        cc.channel = ch;
        flow_wbuf_t w;
        flow_wbuf_init(&w);
        flow_proto_write_channel(&w, &cc);
        flow_wr_u8(&w, (uint8_t)b->kind);
        flow_wr_bytes(&w, b->data, b->size);
        int rc = w.err == 0 ? flow_transport_send(c, FLOW_PROTO_DATA, w.data, (uint32_t)w.len) : w.err;
        flow_wbuf_free(&w);
        flow_buffer_free(b);
        if (rc != 0) { /* the connection is failed; its close fails the jobs using it */
          flow_transport_fail(c, "cannot queue a data buffer");
          return;
        }
        dp->credits[e][ch]--;
      }
    }
  }
}

static void pump(tm_t *tm) {
  for (tm_job_t *j = tm->jobs; j != NULL; j = j->next)
    if (j->dp != NULL) pump_net(tm, j->dp);
}

static void dp_free(dp_net_t *dp) {
  if (dp == NULL) return;
  flow_network_cancel(dp->net);
  for (int e = 0; e < dp->n_exec; e++) {
    free(dp->exec_addr[e]);
    free(dp->credits[e]);
    free(dp->prod[e]);
    free((void *)dp->owed[e]);
  }
  flow_network_free(dp->net);
  free(dp->vert_base);
  free(dp->exec_vertex);
  free(dp->exec_addr);
  free(dp->exec_local);
  free(dp->gctx);
  free(dp->credits);
  free(dp->prod);
  free(dp->owed);
  free(dp);
}

static void apply_early_credits(tm_t *tm, dp_net_t *dp);
static int channel_exec(const dp_net_t *dp, const flow_proto_channel_t *ch);

/* The network of a new attempt, from the deployment's location map. */
static dp_net_t *dp_new(tm_t *tm, tm_job_t *j, int attempt, const flow_proto_msg_t *cm) {
  const flow_job_graph_t *jg = j->jg;
  int n_exec = 0;
  for (int v = 0; v < jg->n_vertices; v++) n_exec += jg->vertices[v].parallelism;
  if (cm->n_exec != n_exec) return NULL;
  dp_net_t *dp = flow_xcalloc(1, sizeof(*dp));
  dp->job = j;
  dp->attempt = attempt;
  dp->n_exec = n_exec;
  dp->net = flow_network_new(jg);
  dp->vert_base = flow_xcalloc((size_t)jg->n_vertices, sizeof(int));
  dp->exec_vertex = flow_xcalloc((size_t)n_exec, sizeof(int));
  dp->exec_addr = flow_xcalloc((size_t)n_exec, sizeof(char *));
  dp->exec_local = flow_xcalloc((size_t)n_exec, 1);
  dp->gctx = flow_xcalloc((size_t)n_exec, sizeof(gate_ctx_t));
  dp->credits = flow_xcalloc((size_t)n_exec, sizeof(int *));
  dp->prod = flow_xcalloc((size_t)n_exec, sizeof(int *));
  dp->owed = flow_xcalloc((size_t)n_exec, sizeof(_Atomic int *));
  int e = 0;
  for (int v = 0; v < jg->n_vertices; v++) {
    dp->vert_base[v] = e;
    for (int s = 0; s < jg->vertices[v].parallelism; s++, e++) {
      dp->exec_vertex[e] = v + 1;
      dp->exec_addr[e] = flow_strdup(cm->addrs[cm->exec_addr[e]]);
      dp->exec_local[e] = strcmp(dp->exec_addr[e], tm->data_addr) == 0;
    }
  }
  for (e = 0; e < n_exec; e++) {
    int v = dp->exec_vertex[e];
    int nch = dp->net->n_channels[v - 1];
    if (nch == 0) continue;
    flow_input_gate_t *g = flow_network_gate(dp->net, v, e - dp->vert_base[v - 1]);
    dp->gctx[e] = (gate_ctx_t){tm, dp, e};
    int any_remote = 0;
    dp->prod[e] = flow_xcalloc((size_t)nch, sizeof(int));
    for (int ch = 0; ch < nch; ch++) {
      dp->prod[e][ch] = producer_exec(dp, v, ch);
      any_remote |= dp->prod[e][ch] >= 0 && !dp->exec_local[dp->prod[e][ch]];
    }
    if (dp->exec_local[e]) {
      if (!any_remote) continue;
      dp->owed[e] = flow_xcalloc((size_t)nch, sizeof(_Atomic int));
      g->on_take = hook_take;
    } else {
      dp->credits[e] = flow_xcalloc((size_t)nch, sizeof(int));
      g->on_push = hook_push;
    }
    g->hook_data = &dp->gctx[e];
  }
  /* grant the initial credits of every remote channel into our consumers */
  for (e = 0; e < n_exec; e++) {
    if (!dp->exec_local[e] || dp->owed[e] == NULL) continue;
    int v = dp->exec_vertex[e];
    for (int ch = 0; ch < dp->net->n_channels[v - 1]; ch++) send_credit(tm, dp, e, ch, FLOW_CHANNEL_CREDITS);
  }
  (void)attempt;
  return dp;
}

/* Credits that came before the attempt's first deployment here. */
static void apply_early_credits(tm_t *tm, dp_net_t *dp) {
  early_credit_t **pp = &tm->early;
  while (*pp != NULL) {
    early_credit_t *ec = *pp;
    int same_job = strcmp(ec->ch.job_id, dp->job->id) == 0;
    if (same_job && ec->ch.attempt <= dp->attempt) {
      int e = ec->ch.attempt == dp->attempt ? channel_exec(dp, &ec->ch) : -1;
      if (e >= 0 && dp->credits[e] != NULL && dp->credits[e][ec->ch.channel] <= (1 << 24) - ec->n)
        dp->credits[e][ec->ch.channel] += ec->n;
      *pp = ec->next;
      free(ec);
      tm->n_early--;
      continue;
    }
    pp = &ec->next;
  }
}

/* Drops the early credits of job id (it ended here). */
static void drop_early_credits(tm_t *tm, const char *id) {
  early_credit_t **pp = &tm->early;
  while (*pp != NULL) {
    early_credit_t *ec = *pp;
    if (strcmp(ec->ch.job_id, id) == 0) {
      *pp = ec->next;
      free(ec);
      tm->n_early--;
    } else {
      pp = &ec->next;
    }
  }
}

static tm_job_t *find_job(tm_t *tm, const char *id) {
  for (tm_job_t *j = tm->jobs; j != NULL; j = j->next)
    if (strcmp(j->id, id) == 0) return j;
  return NULL;
}

/* Checks a channel address against the attempt's network: the execution
 * index, or -1. */
static int channel_exec(const dp_net_t *dp, const flow_proto_channel_t *ch) {
  const flow_job_graph_t *jg = dp->job->jg;
  if (ch->vertex < 1 || ch->vertex > jg->n_vertices) return -1;
  if (ch->subtask < 0 || ch->subtask >= jg->vertices[ch->vertex - 1].parallelism) return -1;
  if (ch->channel < 0 || ch->channel >= dp->net->n_channels[ch->vertex - 1]) return -1;
  return dp->vert_base[ch->vertex - 1] + ch->subtask;
}

static void on_data(tm_t *tm, flow_transport_conn_t *c, flow_rbuf_t *r) {
  flow_proto_channel_t ch;
  uint8_t kind = 0;
  const uint8_t *p = NULL;
  uint32_t n = 0;
  flow_proto_read_channel(r, &ch);
  flow_rd_u8(r, &kind);
  flow_rd_bytes(r, &p, &n);
  if (r->err != 0 || flow_rd_left(r) != 0 || kind > FLOW_BUF_END_OF_PARTITION) {
    flow_transport_fail(c, "malformed data buffer");
    return;
  }
  tm_job_t *j = find_job(tm, ch.job_id);
  if (j == NULL || j->dp == NULL || j->dp->attempt != ch.attempt) return; /* an old attempt's */
  int e = channel_exec(j->dp, &ch);
  if (e < 0 || !j->dp->exec_local[e] || j->dp->owed[e] == NULL || j->dp->prod[e][ch.channel] < 0 ||
      j->dp->exec_local[j->dp->prod[e][ch.channel]]) {
    flow_transport_fail(c, "data buffer for a channel that is not remote here");
    return;
  }
  flow_buffer_t *b = flow_buffer_from(p, n);
  if (b == NULL) return;
  b->kind = kind;
  flow_input_gate_t *g = flow_network_gate(j->dp->net, ch.vertex, ch.subtask);
  int rc = flow_gate_offer(g, ch.channel, b);
  if (rc != 0) {
    flow_buffer_free(b);
    if (rc == FLOW_EFULL) flow_transport_fail(c, "the sender overran its credits");
    else if (rc == FLOW_EINVAL) flow_transport_fail(c, "a buffer after the channel's end of partition");
  }
}

static void on_credit(tm_t *tm, flow_transport_conn_t *c, flow_rbuf_t *r) {
  flow_proto_channel_t ch;
  int32_t n = 0;
  flow_proto_read_channel(r, &ch);
  flow_rd_i32(r, &n);
  if (r->err != 0 || flow_rd_left(r) != 0 || n <= 0 || n > 1 << 20) {
    flow_transport_fail(c, "malformed credit");
    return;
  }
  tm_job_t *j = find_job(tm, ch.job_id);
  if (j == NULL)
    for (int i = 0; i < 64; i++)
      if (strcmp(tm->released[i], ch.job_id) == 0) return; /* a late credit of an ended job */
  if (j == NULL || j->dp == NULL || j->dp->attempt < ch.attempt) {
    if (tm->n_early >= EARLY_CREDITS_MAX) {
      flow_transport_fail(c, "too many credits for networks that do not exist");
      return;
    }
    early_credit_t *ec = flow_xcalloc(1, sizeof(*ec));
    ec->ch = ch;
    ec->n = n;
    ec->next = tm->early;
    tm->early = ec;
    tm->n_early++;
    return;
  }
  if (j->dp->attempt != ch.attempt) return;
  int e = channel_exec(j->dp, &ch);
  if (e < 0 || j->dp->credits[e] == NULL || j->dp->prod[e][ch.channel] < 0 ||
      !j->dp->exec_local[j->dp->prod[e][ch.channel]]) {
    flow_transport_fail(c, "credit for a channel that is not remote here");
    return;
  }
  int *cr = &j->dp->credits[e][ch.channel];
  if (*cr > (1 << 24) - n) { /* far more than any receiver grants: not a peer of ours */
    flow_transport_fail(c, "credits beyond any bound");
    return;
  }
  *cr += n;
  pump_net(tm, j->dp);
}

static void peer_on_frame(flow_transport_conn_t *c, uint8_t type, const uint8_t *p, uint32_t len) {
  tm_t *tm = g_tm;
  flow_rbuf_t r;
  flow_rbuf_init(&r, p, len);
  if (flow_transport_peer_role(c) != FLOW_TRANSPORT_ROLE_TASKMANAGER)
    flow_transport_fail(c, "only taskmanagers send data");
  else if (type == FLOW_PROTO_DATA) on_data(tm, c, &r);
  else if (type == FLOW_PROTO_CREDIT) on_credit(tm, c, &r);
  else flow_transport_fail(c, "unexpected frame type on a data connection");
}

static void fail_consumers_of(tm_t *tm, const char *addr, const char *why);

static void peer_on_close(flow_transport_conn_t *c, const char *reason) {
  tm_t *tm = g_tm;
  if (tm == NULL || tm->stopping) return;
  if (flow_transport_conn_server(c) != NULL) { /* accepted: a sender's connection */
    const char *from = flow_transport_peer_name(c);
    if (from != NULL && flow_transport_peer_role(c) == FLOW_TRANSPORT_ROLE_TASKMANAGER)
      fail_consumers_of(tm, from, reason);
    return;
  }
  peer_t **pp = &tm->peers;
  while (*pp != NULL && (*pp)->conn != c) pp = &(*pp)->next;
  if (*pp == NULL) return;
  peer_t *p = *pp;
  *pp = p->next;
  if (!tm->stopping) fail_jobs_using(tm, p->addr, reason);
  free(p);
}

/* ---- the jobmanager connection ------------------------------------------ */

/* Never drops a message: a send that fails loses the jobmanager instead. */
static void send_to_jobmanager(tm_t *tm, uint8_t type, flow_wbuf_t *w) {
  if (tm->jobmanager_conn == NULL) return;
  int rc = w->err != 0 ? w->err : flow_transport_send(tm->jobmanager_conn, type, w->data, (uint32_t)w->len);
  if (rc != 0) {
    char why[128];
    snprintf(why, sizeof(why), "cannot queue a message for the jobmanager: %s", flow_strerror(rc));
    flow_transport_fail(tm->jobmanager_conn, why);
  }
}

/* Endpoint messages the TaskExecutor sends to the JobMaster (a job's proxy)
 * or to the ResourceManager (the rm proxy) go to the jobmanager. */
static void sweep_retired(tm_t *tm, tm_job_t *j);
static void send_metrics(tm_t *tm, tm_job_t *j);
static void send_heartbeat(tm_t *tm);

static void proxy_handle(flow_endpoint_t *self, flow_msg_t *m) {
  tm_t *tm = g_tm;
  if (m->type == FLOW_MSG_REGISTER_TE) return; /* sent as FLOW_PROTO_REGISTER on connect */
  int ended = m->type == FLOW_MSG_TASK_STATE && self != &tm->rm_proxy.ep &&
              flow_execution_state_is_terminal(m->task_state.state);
  /* a task's counters are in before its end: the jobmanager has the final
   * counts once the job ended */
  if (ended) send_metrics(tm, (tm_job_t *)self);
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  int rc = flow_proto_write_msg(&w, m, self->id, NULL);
  if (rc != 0 && w.err == 0) w.err = rc; /* not for the wire: the jobmanager is failed (send_to_jobmanager) */
  send_to_jobmanager(tm, FLOW_PROTO_RPC, &w);
  flow_wbuf_free(&w);
  /* a task ended (the TaskExecutor joined it): an old network may be free */
  if (ended) sweep_retired(tm, (tm_job_t *)self);
}

/* Tells the JobMaster that an execution failed, on behalf of a task that
 * cannot report it itself (none runs here, or it never started). */
static void report_failed(tm_job_t *j, int vertex, int subtask, int attempt, const char *text) {
  flow_msg_t f = {.type = FLOW_MSG_TASK_STATE};
  f.task_state.task = (flow_task_id_t){vertex, subtask, attempt};
  f.task_state.state = FLOW_EXEC_FAILED;
  f.task_state.error = (char *)text; /* only read: the encoder copies it */
  proxy_handle(&j->ep, &f);
}

static flow_te_task_t *local_task(tm_t *tm, tm_job_t *j, int vertex, int subtask) {
  for (flow_te_task_t *t = tm->te.tasks; t != NULL; t = t->next)
    if (t->jm == &j->ep && t->task->net == j->dp->net && t->task->vertex == vertex && t->task->subtask == subtask)
      return t;
  return NULL;
}

/* Our data connection to addr broke (or never came up): what we sent or
 * would send there is lost, so every job exchanging data with addr fails
 * over. A task of the job here fails with the cause (its own terminal
 * report carries it); with none left here (they finished), the executions
 * at addr are reported failed on their behalf. */
static void fail_jobs_using(tm_t *tm, const char *addr, const char *why) {
  char text[400];
  for (tm_job_t *j = tm->jobs; j != NULL; j = j->next) {
    dp_net_t *dp = j->dp;
    if (dp == NULL) continue;
    int uses = 0;
    for (int e = 0; e < dp->n_exec && !uses; e++) uses = strcmp(dp->exec_addr[e], addr) == 0;
    if (!uses) continue;
    snprintf(text, sizeof(text), "lost the data connection to the taskmanager at %s: %s", addr, why);
    int local = 0;
    for (flow_te_task_t *t = tm->te.tasks; t != NULL; t = t->next) {
      if (t->jm != &j->ep || t->task->net != dp->net) continue;
      local++;
      flow_task_fail(t->task, text); /* every one: none may end CANCELED (the job would) */
    }
    if (local > 0) continue;
    for (int e = 0; e < dp->n_exec; e++) {
      if (strcmp(dp->exec_addr[e], addr) != 0) continue;
      report_failed(j, dp->exec_vertex[e], e - dp->vert_base[dp->exec_vertex[e] - 1], dp->attempt, text);
    }
  }
}

/* A sender's connection into us closed: local consumers still waiting for
 * one of its channels can never get the rest, so they fail. */
static void fail_consumers_of(tm_t *tm, const char *addr, const char *why) {
  char text[400];
  snprintf(text, sizeof(text), "lost the data connection from the taskmanager at %s: %s", addr, why);
  for (tm_job_t *j = tm->jobs; j != NULL; j = j->next) {
    dp_net_t *dp = j->dp;
    if (dp == NULL) continue;
    for (int e = 0; e < dp->n_exec; e++) {
      if (!dp->exec_local[e] || dp->owed[e] == NULL) continue;
      int v = dp->exec_vertex[e], s = e - dp->vert_base[v - 1];
      flow_input_gate_t *g = flow_network_gate(dp->net, v, s);
      int waiting = 0;
      for (int ch = 0; ch < dp->net->n_channels[v - 1] && !waiting; ch++) {
        int p = dp->prod[e][ch];
        waiting = p >= 0 && strcmp(dp->exec_addr[p], addr) == 0 && !flow_gate_channel_complete(g, ch);
      }
      flow_te_task_t *t = waiting ? local_task(tm, j, v, s) : NULL;
      if (t != NULL) flow_task_fail(t->task, text);
    }
  }
}

/* Frees the retired networks no task uses any more. */
static void sweep_retired(tm_t *tm, tm_job_t *j) {
  dp_net_t **pp = &j->retired;
  while (*pp != NULL) {
    dp_net_t *dp = *pp;
    int used = 0;
    for (flow_te_task_t *t = tm->te.tasks; t != NULL && !used; t = t->next) used = t->task->net == dp->net;
    if (used) {
      pp = &dp->next;
    } else {
      *pp = dp->next;
      dp_free(dp);
    }
  }
}

static void job_free(tm_job_t *j) {
  flow_job_metrics_free(j->metrics);
  flow_job_sampler_free(j->sampler);
  dp_free(j->dp);
  while (j->retired != NULL) {
    dp_net_t *dp = j->retired;
    j->retired = dp->next;
    dp_free(dp);
  }
  flow_jg_free(j->jg);
  flow_sg_free(j->sg);
  remove_tree(j->blob_dir);
  free(j->blob_dir);
  free(j);
}

static tm_job_t *job_get(tm_t *tm, const char *id) {
  tm_job_t *j = find_job(tm, id);
  if (j != NULL) return j;
  j = flow_xcalloc(1, sizeof(*j));
  memcpy(j->id, id, 33);
  j->tm = tm;
  j->ep.name = "JobMaster";
  j->ep.rpc = &tm->rpc;
  j->ep.handle = proxy_handle;
  j->ep.id = j->id;
  j->next = tm->jobs;
  tm->jobs = j;
  return j;
}

static int write_file(const char *path, const uint8_t *p, size_t n) {
  char *dir = flow_strdup(path);
  char *slash = strrchr(dir, '/');
  if (slash != NULL) {
    *slash = '\0';
    flow_mkdir_p(dir);
  }
  free(dir);
  FILE *f = fopen(path, "wb");
  if (f == NULL) return FLOW_EIO;
  size_t w = fwrite(p, 1, n, f);
  return fclose(f) == 0 && w == n ? 0 : FLOW_EIO;
}

/* FLOW_PROTO_JOB: the graph and the modules (BlobCache). */
static void on_job(tm_t *tm, flow_rbuf_t *r) {
  char id[33];
  const uint8_t *graph = NULL;
  uint32_t graph_len = 0;
  int32_t n = 0;
  flow_gateway_read_job_id(r, id);
  flow_rd_bytes(r, &graph, &graph_len);
  flow_rd_i32(r, &n);
  if (r->err != 0) {
    flow_transport_fail(tm->jobmanager_conn, "malformed job");
    return;
  }
  tm_job_t *j = job_get(tm, id);
  if (j->jg != NULL) return;
  flow_sg_free(j->sg); /* an earlier copy that did not compile */
  j->sg = NULL;
  char why[512] = "";
  if (flow_sg_decode(graph, graph_len, &j->sg, why, sizeof(why)) != 0 ||
      (j->jg = flow_jg_build(j->sg, why, sizeof(why))) == NULL) {
    tlog("job %s: the graph does not decode: %s", id, why);
    flow_sg_free(j->sg);
    j->sg = NULL;
    return;
  }
  j->metrics = flow_job_metrics_new(j->jg);
  j->sampler = flow_job_sampler_new(j->metrics->n_subtasks);
  size_t cap = strlen(tm->base_dir) + 40;
  j->blob_dir = flow_xmalloc(cap);
  snprintf(j->blob_dir, cap, "%s/%s", tm->base_dir, id);
  flow_mkdir_p(j->blob_dir);
  for (int32_t i = 0; i < n && r->err == 0; i++) {
    char *path = NULL;
    const uint8_t *p = NULL;
    uint32_t len = 0;
    flow_rd_str(r, &path, 0);
    flow_rd_bytes(r, &p, &len);
    if (r->err == 0 && flow_gateway_blob_path_ok(path)) {
      size_t fcap = strlen(j->blob_dir) + strlen(path) + 2;
      char *file = flow_xmalloc(fcap);
      snprintf(file, fcap, "%s/%s", j->blob_dir, path);
      if (write_file(file, p, len) != 0) tlog("job %s: cannot write %s: %s", id, file, strerror(errno));
      free(file);
    }
    free(path);
  }
  tlog("job %s (%s): %d module file%s cached in %s", id, j->sg->job_name ? j->sg->job_name : "job", (int)n,
       n == 1 ? "" : "s", j->blob_dir);
}

/* The job's counters to the jobmanager (REST shows them per vertex). */
static void send_metrics(tm_t *tm, tm_job_t *j) {
  if (j->metrics == NULL || j->jg == NULL) return;
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_wr_u8(&w, FLOW_PROTO_METRICS_VERSION);
  flow_wr_str(&w, j->id);
  /* every subtask that ran here: its latest attempt's counters */
  int n = 0;
  for (int i = 0; i < j->metrics->n_subtasks; i++) n += j->metrics->subtasks[i].start_ns != 0;
  flow_wr_i32(&w, n);
  uint64_t now = uv_hrtime();
  for (int v = 0; v < j->metrics->n_vertices; v++) {
    for (int i = j->metrics->first[v]; i < j->metrics->first[v + 1]; i++) {
      if (j->metrics->subtasks[i].start_ns == 0) continue;
      flow_task_reading_t r;
      flow_task_metrics_read(&j->metrics->subtasks[i], now, &r);
      flow_proto_write_reading(&w, v + 1, i - j->metrics->first[v], &r);
      flow_task_reading_clear(&r);
    }
  }
  send_to_jobmanager(tm, FLOW_PROTO_METRICS, &w);
  flow_wbuf_free(&w);
}

/* the readings of the subtasks that ran here (the Prometheus reporter's) */
static void sample_job(tm_job_t *j) {
  if (j->metrics == NULL || j->sampler == NULL) return;
  uint64_t now = uv_hrtime();
  for (int i = 0; i < j->metrics->n_subtasks; i++) {
    if (j->metrics->subtasks[i].start_ns == 0) continue;
    flow_task_reading_t r;
    flow_task_metrics_read(&j->metrics->subtasks[i], now, &r);
    flow_job_sampler_put(j->sampler, i, &r);
  }
}

static void on_metrics_timer(uv_timer_t *h) {
  tm_t *tm = h->data;
  for (tm_job_t *j = tm->jobs; j != NULL; j = j->next) sample_job(j);
  if (tm->jobmanager_conn == NULL || !tm->registered) return;
  for (tm_job_t *j = tm->jobs; j != NULL; j = j->next) {
    int running = 0;
    for (flow_te_task_t *t = tm->te.tasks; t != NULL && !running; t = t->next) running = t->jm == &j->ep;
    if (running) send_metrics(tm, j);
  }
}

static void on_job_release(tm_t *tm, flow_rbuf_t *r) {
  char id[33];
  if (flow_gateway_read_job_id(r, id) != 0) return;
  drop_early_credits(tm, id);
  memcpy(tm->released[tm->n_released++ % 64], id, 33);
  for (tm_job_t **pp = &tm->jobs; *pp != NULL; pp = &(*pp)->next) {
    tm_job_t *j = *pp;
    if (strcmp(j->id, id) != 0) continue;
    for (flow_te_task_t *t = tm->te.tasks; t != NULL; t = t->next)
      if (t->jm == &j->ep) return; /* still running here: kept until the process ends */
    *pp = j->next;
    job_free(j);
    return;
  }
}

static void on_rpc(tm_t *tm, flow_rbuf_t *r) {
  flow_proto_msg_t cm;
  if (flow_proto_read_msg(r, FLOW_PROTO_FROM_JOBMANAGER, &cm) != 0 || cm.job_id[0] == '\0') {
    if (cm.job_id[0] == '\0') flow_proto_msg_clear(&cm);
    flow_transport_fail(tm->jobmanager_conn, "malformed endpoint message");
    return;
  }
  flow_msg_type_t type = cm.m.type;
  tm_job_t *j = type == FLOW_MSG_ALLOCATE_SLOTS ? job_get(tm, cm.job_id) : find_job(tm, cm.job_id);
  flow_msg_t *m = NULL;
  switch (type) {
  case FLOW_MSG_ALLOCATE_SLOTS:
  case FLOW_MSG_CANCEL_TASK:
  case FLOW_MSG_TRIGGER_CHECKPOINT:
  case FLOW_MSG_NOTIFY_CHECKPOINT:
  case FLOW_MSG_FREE_SLOTS:
    if (j == NULL) break;
    m = flow_msg_move(&cm.m, NULL, &tm->te.ep);
    flow_msg_set_job_master(m, &j->ep);
    break;
  case FLOW_MSG_SUBMIT_TASK: {
    const flow_task_id_t *id = &cm.m.submit_task.task;
    if (j == NULL || j->jg == NULL) { /* its graph did not decode here: the task fails */
      tlog("job %s: a task without a usable graph", cm.job_id);
      if (j == NULL) break;
      report_failed(j, id->vertex, id->subtask, id->attempt, "the taskmanager could not decode the job's graph");
      break;
    }
    if (id->vertex < 1 || id->vertex > j->jg->n_vertices || id->subtask < 0 ||
        id->subtask >= j->jg->vertices[id->vertex - 1].parallelism || cm.m.submit_task.slot < 0 ||
        cm.m.submit_task.slot >= tm->te.slots.n_slots) {
      flow_transport_fail(tm->jobmanager_conn, "task deployment out of range");
      break;
    }
    if (j->dp == NULL || j->dp->attempt < id->attempt) {
      dp_net_t *dp = dp_new(tm, j, id->attempt, &cm);
      if (dp == NULL) {
        flow_transport_fail(tm->jobmanager_conn, "task deployment with a bad location map");
        break;
      }
      if (j->dp != NULL) { /* the old attempt's: freed once no task uses it (swept when a
                              task ends: a deployment may still be queued for it now) */
        j->dp->next = j->retired;
        j->retired = j->dp;
      }
      j->dp = dp;
      apply_early_credits(tm, dp);
    } else if (j->dp->attempt > id->attempt) {
      break; /* stale */
    }
    /* the deployment's wire fields are in; what only this process knows */
    flow_task_deployment_t *d = cm.m.submit_task.deployment;
    d->job = &j->ep;
    d->jg = j->jg;
    d->net = j->dp->net;
    d->blob_dir = flow_strdup(j->blob_dir);
    d->metrics = j->metrics;
    m = flow_msg_move(&cm.m, NULL, &tm->te.ep);
    m->submit_task.job_master = &j->ep;
    break;
  }
  default: flow_transport_fail(tm->jobmanager_conn, "unexpected endpoint message from the jobmanager"); break;
  }
  if (m != NULL) flow_rpc_send(&tm->rpc, m);
  flow_proto_msg_clear(&cm);
  pump(tm); /* a new network may have early credits to use */
}

static void jobmanager_on_frame(flow_transport_conn_t *c, uint8_t type, const uint8_t *p, uint32_t len) {
  tm_t *tm = g_tm;
  tm->jobmanager_heard_ns = uv_hrtime();
  if (!tm->registered) { /* the jobmanager's first frame acknowledges our registration */
    tm->registered = 1;
    tlog("registered at the jobmanager %s with %d slots", flow_transport_peer(c), tm->opt.slots);
    send_heartbeat(tm); /* its hardware, at once */
  }
  flow_rbuf_t r;
  flow_rbuf_init(&r, p, len);
  switch (type) {
  case FLOW_PROTO_HEARTBEAT: break;
  case FLOW_PROTO_RPC: on_rpc(tm, &r); break;
  case FLOW_PROTO_JOB: on_job(tm, &r); break;
  case FLOW_PROTO_JOB_RELEASE: on_job_release(tm, &r); break;
  default: flow_transport_fail(c, "unexpected frame type from the jobmanager"); break;
  }
}

static void jobmanager_on_open(flow_transport_conn_t *c) {
  (void)c;
  g_tm->jobmanager_heard_ns = uv_hrtime();
}

static void stop(tm_t *tm, int code);
static void connect_jobmanager(tm_t *tm);

static void on_reconnect(uv_timer_t *h) { connect_jobmanager(h->data); }

/* After a lost jobmanager: once every task ended (their last reports are
 * queued before this message), the jobs and their slots go and we register
 * again (Flink's TaskExecutor reconnects to the ResourceManager). */
static void reset_handle(flow_endpoint_t *self, flow_msg_t *m) {
  (void)self, (void)m;
  tm_t *tm = g_tm;
  while (tm->jobs != NULL) {
    tm_job_t *j = tm->jobs;
    tm->jobs = j->next;
    flow_slot_table_free_owner(&tm->te.slots, &j->ep);
    drop_early_credits(tm, j->id);
    memcpy(tm->released[tm->n_released++ % 64], j->id, 33);
    job_free(j);
  }
  tlog("every task of the lost jobmanager ended; registering again");
  tm->started_ns = uv_hrtime();
  connect_jobmanager(tm);
}

static void on_reset_poll(uv_timer_t *h) {
  tm_t *tm = h->data;
  if (tm->te.tasks != NULL) return; /* canceled tasks still ending */
  uv_timer_stop(h);
  flow_rpc_send(&tm->rpc, flow_msg_new(FLOW_MSG_CANCEL_JOB, NULL, &tm->reset_ep));
}

static void jobmanager_on_close(flow_transport_conn_t *c, const char *reason) {
  tm_t *tm = g_tm;
  if (tm == NULL || tm->jobmanager_conn != c) return;
  tm->jobmanager_conn = NULL;
  if (tm->stopping) return;
  if (!tm->registered) {
    uint64_t waited = (uv_hrtime() - tm->started_ns) / 1000000u;
    if (strstr(reason, "authentication") != NULL || strstr(reason, "secret") != NULL) {
      fprintf(stderr, "flowlua: taskmanager: the jobmanager refused us: %s\n", reason);
      stop(tm, 1);
    } else if (!tm->rejoining && (int64_t)waited >= tm->opt.connect_timeout_ms) {
      fprintf(stderr, "flowlua: taskmanager: cannot reach the jobmanager at %s:%d: %s\n",
              tm->opt.jobmanager_host ? tm->opt.jobmanager_host : "127.0.0.1", tm->opt.jobmanager_port, reason);
      stop(tm, 1);
    } else {
      uv_timer_start(&tm->reconnect, on_reconnect, tm->rejoining ? 1000 : 500, 0);
    }
    return;
  }
  /* registered before: its jobs are gone with it; cancel ours, then rejoin */
  tlog("lost the jobmanager (%s): canceling its tasks, then registering again", reason);
  tm->registered = 0;
  tm->rejoining = 1;
  for (flow_te_task_t *t = tm->te.tasks; t != NULL; t = t->next) flow_task_cancel(t->task);
  uv_timer_start(&tm->reconnect, on_reset_poll, 20, 20);
}

static void connect_jobmanager(tm_t *tm) {
  if (tm == NULL || tm->stopping) return;
  flow_transport_opts_t no;
  net_opts(tm, &no, tm->data_addr, jobmanager_on_frame, jobmanager_on_close);
  no.max_queued = (size_t)1 << 30; /* our own messages: never dropped (see send_to_jobmanager) */
  no.no_log = 1;                   /* jobmanager_on_close says what happened (and retries at start-up) */
  no.on_open = jobmanager_on_open;
  if (flow_transport_connect(&tm->loop, tm->opt.jobmanager_host, tm->opt.jobmanager_port, &no,
                             &tm->jobmanager_conn) != 0) {
    fprintf(stderr, "flowlua: taskmanager: bad jobmanager address\n");
    stop(tm, 1);
    return;
  }
  /* queued behind the handshake */
  char *colon = strrchr(tm->data_addr, ':');
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_wr_i32(&w, tm->opt.slots);
  char host[80];
  snprintf(host, sizeof(host), "%.*s", (int)(colon - tm->data_addr), tm->data_addr);
  if (host[0] == '[') { /* [::1] */
    memmove(host, host + 1, strlen(host));
    host[strlen(host) - 1] = '\0';
  }
  flow_wr_str(&w, host);
  flow_wr_i32(&w, atoi(colon + 1));
  send_to_jobmanager(tm, FLOW_PROTO_REGISTER, &w);
  flow_wbuf_free(&w);
}

/* A heartbeat with this process's hardware and resources (REST
 * /taskmanagers/:id). */
static void send_heartbeat(tm_t *tm) {
  flow_rest_tm_t hw;
  memset(&hw, 0, sizeof(hw));
  flow_rest_local_hardware(&hw);
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_wr_u8(&w, 1);
  flow_wr_i32(&w, hw.cpu_cores);
  flow_wr_i64(&w, hw.physical_memory);
  flow_wr_i64(&w, hw.free_memory);
  flow_wr_i64(&w, hw.rss_bytes);
  flow_wr_i32(&w, hw.threads);
  if (w.err == 0) (void)flow_transport_send(tm->jobmanager_conn, FLOW_PROTO_HEARTBEAT, w.data, (uint32_t)w.len);
  flow_wbuf_free(&w);
}

static void on_heartbeat(uv_timer_t *h) {
  tm_t *tm = h->data;
  if (tm->jobmanager_conn == NULL || !tm->registered) return;
  if (uv_hrtime() - tm->jobmanager_heard_ns > (uint64_t)tm->opt.heartbeat_timeout_ms * 1000000u) {
    char why[96];
    snprintf(why, sizeof(why), "no heartbeat from the jobmanager for %lld ms", (long long)tm->opt.heartbeat_timeout_ms);
    flow_transport_fail(tm->jobmanager_conn, why);
    return;
  }
  send_heartbeat(tm);
}

/* GET /metrics: this taskmanager's tasks and operators */
static void handle_prom(void *ud, const flow_http_request_t *req, flow_http_response_t *res) {
  tm_t *tm = ud;
  int n = 0;
  for (tm_job_t *j = tm->jobs; j != NULL; j = j->next) n++;
  flow_job_view_t **views = flow_xcalloc((size_t)n + 1, sizeof(*views));
  int k = 0;
  for (tm_job_t *j = tm->jobs; j != NULL; j = j->next) {
    if (j->jg == NULL || j->sampler == NULL) continue;
    flow_job_view_source_t src = {
        .id = j->id,
        .name = j->sg->job_name,
        .jg = j->jg,
        .status = FLOW_JOB_RUNNING, /* (listed while it has tasks here) */
        .sampler = j->sampler,
    };
    views[k++] = flow_job_view_build(&src);
  }
  size_t len = 0;
  char *text = flow_rest_prometheus(views, k, NULL, 0, tm->data_addr, FLOW_PROM_TASKS, &len);
  flow_rest_views_free(views, k);
  flow_rest_prometheus_response(req, res, text, len);
}

static void stop(tm_t *tm, int code) {
  if (tm->stopping) return;
  tm->stopping = 1;
  tm->exit_code = code;
  uv_stop(&tm->loop);
}

static void on_signal(uv_signal_t *h, int sig) {
  tm_t *tm = h->data;
  tlog("received signal %d: shutting down", sig);
  stop(tm, 0);
}

int flow_taskmanager_run(const flow_taskmanager_options_t *o) {
  tm_t *tm = flow_xcalloc(1, sizeof(*tm));
  g_tm = tm;
  tm->opt = *o;
  if (tm->opt.connect_timeout_ms <= 0) tm->opt.connect_timeout_ms = 60000;
  tm->started_ns = uv_hrtime();
  uv_loop_init(&tm->loop);
  flow_rpc_init(&tm->rpc, &tm->loop);
  uv_async_init(&tm->loop, &tm->pump_async, on_pump_async);
  tm->pump_async.data = tm;
  atomic_init(&tm->pump_pending, 0);
  const char *tmp = getenv("TMPDIR");
  size_t cap = strlen(tmp ? tmp : "/tmp") + 64;
  tm->base_dir = flow_xmalloc(cap);
  snprintf(tm->base_dir, cap, "%s/flowlua-tm-%ld", tmp ? tmp : "/tmp", (long)getpid());
  int code = 0;
  flow_transport_opts_t no;
  net_opts(tm, &no, "taskmanager", peer_on_frame, peer_on_close);
  const char *bind = o->bind_host ? o->bind_host : "127.0.0.1";
  struct sockaddr_storage bss, ass;
  if (o->advertise_host != NULL && flow_tcp_parse_addr(o->advertise_host, 1, &ass) != 0) {
    fprintf(stderr, "flowlua: taskmanager: --advertise needs a numeric address, not '%s'\n", o->advertise_host);
    code = 1;
    goto out;
  }
  if (o->advertise_host == NULL && flow_tcp_parse_addr(bind, 1, &bss) == 0 && flow_tcp_is_wildcard(&bss)) {
    fprintf(stderr, "flowlua: taskmanager: --bind %s needs --advertise HOST: the address other "
                    "taskmanagers reach this one at\n", bind);
    code = 1;
    goto out;
  }
  if (flow_transport_listen(&tm->loop, bind, o->data_port, &no, &tm->data_server) != 0) {
    fprintf(stderr, "flowlua: taskmanager: cannot listen on %s:%d\n", bind, o->data_port);
    code = 1;
    goto out;
  }
  const char *adv = o->advertise_host ? o->advertise_host : bind;
  snprintf(tm->data_addr, sizeof(tm->data_addr), strchr(adv, ':') ? "[%s]:%d" : "%s:%d", adv,
           flow_transport_server_port(tm->data_server));
  if (o->prom_ports != NULL) {
    flow_http_opts_t ho;
    memset(&ho, 0, sizeof(ho));
    ho.handler = handle_prom;
    ho.data = tm;
    if (flow_rest_listen_range(&tm->loop, bind, o->prom_ports, &ho, &tm->prom) != 0) {
      fprintf(stderr, "flowlua: taskmanager: metrics.reporter.prom.port %s: no free port on %s\n", o->prom_ports, bind);
      code = 1;
      goto out;
    }
    tlog("Prometheus reporter on http://%s:%d/metrics", bind, flow_http_server_port(tm->prom));
  }
  flow_resource_manager_init(&tm->rm_proxy, &tm->rpc);
  tm->rm_proxy.ep.handle = proxy_handle;
  if (flow_task_executor_init(&tm->te, &tm->rpc, &tm->rm_proxy, o->slots, o->task_body) != 0) {
    fprintf(stderr, "flowlua: taskmanager: cannot create %d slots\n", o->slots);
    code = 1;
    goto out;
  }
  uv_timer_init(&tm->loop, &tm->heartbeat);
  tm->heartbeat.data = tm;
  uint64_t hb = (uint64_t)(o->heartbeat_interval_ms > 0 ? o->heartbeat_interval_ms : 10000);
  uv_timer_start(&tm->heartbeat, on_heartbeat, hb, hb);
  uv_timer_init(&tm->loop, &tm->reconnect);
  tm->reconnect.data = tm;
  tm->reset_ep.name = "TaskManager";
  tm->reset_ep.rpc = &tm->rpc;
  tm->reset_ep.handle = reset_handle;
  uv_timer_init(&tm->loop, &tm->metrics_timer);
  tm->metrics_timer.data = tm;
  uv_timer_start(&tm->metrics_timer, on_metrics_timer, 1000, 1000);
  uv_signal_init(&tm->loop, &tm->sigint);
  uv_signal_init(&tm->loop, &tm->sigterm);
  tm->sigint.data = tm->sigterm.data = tm;
  uv_signal_start(&tm->sigint, on_signal, SIGINT);
  uv_signal_start(&tm->sigterm, on_signal, SIGTERM);
  tlog("data plane on %s, %d slots, connecting to the jobmanager at %s:%d", tm->data_addr, o->slots,
       o->jobmanager_host ? o->jobmanager_host : "127.0.0.1", o->jobmanager_port);
  connect_jobmanager(tm);
  uv_run(&tm->loop, UV_RUN_DEFAULT);
  code = tm->exit_code;
  /* every task: canceled and joined before the networks go */
  flow_task_executor_destroy(&tm->te);
  uv_close((uv_handle_t *)&tm->heartbeat, NULL);
  uv_close((uv_handle_t *)&tm->reconnect, NULL);
  uv_close((uv_handle_t *)&tm->metrics_timer, NULL);
  uv_close((uv_handle_t *)&tm->sigint, NULL);
  uv_close((uv_handle_t *)&tm->sigterm, NULL);
out:
  tm->stopping = 1;
  if (tm->jobmanager_conn != NULL) flow_transport_close(tm->jobmanager_conn);
  for (peer_t *p = tm->peers; p != NULL; p = p->next) flow_transport_close(p->conn);
  if (tm->data_server != NULL) flow_transport_server_close(tm->data_server);
  if (tm->prom != NULL) flow_http_server_close(tm->prom);
  tm->prom = NULL;
  flow_rpc_close(&tm->rpc);
  uv_close((uv_handle_t *)&tm->pump_async, NULL);
  uv_run(&tm->loop, UV_RUN_DEFAULT);
  g_tm = NULL;
  uv_loop_close(&tm->loop);
  uv_mutex_destroy(&tm->rpc.mu);
  while (tm->jobs != NULL) {
    tm_job_t *j = tm->jobs;
    tm->jobs = j->next;
    job_free(j);
  }
  while (tm->peers != NULL) {
    peer_t *p = tm->peers;
    tm->peers = p->next;
    free(p);
  }
  while (tm->early != NULL) {
    early_credit_t *ec = tm->early;
    tm->early = ec->next;
    free(ec);
  }
  remove_tree(tm->base_dir);
  free(tm->base_dir);
  free(tm);
  return code;
}
