#include "cluster/cluster_log.h"
#include "cluster/jobmanager.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/protocol.h"
#include "coordination/dispatcher.h"
#include "coordination/job_master.h"
#include "coordination/resource_manager.h"
#include "cluster/jobmanager_internal.h"
#include "net/transport.h"
#include "net/tcp_addr.h"
#include "util/common.h"
#include "util/clock.h"
#include "util/fs.h"
#include "graph/serialize.h"
#include "runtime/task.h"

/* Everything below runs on the loop thread: the endpoints, the connections,
 * the timers. Lifetimes: a job record lives from its submission until it is
 * evicted from the history (JM_HISTORY finished jobs are kept); a
 * taskmanager proxy lives until the process ends (JobMasters may still hold
 * its endpoint after it was lost); a connection's context until its on_close. */

#define JM_HISTORY 100

#define jlog(...) flow_cluster_log("jobmanager", __VA_ARGS__)

void flow_jobmanager_options_init(flow_jobmanager_options_t *o) {
  memset(o, 0, sizeof(*o));
  o->bind_port = 6123;
  o->rest_port = 8081;
  o->heartbeat_interval_ms = 10000;
  o->heartbeat_timeout_ms = 50000;
  o->slot_timeout_ms = 300000;
}

int flow_parse_host_port(const char *s, char **host, int *port) {
  if (s == NULL || *s == '\0') return FLOW_EINVAL;
  const char *colon = strrchr(s, ':');
  const char *ps = colon ? colon + 1 : s;
  char *end = NULL;
  long p = strtol(ps, &end, 10);
  if (end == ps || *end != '\0' || p < 0 || p > 65535) return FLOW_EINVAL;
  if (colon == NULL) {
    *host = flow_strdup("127.0.0.1");
  } else {
    size_t n = (size_t)(colon - s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') s++, n -= 2; /* [::1]:6123 */
    *host = flow_xmalloc(n + 1);
    memcpy(*host, s, n);
    (*host)[n] = '\0';
    if (n == 0) {
      free(*host);
      *host = flow_strdup("127.0.0.1");
    }
  }
  *port = (int)p;
  return 0;
}

/* ---- the job table ------------------------------------------------------ */

static void tm_proxy_handle(flow_endpoint_t *self, flow_msg_t *m);
static void stop_poll(uv_timer_t *h);

static flow_jobmanager_t *g_jobmanager; /* the process's one jobmanager: for the endpoint callbacks */

flow_jobmanager_job_t *flow_jobmanager_find_job(flow_jobmanager_t *jmgr, const char *id) {
  for (flow_jobmanager_job_t *j = jmgr->jobs; j != NULL; j = j->next)
    if (strcmp(j->id, id) == 0) return j;
  return NULL;
}

static void job_free(flow_jobmanager_job_t *j) {
  flow_job_sampler_free(j->sampler);
  flow_job_view_unref(j->final_view);
  flow_job_result_clear(&j->result);
  flow_jg_free(j->jg);
  flow_sg_free(j->sg);
  free(j->job_frame);
  flow_dispatcher_clear(&j->d);
  free(j->name);
  free(j);
}

/* Keeps at most JM_HISTORY finished jobs (the oldest go first). */
static void trim_history(flow_jobmanager_t *jmgr) {
  int finished = 0;
  for (flow_jobmanager_job_t *j = jmgr->jobs; j != NULL; j = j->next) finished += j->done;
  flow_jobmanager_job_t **pp = &jmgr->jobs;
  /* jobs are kept newest first: drop from the tail */
  while (finished > JM_HISTORY) {
    flow_jobmanager_job_t **last = NULL;
    for (pp = &jmgr->jobs; *pp != NULL; pp = &(*pp)->next)
      if ((*pp)->done) last = pp;
    if (last == NULL) break;
    flow_jobmanager_job_t *j = *last;
    *last = j->next;
    job_free(j);
    finished--;
  }
}

static void send_frame(flow_transport_conn_t *c, uint8_t type, flow_wbuf_t *w) {
  if (c == NULL) return;
  if (w->err == 0) (void)flow_transport_send(c, type, w->data, (uint32_t)w->len);
}

static void push_result(flow_jobmanager_t *jmgr, flow_jobmanager_job_t *j) {
  (void)jmgr;
  if (j->client == NULL) return;
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_wr_u32(&w, j->client_req);
  flow_gateway_write_result(&w, &j->result);
  send_frame(j->client, FLOW_GATEWAY_RESULT, &w);
  flow_wbuf_free(&w);
}

static void release_on_taskmanagers(flow_jobmanager_t *jmgr, flow_jobmanager_job_t *j) {
  for (flow_jobmanager_tm_t *tm = jmgr->tms; tm != NULL; tm = tm->next) {
    if (tm->ep.lost || tm->conn == NULL) continue;
    /* every live taskmanager: also those that only held slots of it */
    for (int i = 0; i < tm->n_jobs_sent; i++) {
      if (strcmp(tm->jobs_sent[i], j->id) != 0) continue;
      memcpy(tm->jobs_sent[i], tm->jobs_sent[--tm->n_jobs_sent], 33); /* forget it */
      break;
    }
    flow_wbuf_t w;
    flow_wbuf_init(&w);
    flow_wr_str(&w, j->id);
    send_frame(tm->conn, FLOW_PROTO_JOB_RELEASE, &w);
    flow_wbuf_free(&w);
  }
}

static void te_name(const void *te, char *name, size_t cap, char *id, size_t idcap, void *data) {
  (void)data;
  const flow_jobmanager_tm_t *tm = te; /* ep is its first member */
  snprintf(name, cap, "%s", tm->name);
  snprintf(id, idcap, "%s", tm->id);
}

static flow_job_view_t *build_view(flow_jobmanager_job_t *j, const flow_job_master_t *jm, int status, int64_t end_ms) {
  flow_job_view_source_t src = {
      .id = j->id,
      .name = j->name,
      .jg = j->jg,
      .d = &j->d,
      .jm = jm,
      .status = status,
      .start_ms = j->start_ms,
      .end_ms = end_ms,
      .restarts = j->result.restarts,
      .failure = j->result.failure,
      .sampler = j->sampler,
      .accumulators = j->result.accumulators,
      .te_name = te_name,
  };
  return flow_job_view_build(&src);
}

flow_job_view_t *flow_jobmanager_job_view(flow_jobmanager_t *jmgr, flow_jobmanager_job_t *j) {
  (void)jmgr;
  if (j->final_view != NULL) return flow_job_view_ref(j->final_view);
  return build_view(j, j->d.jm, atomic_load(&j->status_atomic), -1);
}

/* The job ended: its view as it ended, for REST, once the JobMaster is gone. */
static void on_job_archive(flow_dispatcher_t *d, const flow_job_master_t *jm) {
  flow_jobmanager_job_t *j = d->data;
  flow_job_view_unref(j->final_view);
  j->final_view = build_view(j, jm, (int)jm->status, flow_now_ms());
}

static void on_job_done(flow_dispatcher_t *d) {
  flow_jobmanager_job_t *j = d->data;
  flow_jobmanager_t *jmgr = g_jobmanager;
  j->done = 1;
  j->end_ms = flow_now_ms();
  j->status = (int)j->result.status;
  jlog("job %s (%s) %s%s%s", j->id, j->name, flow_job_status_name(j->result.status),
       j->result.failure ? ": " : "", j->result.failure ? j->result.failure : "");
  push_result(jmgr, j);
  release_on_taskmanagers(jmgr, j);
  free(j->job_frame); /* no taskmanager needs the graph and the modules any more */
  j->job_frame = NULL;
  j->job_frame_len = 0;
  trim_history(jmgr);
}

static void on_job_savepoint(flow_dispatcher_t *d, const char *result) {
  flow_jobmanager_job_t *j = d->data;
  if (j->savepoint_client == NULL) return;
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_wr_u32(&w, j->savepoint_req);
  int ok = strncmp(result, "error: ", 7) != 0;
  flow_wr_u8(&w, (uint8_t)ok);
  flow_wr_str(&w, ok ? result : result + 7);
  send_frame(j->savepoint_client, FLOW_GATEWAY_SAVEPOINT_REPLY, &w);
  flow_wbuf_free(&w);
  j->savepoint_client = NULL;
}

/* A submission: decoded, compiled, and handed to a Dispatcher of its own
 * (Flink's JobManagerRunner). 0 or an error message in err. */
int flow_jobmanager_submit(flow_jobmanager_t *jmgr, const flow_gateway_submission_t *sub, flow_transport_conn_t *client,
                           uint32_t req, char *id_out, char *err, size_t errlen) {
  const flow_gateway_options_t *opt = &sub->opt;
  flow_stream_graph_t *sg = NULL;
  char why[512] = "";
  int rc = flow_sg_decode(sub->graph, sub->graph_len, &sg, why, sizeof(why));
  if (rc != 0) {
    snprintf(err, errlen, "the job graph does not decode: %s", why[0] ? why : flow_strerror(rc));
    return rc;
  }
  flow_job_graph_t *jg = flow_jg_build(sg, why, sizeof(why));
  if (jg == NULL) {
    snprintf(err, errlen, "invalid job graph: %s", why);
    flow_sg_free(sg);
    return FLOW_EGRAPH;
  }
  flow_jobmanager_job_t *j = flow_xcalloc(1, sizeof(*j));
  j->sg = sg;
  j->jg = jg;
  j->name = flow_strdup(sg->job_name ? sg->job_name : "job");
  j->start_ms = flow_now_ms();
  j->client = client;
  j->client_req = req;
  atomic_init(&j->status_atomic, FLOW_JOB_INITIALIZING);
  flow_new_job_id(j->id);
  /* the JOB frame every taskmanager running a task of it gets once */
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_wr_str(&w, j->id);
  flow_wr_bytes(&w, sub->graph, sub->graph_len);
  flow_wr_i32(&w, sub->n_blobs);
  flow_wr_raw(&w, sub->blobs, sub->blobs_len);
  if (w.err != 0) {
    flow_wbuf_free(&w);
    job_free(j);
    snprintf(err, errlen, "out of memory");
    return FLOW_ENOMEM;
  }
  j->job_frame = w.data;
  j->job_frame_len = w.len;
  flow_dispatcher_init(&j->d, &jmgr->rpc, &jmgr->rm);
  j->d.result = &j->result;
  j->d.on_done = on_job_done;
  j->d.on_archive = on_job_archive;
  int n_subtasks = 0;
  for (int v = 0; v < jg->n_vertices; v++) n_subtasks += jg->vertices[v].parallelism;
  j->sampler = flow_job_sampler_new(n_subtasks);
  j->d.on_savepoint = on_job_savepoint;
  j->d.data = j;
  flow_dispatcher_configure(&j->d, opt->buffer_timeout_ms, &opt->restart, &opt->checkpoint);
  j->d.status_out = &j->status_atomic;
  j->d.remote_executors = 1;
  memcpy(j->d.job_id, j->id, sizeof(j->id));
  j->next = jmgr->jobs;
  jmgr->jobs = j;
  flow_msg_t *m = flow_msg_new(FLOW_MSG_SUBMIT_JOB, NULL, &j->d.ep);
  m->submit_job.job_graph = jg;
  flow_rpc_send(&jmgr->rpc, m);
  memcpy(id_out, j->id, 33);
  jlog("job %s (%s) submitted: %d tasks in %d slots", j->id, j->name, jg->n_vertices, jg->slots_required);
  return 0;
}

/* FLOW_PROTO_METRICS: a taskmanager's readings of its subtasks of a job */
static void tm_metrics(flow_jobmanager_t *jmgr, flow_jobmanager_tm_t *tm, flow_rbuf_t *r) {
  char id[33];
  uint8_t version = 0;
  int32_t n = 0;
  flow_rd_u8(r, &version);
  flow_gateway_read_job_id(r, id);
  flow_rd_i32(r, &n);
  if (r->err != 0 || version != FLOW_PROTO_METRICS_VERSION || n < 0 || (size_t)n > flow_rd_left(r) / 16) {
    flow_transport_fail(tm->conn, "malformed metrics");
    return;
  }
  flow_jobmanager_job_t *j = flow_jobmanager_find_job(jmgr, id);
  if (j == NULL || j->done) return; /* an evicted or ended job's */
  for (int i = 0; i < n; i++) {
    int vertex = 0, subtask = 0;
    flow_task_reading_t reading;
    int rc = flow_proto_read_reading(r, &vertex, &subtask, &reading);
    if (rc != 0) {
      flow_transport_fail(tm->conn, "malformed metrics");
      return;
    }
    int idx = -1;
    if (vertex >= 1 && vertex <= j->jg->n_vertices && subtask >= 0 &&
        subtask < j->jg->vertices[vertex - 1].parallelism) {
      idx = subtask;
      for (int v = 0; v < vertex - 1; v++) idx += j->jg->vertices[v].parallelism;
    }
    /* a former attempt's counters (its taskmanager still reports them) never
     * replace a newer attempt's */
    if (idx < 0 || (j->sampler->has[idx] && reading.attempt < j->sampler->cur[idx].attempt)) {
      flow_task_reading_clear(&reading);
      continue;
    }
    flow_job_sampler_put(j->sampler, idx, &reading);
  }
}

int flow_jobmanager_cancel(flow_jobmanager_t *jmgr, const char *id, char *msg, size_t cap) {
  flow_jobmanager_job_t *j = flow_jobmanager_find_job(jmgr, id);
  if (j == NULL) {
    snprintf(msg, cap, "no job %s", id);
    return FLOW_EINVAL;
  }
  if (j->done) {
    snprintf(msg, cap, "job %s has already ended (%s)", id, flow_job_status_name((flow_job_status_t)j->status));
    return FLOW_ESTATE;
  }
  flow_rpc_send(&jmgr->rpc, flow_msg_new(FLOW_MSG_CANCEL_JOB, NULL, &j->d.ep));
  snprintf(msg, cap, "cancelling job %s", id);
  return 0;
}

/* ---- taskmanager proxies ------------------------------------------------ */

static const char *tm_addr_of(flow_endpoint_t *te) {
  if (te == NULL || te->handle != tm_proxy_handle) return NULL;
  return ((flow_jobmanager_tm_t *)te)->data_addr;
}

/* 0, or the send's error (the connection is then failed by the caller). */
static int tm_send_job_once(flow_jobmanager_tm_t *tm, const char *job_id) {
  for (int i = 0; i < tm->n_jobs_sent; i++)
    if (strcmp(tm->jobs_sent[i], job_id) == 0) return 0;
  flow_jobmanager_job_t *j = flow_jobmanager_find_job(g_jobmanager, job_id);
  if (j == NULL || j->job_frame == NULL) return 0;
  int rc = flow_transport_send(tm->conn, FLOW_PROTO_JOB, j->job_frame, (uint32_t)j->job_frame_len);
  if (rc != 0) return rc;
  tm->jobs_sent = flow_xrealloc(tm->jobs_sent, (size_t)(tm->n_jobs_sent + 1) * sizeof(*tm->jobs_sent));
  memcpy(tm->jobs_sent[tm->n_jobs_sent++], job_id, 33);
  return 0;
}

/* The proxy's handler: a message for the remote TaskExecutor goes on the wire. */
static void tm_proxy_handle(flow_endpoint_t *self, flow_msg_t *m) {
  flow_jobmanager_tm_t *tm = (flow_jobmanager_tm_t *)self;
  if (self->lost || tm->conn == NULL) return;
  flow_endpoint_t *job = flow_msg_job_master(m);
  const char *job_id = job != NULL ? job->id : NULL;
  int rc = m->type == FLOW_MSG_SUBMIT_TASK && job_id != NULL ? tm_send_job_once(tm, job_id) : 0;
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  if (rc == 0) rc = flow_proto_write_msg(&w, m, job_id, tm_addr_of);
  if (rc == 0) rc = flow_transport_send(tm->conn, FLOW_PROTO_RPC, w.data, (uint32_t)w.len);
  flow_wbuf_free(&w);
  if (rc != 0) { /* an endpoint message is never dropped: the taskmanager is lost instead
                   (by the connection's close, outside this delivery of messages) */
    char why[160];
    snprintf(why, sizeof(why), "cannot queue a message for it: %s", flow_strerror(rc));
    flow_transport_fail(tm->conn, why);
  }
}

static void tm_lost(flow_jobmanager_t *jmgr, flow_jobmanager_tm_t *tm, const char *why) {
  if (tm->ep.lost) return;
  tm->ep.lost = 1;
  tm->conn = NULL;
  jlog("TaskManager %s is lost: %s", tm->name, why);
  flow_msg_t *m = flow_msg_new(FLOW_MSG_TE_LOST, NULL, &jmgr->rm.ep);
  m->te_lost.task_executor = &tm->ep;
  flow_rpc_send(&jmgr->rpc, m);
  for (flow_jobmanager_job_t *j = jmgr->jobs; j != NULL; j = j->next) {
    if (j->done || j->d.jm == NULL) continue;
    flow_msg_t *f = flow_msg_new(FLOW_MSG_TE_LOST, NULL, &j->d.jm->ep);
    f->te_lost.task_executor = &tm->ep;
    f->te_lost.why = flow_strdup(why);
    flow_rpc_send(&jmgr->rpc, f);
  }
}

static void tm_register(flow_jobmanager_t *jmgr, flow_transport_conn_t *c, flow_rbuf_t *r) {
  int32_t slots = 0, port = 0;
  char *host = NULL;
  flow_rd_i32(r, &slots);
  flow_rd_str(r, &host, 0);
  flow_rd_i32(r, &port);
  struct sockaddr_storage ss;
  if (r->err != 0 || flow_rd_left(r) != 0 || slots < 1 || slots > 4096 || port <= 0 || port > 65535 ||
      flow_transport_conn_data(c) != NULL || flow_tcp_parse_addr(host, port, &ss) != 0 || flow_tcp_is_wildcard(&ss)) {
    free(host);
    flow_transport_fail(c, "malformed taskmanager registration");
    return;
  }
  flow_jobmanager_tm_t *tm = flow_xcalloc(1, sizeof(*tm));
  tm->ep.name = "TaskExecutor";
  tm->ep.rpc = &jmgr->rpc;
  tm->ep.handle = tm_proxy_handle;
  tm->conn = c;
  tm->slots = slots;
  tm->hw_rss_bytes = -1;
  tm->hw_threads = -1;
  tm->registered_ms = flow_now_ms();
  tm->last_heard_ns = uv_hrtime();
  snprintf(tm->data_addr, sizeof(tm->data_addr), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, (int)port);
  snprintf(tm->name, sizeof(tm->name), "tm-%d@%s", ++jmgr->tm_seq, flow_transport_peer(c));
  snprintf(tm->id, sizeof(tm->id), "%08x%08x", (unsigned)jmgr->tm_seq, (unsigned)(uv_hrtime() & 0xffffffffu));
  free(host);
  tm->next = jmgr->tms;
  jmgr->tms = tm;
  flow_transport_conn_set_data(c, tm);
  jlog("TaskManager %s registered: %d slots, data at %s", tm->name, slots, tm->data_addr);
  flow_msg_t *m = flow_msg_new(FLOW_MSG_REGISTER_TE, &tm->ep, &jmgr->rm.ep);
  m->register_te.task_executor = &tm->ep;
  m->register_te.n_slots = slots;
  flow_rpc_send(&jmgr->rpc, m);
  (void)flow_transport_send(c, FLOW_PROTO_HEARTBEAT, NULL, 0); /* the acknowledgement */
}

/* An endpoint message from a taskmanager: to the ResourceManager or to the
 * JobMaster its job id names. */
static void tm_rpc(flow_jobmanager_t *jmgr, flow_jobmanager_tm_t *tm, flow_rbuf_t *r) {
  flow_proto_msg_t cm;
  if (flow_proto_read_msg(r, FLOW_PROTO_FROM_TASKMANAGER, &cm) != 0) {
    flow_transport_fail(tm->conn, "malformed endpoint message");
    return;
  }
  flow_msg_t *m = NULL;
  switch (cm.m.type) {
  case FLOW_MSG_SLOTS_FREED:
    m = flow_msg_move(&cm.m, &tm->ep, &jmgr->rm.ep);
    m->slots_freed.task_executor = &tm->ep;
    break;
  case FLOW_MSG_OFFER_SLOTS:
  case FLOW_MSG_SLOTS_UNAVAILABLE:
  case FLOW_MSG_TASK_STATE:
  case FLOW_MSG_ACK_CHECKPOINT:
  case FLOW_MSG_CANCEL_JOB: {
    flow_jobmanager_job_t *j = cm.job_id[0] ? flow_jobmanager_find_job(jmgr, cm.job_id) : NULL;
    if (j == NULL || j->done || j->d.jm == NULL) {
      if (cm.m.type == FLOW_MSG_OFFER_SLOTS && cm.job_id[0]) { /* too late: give them back */
        flow_endpoint_t key = {.id = cm.job_id};
        flow_msg_t f = {.type = FLOW_MSG_FREE_SLOTS};
        f.free_slots.job_master = &key; /* every slot of that job there */
        tm_proxy_handle(&tm->ep, &f);
      }
      break;
    }
    m = flow_msg_move(&cm.m, &tm->ep, &j->d.jm->ep);
    if (m->type == FLOW_MSG_OFFER_SLOTS) m->offer_slots.task_executor = &tm->ep;
    break;
  }
  default: flow_transport_fail(tm->conn, "unexpected endpoint message from a taskmanager"); break;
  }
  if (m != NULL) flow_rpc_send(&jmgr->rpc, m);
  flow_proto_msg_clear(&cm);
}

/* ---- client requests ---------------------------------------------------- */

static void reply_simple(flow_transport_conn_t *c, uint8_t type, uint32_t req, int ok, const char *text) {
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_wr_u32(&w, req);
  flow_wr_u8(&w, (uint8_t)ok);
  flow_wr_str(&w, text);
  send_frame(c, type, &w);
  flow_wbuf_free(&w);
}

static void client_submit(flow_jobmanager_t *jmgr, flow_transport_conn_t *c, uint32_t req, flow_rbuf_t *r) {
  flow_gateway_submission_t sub;
  const char *why = NULL;
  if (flow_gateway_read_submission(r, &sub, &why) != 0) {
    flow_transport_fail(c, why);
    return;
  }
  char id[33] = "", err[600] = "";
  int rc = flow_jobmanager_submit(jmgr, &sub, c, req, id, err, sizeof(err));
  flow_gateway_options_clear(&sub.opt);
  reply_simple(c, FLOW_GATEWAY_SUBMIT_REPLY, req, rc == 0, rc == 0 ? id : err);
}

static void client_frame(flow_jobmanager_t *jmgr, flow_transport_conn_t *c, uint8_t type, flow_rbuf_t *r) {
  uint32_t req = 0;
  if (flow_rd_u32(r, &req) != 0) {
    flow_transport_fail(c, "malformed client request");
    return;
  }
  char id[33];
  switch (type) {
  case FLOW_GATEWAY_SUBMIT: client_submit(jmgr, c, req, r); return;
  case FLOW_GATEWAY_STATUS: {
    if (flow_gateway_read_job_id(r, id) != 0) break;
    flow_jobmanager_job_t *j = flow_jobmanager_find_job(jmgr, id);
    reply_simple(c, FLOW_GATEWAY_STATUS_REPLY, req, j != NULL,
                 j ? flow_job_status_name((flow_job_status_t)atomic_load(&j->status_atomic)) : "UNKNOWN");
    return;
  }
  case FLOW_GATEWAY_LIST: {
    if (flow_rd_left(r) != 0) break;
    flow_wbuf_t w;
    flow_wbuf_init(&w);
    flow_wr_u32(&w, req);
    int n = 0;
    for (flow_jobmanager_job_t *j = jmgr->jobs; j != NULL; j = j->next) n++;
    flow_wr_i32(&w, n);
    int64_t now = flow_now_ms();
    for (flow_jobmanager_job_t *j = jmgr->jobs; j != NULL; j = j->next) {
      flow_wr_str(&w, j->id);
      flow_wr_str(&w, j->name);
      flow_wr_str(&w, flow_job_status_name((flow_job_status_t)atomic_load(&j->status_atomic)));
      flow_wr_i64(&w, j->start_ms);
      flow_wr_i64(&w, (j->done ? j->end_ms : now) - j->start_ms);
    }
    send_frame(c, FLOW_GATEWAY_LIST_REPLY, &w);
    flow_wbuf_free(&w);
    return;
  }
  case FLOW_GATEWAY_CANCEL: {
    if (flow_gateway_read_job_id(r, id) != 0 || flow_rd_left(r) != 0) break;
    char msg[128];
    int rc = flow_jobmanager_cancel(jmgr, id, msg, sizeof(msg));
    reply_simple(c, FLOW_GATEWAY_CANCEL_REPLY, req, rc == 0, msg);
    return;
  }
  case FLOW_GATEWAY_SAVEPOINT: {
    char *dir = NULL;
    uint8_t stop = 0;
    flow_gateway_read_job_id(r, id);
    flow_rd_str(r, &dir, 0);
    flow_rd_u8(r, &stop);
    if (r->err != 0 || flow_rd_left(r) != 0) {
      free(dir);
      break;
    }
    flow_jobmanager_job_t *j = flow_jobmanager_find_job(jmgr, id);
    if (j == NULL || j->done) {
      reply_simple(c, FLOW_GATEWAY_SAVEPOINT_REPLY, req, 0, j ? "the job has ended" : "no such job");
    } else if (j->savepoint_client != NULL) {
      reply_simple(c, FLOW_GATEWAY_SAVEPOINT_REPLY, req, 0, "a savepoint of this job is in progress");
    } else {
      j->savepoint_client = c;
      j->savepoint_req = req;
      flow_msg_t *m = flow_msg_new(FLOW_MSG_TRIGGER_SAVEPOINT, NULL, &j->d.ep);
      m->trigger_savepoint.dir = dir;
      m->trigger_savepoint.stop = stop;
      dir = NULL;
      flow_rpc_send(&jmgr->rpc, m);
    }
    free(dir);
    return;
  }
  default: break;
  }
  flow_transport_fail(c, "malformed client request");
}

/* A taskmanager's heartbeat: empty, or (version 1) its hardware and process */
static void tm_heartbeat(flow_jobmanager_tm_t *tm, flow_rbuf_t *r) {
  uint8_t version = 0;
  int32_t cores = 0, threads = 0;
  int64_t phys = 0, avail = 0, rss = 0;
  if (flow_rd_left(r) == 0) return;
  flow_rd_u8(r, &version);
  flow_rd_i32(r, &cores);
  flow_rd_i64(r, &phys);
  flow_rd_i64(r, &avail);
  flow_rd_i64(r, &rss);
  flow_rd_i32(r, &threads);
  if (r->err != 0 || version != 1) return; /* (a newer taskmanager's: keep what we know) */
  tm->hw_cpu_cores = cores;
  tm->hw_physical_memory = phys;
  tm->hw_free_memory = avail;
  tm->hw_rss_bytes = rss;
  tm->hw_threads = threads;
}

/* ---- connections -------------------------------------------------------- */

static void on_frame(flow_transport_conn_t *c, uint8_t type, const uint8_t *p, uint32_t len) {
  flow_jobmanager_t *jmgr = g_jobmanager;
  flow_rbuf_t r;
  flow_rbuf_init(&r, p, len);
  int role = flow_transport_peer_role(c);
  if (role == FLOW_TRANSPORT_ROLE_TASKMANAGER) {
    flow_jobmanager_tm_t *tm = flow_transport_conn_data(c);
    if (tm != NULL) tm->last_heard_ns = uv_hrtime();
    if (type == FLOW_PROTO_REGISTER) tm_register(jmgr, c, &r);
    else if (tm == NULL) flow_transport_fail(c, "a taskmanager must register first");
    else if (type == FLOW_PROTO_HEARTBEAT) tm_heartbeat(tm, &r);
    else if (type == FLOW_PROTO_RPC) tm_rpc(jmgr, tm, &r);
    else if (type == FLOW_PROTO_METRICS) tm_metrics(jmgr, tm, &r);
    else flow_transport_fail(c, "unexpected frame type from a taskmanager");
  } else if (role == FLOW_TRANSPORT_ROLE_CLIENT) {
    if (type == FLOW_GATEWAY_SUBMIT || type == FLOW_GATEWAY_STATUS || type == FLOW_GATEWAY_LIST || type == FLOW_GATEWAY_CANCEL ||
        type == FLOW_GATEWAY_SAVEPOINT)
      client_frame(jmgr, c, type, &r);
    else flow_transport_fail(c, "unexpected frame type from a client");
  } else {
    flow_transport_fail(c, "only clients and taskmanagers may connect to a jobmanager");
  }
}

static void on_close(flow_transport_conn_t *c, const char *reason) {
  flow_jobmanager_t *jmgr = g_jobmanager;
  if (jmgr == NULL) return;
  flow_jobmanager_tm_t *tm =
      flow_transport_peer_role(c) == FLOW_TRANSPORT_ROLE_TASKMANAGER ? flow_transport_conn_data(c) : NULL;
  if (tm != NULL) tm_lost(jmgr, tm, reason);
  for (flow_jobmanager_job_t *j = jmgr->jobs; j != NULL; j = j->next) {
    if (j->client == c) j->client = NULL;
    if (j->savepoint_client == c) j->savepoint_client = NULL;
  }
}

/* Pushes status changes to the clients that submitted the jobs. */
static void on_check(uv_check_t *h) {
  flow_jobmanager_t *jmgr = h->data;
  for (flow_jobmanager_job_t *j = jmgr->jobs; j != NULL; j = j->next) {
    int s = atomic_load(&j->status_atomic);
    if (s == j->status_sent || j->client == NULL) continue;
    j->status_sent = s;
    reply_simple(j->client, FLOW_GATEWAY_STATUS_REPLY, 0, 1, flow_job_status_name((flow_job_status_t)s));
  }
}

/* The counters of running jobs to their submitting clients (progress line). */
static void on_progress(uv_timer_t *h) {
  flow_jobmanager_t *jmgr = h->data;
  for (flow_jobmanager_job_t *j = jmgr->jobs; j != NULL; j = j->next) {
    if (j->done || j->client == NULL) continue;
    flow_wbuf_t w;
    flow_wbuf_init(&w);
    flow_wr_u32(&w, 0);
    flow_wr_i32(&w, j->jg->n_vertices);
    const flow_job_sampler_t *s = j->sampler;
    int idx = 0;
    for (int v = 0; v < j->jg->n_vertices; v++) { /* the vertex's sums over its subtasks' latest readings */
      int64_t sum[4] = {0, 0, 0, 0};
      for (int k = 0; k < j->jg->vertices[v].parallelism; k++, idx++) {
        if (!s->has[idx]) continue;
        const flow_task_reading_t *x = &s->cur[idx];
        sum[0] += x->records_in + x->source_records;
        sum[1] += x->records_out;
        sum[2] += x->progress_read;
        sum[3] += x->progress_total;
      }
      for (int k = 0; k < 4; k++) flow_wr_i64(&w, sum[k]);
    }
    send_frame(j->client, FLOW_GATEWAY_PROGRESS, &w);
    flow_wbuf_free(&w);
  }
}

static void on_heartbeat(uv_timer_t *h) {
  flow_jobmanager_t *jmgr = h->data;
  uint64_t now = uv_hrtime();
  for (flow_jobmanager_tm_t *tm = jmgr->tms; tm != NULL; tm = tm->next) {
    if (tm->ep.lost || tm->conn == NULL) continue;
    if (now - tm->last_heard_ns > (uint64_t)jmgr->opt.heartbeat_timeout_ms * 1000000u) {
      char why[96];
      snprintf(why, sizeof(why), "no heartbeat for %lld ms", (long long)jmgr->opt.heartbeat_timeout_ms);
      flow_transport_conn_t *c = tm->conn;
      tm_lost(jmgr, tm, why);
      flow_transport_fail(c, why);
      continue;
    }
    (void)flow_transport_send(tm->conn, FLOW_PROTO_HEARTBEAT, NULL, 0);
  }
}

static void on_signal(uv_signal_t *h, int sig) {
  flow_jobmanager_t *jmgr = h->data;
  jlog("received signal %d: shutting down", sig);
  jmgr->stopping = 1;
  int running = 0;
  for (flow_jobmanager_job_t *j = jmgr->jobs; j != NULL; j = j->next)
    if (!j->done) {
      running++;
      flow_rpc_send(&jmgr->rpc, flow_msg_new(FLOW_MSG_CANCEL_JOB, NULL, &j->d.ep));
    }
  uv_timer_start(&jmgr->stop_timer, stop_poll, running ? 50 : 0, 50);
}

static void stop_poll(uv_timer_t *h) {
  flow_jobmanager_t *jmgr = h->data;
  int running = 0;
  for (flow_jobmanager_job_t *j = jmgr->jobs; j != NULL; j = j->next) running += !j->done;
  if (running > 0 && ++jmgr->stop_polls < 200) return; /* at most 10 s */
  uv_timer_stop(h);
  uv_stop(h->loop);
}

int flow_jobmanager_run(const flow_jobmanager_options_t *o) {
  flow_jobmanager_t *jmgr = flow_xcalloc(1, sizeof(*jmgr));
  g_jobmanager = jmgr;
  jmgr->opt = *o;
  uv_loop_init(&jmgr->loop);
  flow_rpc_init(&jmgr->rpc, &jmgr->loop);
  flow_resource_manager_init(&jmgr->rm, &jmgr->rpc);
  jmgr->rm.slot_timeout_ms = o->slot_timeout_ms;
  int code = 0;
  flow_transport_opts_t no;
  memset(&no, 0, sizeof(no));
  no.role = FLOW_TRANSPORT_ROLE_JOBMANAGER;
  no.name = "jobmanager";
  /* control connections: what is queued is ours (endpoint messages, job
   * graphs with modules), never dropped; the bound only catches runaways */
  no.max_queued = (size_t)1 << 30;
  no.on_frame = on_frame;
  no.on_close = on_close;
  no.secret = o->secret;
  no.secret_len = o->secret_len;
  if (flow_transport_listen(&jmgr->loop, o->bind_host, o->bind_port, &no, &jmgr->server) != 0) {
    fprintf(stderr, "flowlua: jobmanager: cannot listen on %s:%d\n", o->bind_host ? o->bind_host : "127.0.0.1",
            o->bind_port);
    code = 1;
    goto out;
  }
  int rest_port = -1;
  if (o->rest_port >= 0) {
    if (flow_jobmanager_rest_start(jmgr, o->rest_host, o->rest_port, &rest_port) != 0) {
      fprintf(stderr, "flowlua: jobmanager: cannot serve REST on %s:%d\n",
              o->rest_host ? o->rest_host : "127.0.0.1", o->rest_port);
      code = 1;
      goto out;
    }
  }
  if (o->prom_ports != NULL) {
    int prom_port = 0;
    const char *ph = o->rest_host ? o->rest_host : "127.0.0.1";
    if (flow_jobmanager_prom_start(jmgr, ph, o->prom_ports, &prom_port) != 0) {
      fprintf(stderr, "flowlua: jobmanager: metrics.reporter.prom.port %s: no free port on %s\n", o->prom_ports, ph);
      code = 1;
      goto out;
    }
    jlog("Prometheus reporter on http://%s:%d/metrics", ph, prom_port);
  }
  jlog("listening for RPC on %s:%d%s", o->bind_host ? o->bind_host : "127.0.0.1",
       flow_transport_server_port(jmgr->server), o->secret ? " (cluster secret required)" : "");
  if (rest_port >= 0)
    jlog("REST endpoint on http://%s:%d", o->rest_host ? o->rest_host : "127.0.0.1", rest_port);
  if (o->port_file != NULL) { /* atomically: readers poll for it */
    char line[64], err[256];
    int n = snprintf(line, sizeof(line), "%d %d\n", flow_transport_server_port(jmgr->server), rest_port);
    if (flow_file_write_atomic(o->port_file, line, (size_t)n, err, sizeof(err)) != 0)
      fprintf(stderr, "flowlua: jobmanager: %s\n", err);
  }
  uv_check_init(&jmgr->loop, &jmgr->check);
  jmgr->check.data = jmgr;
  uv_check_start(&jmgr->check, on_check);
  uv_timer_init(&jmgr->loop, &jmgr->heartbeat);
  jmgr->heartbeat.data = jmgr;
  uint64_t hb = (uint64_t)(o->heartbeat_interval_ms > 0 ? o->heartbeat_interval_ms : 10000);
  uv_timer_start(&jmgr->heartbeat, on_heartbeat, hb, hb);
  uv_timer_init(&jmgr->loop, &jmgr->stop_timer);
  jmgr->stop_timer.data = jmgr;
  uv_timer_init(&jmgr->loop, &jmgr->progress);
  jmgr->progress.data = jmgr;
  uv_timer_start(&jmgr->progress, on_progress, 1000, 1000);
  uv_signal_init(&jmgr->loop, &jmgr->sigint);
  uv_signal_init(&jmgr->loop, &jmgr->sigterm);
  jmgr->sigint.data = jmgr->sigterm.data = jmgr;
  uv_signal_start(&jmgr->sigint, on_signal, SIGINT);
  uv_signal_start(&jmgr->sigterm, on_signal, SIGTERM);
  uv_run(&jmgr->loop, UV_RUN_DEFAULT);
  uv_run(&jmgr->loop, UV_RUN_NOWAIT); /* messages still queued, e.g. a retired JobMaster's free */
out:
  /* tear down: every JobMaster and connection, then the handles */
  for (flow_jobmanager_job_t *j = jmgr->jobs; j != NULL; j = j->next) {
    if (j->d.jm != NULL) {
      flow_job_master_free(j->d.jm);
      j->d.jm = NULL;
    }
  }
  g_jobmanager = NULL;
  if (jmgr->server != NULL) flow_transport_server_close(jmgr->server);
  flow_jobmanager_rest_stop(jmgr);
  flow_resource_manager_destroy(&jmgr->rm);
  flow_rpc_close(&jmgr->rpc);
  if (jmgr->check.loop != NULL) {
    uv_close((uv_handle_t *)&jmgr->check, NULL);
    uv_close((uv_handle_t *)&jmgr->heartbeat, NULL);
    uv_close((uv_handle_t *)&jmgr->stop_timer, NULL);
    uv_close((uv_handle_t *)&jmgr->progress, NULL);
    uv_close((uv_handle_t *)&jmgr->sigint, NULL);
    uv_close((uv_handle_t *)&jmgr->sigterm, NULL);
  }
  uv_run(&jmgr->loop, UV_RUN_DEFAULT);
  uv_loop_close(&jmgr->loop);
  uv_mutex_destroy(&jmgr->rpc.mu);
  while (jmgr->jobs != NULL) {
    flow_jobmanager_job_t *j = jmgr->jobs;
    jmgr->jobs = j->next;
    job_free(j);
  }
  while (jmgr->tms != NULL) {
    flow_jobmanager_tm_t *tm = jmgr->tms;
    jmgr->tms = tm->next;
    free(tm->jobs_sent);
    free(tm);
  }
  free(jmgr);
  return code;
}
