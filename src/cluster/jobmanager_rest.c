/* The jobmanager's REST endpoint (Flink's WebMonitorEndpoint, REST API v1
 * shapes): JSON built with cJSON, HTTP by net/http_server.c.
 *
 *   GET   /config              the dashboard's configuration (Flink's DashboardConfiguration)
 *   GET   /jobmanager/config   [{"key","value"}]: the jobmanager's settings, Flink's keys
 *   GET   /jobmanager/metrics[?get=a,b]  cluster metrics, the same shapes
 *   GET   /overview            cluster overview
 *   GET   /jobs                {"jobs":[{"id","status"}]}
 *   GET   /jobs/overview       {"jobs":[{"jid","name","state","start-time",...}]}
 *   GET   /jobs/:jobid         one job with its vertices, its plan (and the failure cause)
 *   GET   /jobs/:jobid/plan    {"plan":{"jid","name","type","nodes":[...]}} (Flink's JobPlanInfo)
 *   GET   /jobs/:jobid/vertices/:vid  the vertex and its subtasks (Flink's JobVertexDetailsInfo)
 *   GET   /jobs/:jobid/metrics[?get=a,b]  job metrics, Flink's names: [{"id"}] or [{"id","value"}]
 *   GET   /jobs/:jobid/exceptions  the root cause with its Lua traceback (Flink's JobExceptionsInfoWithHistory)
 *   GET   /jobs/:jobid/config  {"jid","name","execution-config":{...}} (Flink's JobConfigInfo)
 *   GET   /taskmanagers        {"taskmanagers":[{"id","path","slotsNumber","freeSlots",...}]}
 *   PATCH /jobs/:jobid?mode=cancel   202 {} (Flink's job cancellation)
 *   POST  /jobs                submission: the body is a FLOW_GATEWAY_SUBMIT payload
 *                              without its request id (docs/wire.md); 202 {"jobid"}
 *
 * Job ids are 32 hex digits, as Flink's: one that does not parse gets 400,
 * an unknown one 404 (both with Flink's {"errors":[...]}).
 *
 * With a cluster secret every non-GET request must be signed (the HTTP layer
 * checks it: docs/rest.md); without one the endpoint binds to loopback only. */
#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/http_server.h"
#include "cluster/jobmanager_internal.h"
#include "util/common.h"
#include "util/clock.h"

#define REST_MAX_BODY (64u << 20)

static void respond_json(flow_http_response_t *res, int status, cJSON *j) {
  char *s = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  res->status = status;
  res->content_type = "application/json";
  res->body = s != NULL ? s : flow_strdup("{}");
  res->body_len = strlen(res->body);
}

static void respond_error(flow_http_response_t *res, int status, const char *msg) {
  cJSON *j = cJSON_CreateObject();
  cJSON *errs = cJSON_AddArrayToObject(j, "errors");
  cJSON_AddItemToArray(errs, cJSON_CreateString(msg));
  respond_json(res, status, j);
}

/* A metric list as Flink's REST answers it: without `get`, the ids
 * [{"id"}]; with get=a,b, [{"id","value"}] for the known ones among them
 * (values as strings, as Flink's). */
typedef struct metric {
  const char *id;
  double value;
} metric_t;

static cJSON *metric_list(const metric_t *ms, int n, const char *query) {
  cJSON *a = cJSON_CreateArray();
  const char *get = NULL;
  if (strncmp(query, "get=", 4) == 0) get = query + 4;
  else if ((get = strstr(query, "&get=")) != NULL) get += 5;
  for (int i = 0; i < n; i++) {
    if (get != NULL) { /* is ms[i].id one of the comma-separated names? */
      size_t len = strlen(ms[i].id);
      const char *p = get;
      int found = 0;
      while (*p != '\0' && *p != '&') {
        size_t k = strcspn(p, ",&");
        if (k == len && strncmp(p, ms[i].id, len) == 0) found = 1;
        p += k;
        if (*p == ',') p++;
      }
      if (!found) continue;
    }
    cJSON *x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "id", ms[i].id);
    if (get != NULL) {
      char v[32];
      snprintf(v, sizeof(v), "%.0f", ms[i].value);
      cJSON_AddStringToObject(x, "value", v);
    }
    cJSON_AddItemToArray(a, x);
  }
  return a;
}

static int job_status(const flow_jobmanager_job_t *j) {
  return atomic_load(&((flow_jobmanager_job_t *)j)->status_atomic);
}

static int free_slots_of(flow_jobmanager_t *jmgr, flow_jobmanager_tm_t *tm) {
  for (int i = 0; i < jmgr->rm.n_tes; i++)
    if (jmgr->rm.tes[i] == &tm->ep) return jmgr->rm.te_slots[i];
  return 0;
}

static cJSON *task_counts(const flow_jobmanager_job_t *j, int vertex_index) {
  static const char *const names[] = {"CREATED", "SCHEDULED", "DEPLOYING", "INITIALIZING", "RUNNING",
                                      "FINISHED", "CANCELING", "CANCELED", "FAILED"};
  int counts[FLOW_EXEC__COUNT] = {0};
  const flow_job_master_t *m = j->d.jm;
  if (m != NULL && m->eg != NULL) {
    for (int v = 0; v < m->eg->n_ejv; v++) {
      if (vertex_index >= 0 && v != vertex_index) continue;
      for (int s = 0; s < m->eg->ejv[v].parallelism; s++) counts[m->eg->ejv[v].subtasks[s].current.state]++;
    }
  } else if (j->archive != NULL) { /* a finished job: its subtasks' last states */
    int i = 0;
    for (int v = 0; v < j->jg->n_vertices; v++) {
      for (int s = 0; s < j->jg->vertices[v].parallelism && i < j->n_archived; s++, i++)
        if (vertex_index < 0 || v == vertex_index) counts[j->archive[i].state]++;
    }
  }
  cJSON *o = cJSON_CreateObject();
  int total = 0;
  for (int i = 0; i < FLOW_EXEC__COUNT; i++) {
    const char *n = flow_execution_state_name((flow_execution_state_t)i);
    (void)names;
    cJSON_AddNumberToObject(o, n, counts[i]);
    total += counts[i];
  }
  (void)total;
  return o;
}

static void add_times(cJSON *o, const flow_jobmanager_job_t *j) {
  int64_t now = flow_now_ms();
  cJSON_AddNumberToObject(o, "start-time", (double)j->start_ms);
  cJSON_AddNumberToObject(o, "end-time", j->done ? (double)j->end_ms : -1);
  cJSON_AddNumberToObject(o, "duration", (double)((j->done ? j->end_ms : now) - j->start_ms));
  cJSON_AddNumberToObject(o, "last-modification", (double)(j->done ? j->end_ms : now));
}

/* A job vertex id ("1", "2", ...) as the string REST shows it. */
static void add_vertex_id(cJSON *o, const char *key, int id) {
  char s[16];
  snprintf(s, sizeof(s), "%d", id);
  cJSON_AddStringToObject(o, key, s);
}

/* The cluster's counts, for /overview and /jobmanager/metrics. */
typedef struct cluster_counts {
  int tms, slots_total, slots_available, running, finished, canceled, failed;
} cluster_counts_t;

static cluster_counts_t cluster_counts(flow_jobmanager_t *jmgr) {
  cluster_counts_t c = {0};
  for (flow_jobmanager_tm_t *tm = jmgr->tms; tm != NULL; tm = tm->next) {
    if (tm->ep.lost) continue;
    c.tms++;
    c.slots_total += tm->slots;
    c.slots_available += free_slots_of(jmgr, tm);
  }
  for (flow_jobmanager_job_t *j = jmgr->jobs; j != NULL; j = j->next) {
    int s = job_status(j);
    if (!j->done) c.running++;
    else if (s == FLOW_JOB_FINISHED) c.finished++;
    else if (s == FLOW_JOB_CANCELED) c.canceled++;
    else c.failed++;
  }
  return c;
}

static cJSON *overview(flow_jobmanager_t *jmgr) {
  cluster_counts_t c = cluster_counts(jmgr);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "taskmanagers", c.tms);
  cJSON_AddNumberToObject(o, "slots-total", c.slots_total);
  cJSON_AddNumberToObject(o, "slots-available", c.slots_available);
  cJSON_AddNumberToObject(o, "jobs-running", c.running);
  cJSON_AddNumberToObject(o, "jobs-finished", c.finished);
  cJSON_AddNumberToObject(o, "jobs-cancelled", c.canceled);
  cJSON_AddNumberToObject(o, "jobs-failed", c.failed);
  cJSON_AddStringToObject(o, "flink-version", "flowlua " FLOWLUA_VERSION);
  cJSON_AddStringToObject(o, "flink-commit", "");
  return o;
}

/* Flink's cluster metrics of the jobmanager */
static cJSON *jobmanager_metrics(flow_jobmanager_t *jmgr, const char *query) {
  cluster_counts_t c = cluster_counts(jmgr);
  const metric_t ms[] = {
      {"numRegisteredTaskManagers", c.tms},
      {"numRunningJobs", c.running},
      {"taskSlotsAvailable", c.slots_available},
      {"taskSlotsTotal", c.slots_total},
  };
  return metric_list(ms, (int)(sizeof(ms) / sizeof(ms[0])), query);
}

static cJSON *job_overview(const flow_jobmanager_job_t *j) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "jid", j->id);
  cJSON_AddStringToObject(o, "name", j->name);
  cJSON_AddStringToObject(o, "state", flow_job_status_name((flow_job_status_t)job_status(j)));
  add_times(o, j);
  cJSON *tasks = task_counts(j, -1);
  int total = 0;
  for (int v = 0; v < j->jg->n_vertices; v++) total += j->jg->vertices[v].parallelism;
  cJSON_AddNumberToObject(tasks, "total", total);
  cJSON_AddItemToObject(o, "tasks", tasks);
  return o;
}

/* Flink's JobPlanInfo.plan: a node per job vertex, with its inputs (the
 * source vertex, the ship strategy in Flink's upper-case names). */
static cJSON *job_plan(const flow_jobmanager_job_t *j) {
  cJSON *plan = cJSON_CreateObject();
  cJSON_AddStringToObject(plan, "jid", j->id);
  cJSON_AddStringToObject(plan, "name", j->name);
  cJSON_AddStringToObject(plan, "type", j->jg->sg->mode == FLOW_MODE_BATCH ? "BATCH" : "STREAMING");
  cJSON *nodes = cJSON_AddArrayToObject(plan, "nodes");
  for (int v = 0; v < j->jg->n_vertices; v++) {
    const flow_job_vertex_t *jv = &j->jg->vertices[v];
    cJSON *n = cJSON_CreateObject();
    add_vertex_id(n, "id", jv->id);
    cJSON_AddNumberToObject(n, "parallelism", jv->parallelism);
    cJSON_AddStringToObject(n, "operator", "");
    cJSON_AddStringToObject(n, "operator_strategy", "");
    cJSON_AddStringToObject(n, "description", jv->name);
    cJSON *inputs = cJSON_CreateArray();
    int num = 0;
    for (int e = 0; e < j->jg->n_edges; e++) {
      const flow_job_edge_t *je = &j->jg->edges[e];
      if (je->target != jv->id) continue;
      cJSON *in = cJSON_CreateObject();
      char strategy[32];
      const char *pn = flow_partitioner_name(je->part);
      size_t k = 0;
      for (; pn[k] != '\0' && k + 1 < sizeof(strategy); k++)
        strategy[k] = (char)(pn[k] >= 'a' && pn[k] <= 'z' ? pn[k] - 32 : pn[k]);
      strategy[k] = '\0';
      cJSON_AddNumberToObject(in, "num", num++);
      add_vertex_id(in, "id", je->source);
      cJSON_AddStringToObject(in, "ship_strategy", strategy);
      cJSON_AddStringToObject(in, "exchange", "pipelined_bounded");
      cJSON_AddItemToArray(inputs, in);
    }
    if (num > 0) cJSON_AddItemToObject(n, "inputs", inputs);
    else cJSON_Delete(inputs);
    cJSON_AddItemToObject(n, "optimizer_properties", cJSON_CreateObject());
    cJSON_AddItemToArray(nodes, n);
  }
  return plan;
}

/* The job's failure: its root cause (first line: the exception's "name")
 * with the Lua traceback, once it failed or while it restarts. */
static const char *job_failure(const flow_jobmanager_job_t *j) {
  if (j->done) return j->result.failure;
  return j->d.jm != NULL ? j->d.jm->failure : NULL;
}

/* Flink's JobExceptionsInfoWithHistory: the root exception and a history of
 * one entry (flowlua keeps the latest failure only). */
static cJSON *job_exceptions(const flow_jobmanager_job_t *j) {
  const char *f = job_failure(j);
  cJSON *o = cJSON_CreateObject();
  cJSON *h = cJSON_CreateObject();
  cJSON *entries = cJSON_AddArrayToObject(h, "entries");
  cJSON_AddBoolToObject(h, "truncated", 0);
  if (f == NULL) {
    cJSON_AddNullToObject(o, "root-exception");
    cJSON_AddNullToObject(o, "timestamp");
  } else {
    double ts = (double)(j->done ? j->end_ms : flow_now_ms());
    cJSON_AddStringToObject(o, "root-exception", f);
    cJSON_AddNumberToObject(o, "timestamp", ts);
    cJSON *e = cJSON_CreateObject();
    size_t n = strcspn(f, "\n");
    char *name = malloc(n + 1);
    if (name != NULL) {
      memcpy(name, f, n);
      name[n] = '\0';
      cJSON_AddStringToObject(e, "exceptionName", name);
      free(name);
    }
    cJSON_AddStringToObject(e, "stacktrace", f);
    cJSON_AddNumberToObject(e, "timestamp", ts);
    cJSON_AddNullToObject(e, "taskName");
    cJSON_AddNullToObject(e, "location");
    cJSON_AddItemToObject(e, "concurrentExceptions", cJSON_CreateArray());
    cJSON_AddItemToArray(entries, e);
  }
  cJSON_AddItemToObject(o, "all-exceptions", cJSON_CreateArray());
  cJSON_AddBoolToObject(o, "truncated", 0);
  cJSON_AddItemToObject(o, "exceptionHistory", h);
  return o;
}

/* Flink's JobConfigInfo: the job's execution settings. */
static cJSON *job_config(const flow_jobmanager_job_t *j) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "jid", j->id);
  cJSON_AddStringToObject(o, "name", j->name);
  cJSON *ec = cJSON_AddObjectToObject(o, "execution-config");
  cJSON_AddStringToObject(ec, "execution-mode", j->jg->sg->mode == FLOW_MODE_BATCH ? "BATCH" : "PIPELINED");
  const flow_restart_strategy_t *r = &j->d.restart;
  char rs[160];
  switch (r->kind) {
  case FLOW_RESTART_FIXED_DELAY:
    snprintf(rs, sizeof(rs), "Restart with fixed delay (%lld ms). #%lld restart attempts.", (long long)r->delay_ms,
             (long long)r->attempts);
    break;
  case FLOW_RESTART_FAILURE_RATE:
    snprintf(rs, sizeof(rs), "Failure rate restart with maximum of %lld failures within interval %lld ms and fixed delay %lld ms.",
             (long long)r->max_failures, (long long)r->interval_ms, (long long)r->delay_ms);
    break;
  default:
    snprintf(rs, sizeof(rs), "%s", flow_restart_kind_name(r->kind));
    break;
  }
  cJSON_AddStringToObject(ec, "restart-strategy", rs);
  int p = 1;
  for (int v = 0; v < j->jg->n_vertices; v++)
    if (j->jg->vertices[v].parallelism > p) p = j->jg->vertices[v].parallelism;
  cJSON_AddNumberToObject(ec, "job-parallelism", p);
  cJSON_AddBoolToObject(ec, "object-reuse-mode", 0);
  cJSON *uc = cJSON_AddObjectToObject(ec, "user-config");
  cJSON_AddNumberToObject(uc, "execution.buffer-timeout", (double)j->d.buffer_timeout_ms);
  cJSON_AddNumberToObject(uc, "execution.checkpointing.interval", (double)j->d.checkpoint.interval_ms);
  return o;
}

/* Flink's JobVertexDetailsInfo: the vertex (index v) and each subtask's
 * state, attempt and taskmanager (live while the job runs, archived after). */
static cJSON *vertex_details(const flow_jobmanager_job_t *j, int v) {
  const flow_job_vertex_t *jv = &j->jg->vertices[v];
  cJSON *o = cJSON_CreateObject();
  add_vertex_id(o, "id", jv->id);
  cJSON_AddStringToObject(o, "name", jv->name);
  cJSON_AddNumberToObject(o, "parallelism", jv->parallelism);
  cJSON_AddNumberToObject(o, "maxParallelism", jv->max_parallelism);
  cJSON_AddNumberToObject(o, "now", (double)flow_now_ms());
  cJSON *subs = cJSON_AddArrayToObject(o, "subtasks");
  int first = 0; /* vertex-major index of its subtask 0 */
  for (int k = 0; k < v; k++) first += j->jg->vertices[k].parallelism;
  const flow_job_master_t *m = j->d.jm;
  for (int s = 0; s < jv->parallelism; s++) {
    int state = -1, attempt = 0;
    const char *host = "";
    if (m != NULL && m->eg != NULL && v < m->eg->n_ejv) {
      const flow_execution_t *e = &m->eg->ejv[v].subtasks[s].current;
      state = (int)e->state;
      attempt = e->attempt;
      const flow_endpoint_t *te = m->exec_te != NULL ? m->exec_te[first + s] : NULL;
      if (te != NULL) host = ((const flow_jobmanager_tm_t *)te)->name;
    } else if (j->archive != NULL && first + s < j->n_archived) {
      state = j->archive[first + s].state;
      attempt = j->archive[first + s].attempt;
      host = j->archive[first + s].host;
    }
    cJSON *x = cJSON_CreateObject();
    cJSON_AddNumberToObject(x, "subtask", s);
    cJSON_AddStringToObject(x, "status", state >= 0 ? flow_execution_state_name((flow_execution_state_t)state)
                                                    : "CREATED");
    cJSON_AddNumberToObject(x, "attempt", attempt);
    cJSON_AddStringToObject(x, "host", host);
    cJSON_AddItemToArray(subs, x);
  }
  return o;
}

/* Flink's job metrics: restarts and checkpoint counters (live from the
 * JobMaster, archived once the job ended). lastCheckpointSize is not
 * there: flowlua does not measure state sizes yet. */
static cJSON *job_metrics(const flow_jobmanager_job_t *j, const char *query) {
  const flow_job_master_t *m = j->d.jm;
  double restarts = j->done ? j->result.restarts : m != NULL ? m->restarts : 0;
  double completed = m != NULL ? (double)m->cc.completed : (double)j->ck_completed;
  double failed = m != NULL ? (double)m->cc.aborted : (double)j->ck_failed;
  double in_progress = m != NULL && m->cc.pending_id != 0 ? 1 : 0;
  double latest = m != NULL ? (double)m->cc.latest_id : (double)j->ck_latest_id;
  double duration = m != NULL ? (double)m->cc.last_duration_ms : (double)j->ck_last_duration_ms;
  const metric_t ms[] = {
      {"numRestarts", restarts},
      {"numberOfCompletedCheckpoints", completed},
      {"numberOfFailedCheckpoints", failed},
      {"numberOfInProgressCheckpoints", in_progress},
      {"lastCompletedCheckpointId", latest > 0 ? latest : -1},
      {"lastCheckpointDuration", duration},
  };
  return metric_list(ms, (int)(sizeof(ms) / sizeof(ms[0])), query);
}

static cJSON *job_details(const flow_jobmanager_job_t *j) {
  cJSON *o = job_overview(j);
  cJSON_DeleteItemFromObject(o, "tasks");
  cJSON_AddBoolToObject(o, "isStoppable", 0);
  cJSON_AddNumberToObject(o, "now", (double)flow_now_ms());
  cJSON_AddNumberToObject(o, "maxParallelism", j->jg->sg->max_parallelism);
  cJSON *vs = cJSON_AddArrayToObject(o, "vertices");
  for (int v = 0; v < j->jg->n_vertices; v++) {
    const flow_job_vertex_t *jv = &j->jg->vertices[v];
    cJSON *x = cJSON_CreateObject();
    add_vertex_id(x, "id", jv->id);
    cJSON_AddStringToObject(x, "name", jv->name);
    cJSON_AddNumberToObject(x, "parallelism", jv->parallelism);
    cJSON_AddNumberToObject(x, "maxParallelism", jv->max_parallelism);
    cJSON_AddStringToObject(x, "slotSharingGroup", jv->slot_sharing_group);
    cJSON_AddItemToObject(x, "tasks", task_counts(j, v));
    cJSON *mx = cJSON_AddObjectToObject(x, "metrics"); /* Flink's IOMetricsInfo names */
    cJSON_AddNumberToObject(mx, "read-records", (double)flow_jobmanager_metric(j, v, 0));
    cJSON_AddNumberToObject(mx, "write-records", (double)flow_jobmanager_metric(j, v, 1));
    cJSON_AddNumberToObject(mx, "read-bytes", (double)flow_jobmanager_metric(j, v, 2));
    cJSON_AddNumberToObject(mx, "total-bytes", (double)flow_jobmanager_metric(j, v, 3));
    cJSON_AddItemToArray(vs, x);
  }
  cJSON_AddItemToObject(o, "plan", job_plan(j));
  if (j->done) {
    cJSON_AddNumberToObject(o, "restarts", j->result.restarts);
    if (j->result.failure != NULL) cJSON_AddStringToObject(o, "failure-cause", j->result.failure);
  } else if (j->d.jm != NULL) {
    cJSON_AddNumberToObject(o, "restarts", j->d.jm->restarts);
    cJSON_AddNumberToObject(o, "completed-checkpoints", (double)j->d.jm->cc.completed);
  }
  return o;
}

static cJSON *taskmanagers(flow_jobmanager_t *jmgr) {
  cJSON *o = cJSON_CreateObject();
  cJSON *a = cJSON_AddArrayToObject(o, "taskmanagers");
  uint64_t now = uv_hrtime();
  for (flow_jobmanager_tm_t *tm = jmgr->tms; tm != NULL; tm = tm->next) {
    if (tm->ep.lost) continue;
    cJSON *x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "id", tm->name);
    cJSON_AddStringToObject(x, "path", tm->conn ? flow_transport_peer(tm->conn) : "");
    cJSON_AddStringToObject(x, "dataAddress", tm->data_addr);
    const char *colon = strrchr(tm->data_addr, ':');
    cJSON_AddNumberToObject(x, "dataPort", colon ? atoi(colon + 1) : 0);
    cJSON_AddNumberToObject(x, "timeSinceLastHeartbeat", (double)((now - tm->last_heard_ns) / 1000000u));
    cJSON_AddNumberToObject(x, "slotsNumber", tm->slots);
    cJSON_AddNumberToObject(x, "freeSlots", free_slots_of(jmgr, tm));
    cJSON_AddNumberToObject(x, "registered", (double)tm->registered_ms);
    cJSON_AddItemToArray(a, x);
  }
  return o;
}

static void submit(flow_jobmanager_t *jmgr, const flow_http_request_t *req, flow_http_response_t *res) {
  if (jmgr->opt.secret != NULL && !req->authenticated) { /* the HTTP layer refuses this already */
    respond_error(res, 401, "authentication required: sign the request with the cluster secret");
    return;
  }
  flow_rbuf_t r;
  flow_rbuf_init(&r, req->body, req->body_len);
  flow_gateway_submission_t sub;
  const char *why = NULL;
  if (flow_gateway_read_submission(&r, &sub, &why) != 0) {
    respond_error(res, 400, why);
    return;
  }
  char id[33], err[600];
  int rc = flow_jobmanager_submit(jmgr, &sub, NULL, 0, id, err, sizeof(err));
  flow_gateway_options_clear(&sub.opt);
  if (rc != 0) {
    respond_error(res, 400, err);
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "jobid", id);
  respond_json(res, 202, o);
}

#define REFRESH_INTERVAL_MS 3000 /* Flink's web.refresh-interval default */

/* GET /config: Flink's DashboardConfiguration. The version fields name
 * flowlua's; features: jobs are submitted (POST /jobs) and canceled here,
 * not rescaled, and there is no history server. */
static cJSON *dashboard_config(void) {
  time_t now = time(NULL);
  struct tm local;
  localtime_r(&now, &local);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "refresh-interval", REFRESH_INTERVAL_MS);
  cJSON_AddStringToObject(o, "timezone-name", local.tm_zone != NULL ? local.tm_zone : "UTC");
  cJSON_AddNumberToObject(o, "timezone-offset", (double)local.tm_gmtoff * 1000.0);
  cJSON_AddStringToObject(o, "flink-version", "flowlua " FLOWLUA_VERSION);
  cJSON_AddStringToObject(o, "flink-revision", "flowlua " FLOWLUA_VERSION);
  cJSON *f = cJSON_AddObjectToObject(o, "features");
  cJSON_AddBoolToObject(f, "web-submit", 1);
  cJSON_AddBoolToObject(f, "web-cancel", 1);
  cJSON_AddBoolToObject(f, "web-rescale", 0);
  cJSON_AddBoolToObject(f, "web-history", 0);
  return o;
}

static void add_key_value(cJSON *a, const char *key, const char *value) {
  cJSON *kv = cJSON_CreateObject();
  cJSON_AddStringToObject(kv, "key", key);
  cJSON_AddStringToObject(kv, "value", value);
  cJSON_AddItemToArray(a, kv);
}

/* GET /jobmanager/config: the jobmanager's settings under Flink's keys
 * (the secret is never shown, only whether there is one). */
static cJSON *jobmanager_config(const flow_jobmanager_t *jmgr) {
  const flow_jobmanager_options_t *o = &jmgr->opt;
  cJSON *a = cJSON_CreateArray();
  char v[64];
  add_key_value(a, "jobmanager.rpc.address", o->bind_host != NULL ? o->bind_host : "127.0.0.1");
  snprintf(v, sizeof(v), "%d", flow_transport_server_port(jmgr->server));
  add_key_value(a, "jobmanager.rpc.port", v);
  add_key_value(a, "rest.address", o->rest_host != NULL ? o->rest_host : "127.0.0.1");
  snprintf(v, sizeof(v), "%d", flow_http_server_port(jmgr->rest));
  add_key_value(a, "rest.port", v);
  snprintf(v, sizeof(v), "%lld", (long long)o->heartbeat_interval_ms);
  add_key_value(a, "heartbeat.interval", v);
  snprintf(v, sizeof(v), "%lld", (long long)o->heartbeat_timeout_ms);
  add_key_value(a, "heartbeat.timeout", v);
  snprintf(v, sizeof(v), "%lld", (long long)o->slot_timeout_ms);
  add_key_value(a, "slot.request.timeout", v);
  add_key_value(a, "security.authentication", o->secret != NULL ? "shared secret" : "none (loopback only)");
  return a;
}

/* a job id as Flink's: 32 hex digits */
static int parses_as_job_id(const char *id) {
  size_t n = 0;
  for (; id[n] != '\0'; n++) {
    char c = id[n];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return 0;
  }
  return n == 32;
}

static void handle(void *ud, const flow_http_request_t *req, flow_http_response_t *res) {
  flow_jobmanager_t *jmgr = ud;
  const char *p = req->path;
  int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
  if (strncmp(p, "/v1/", 4) == 0) p += 3; /* Flink serves /v1/... too */
  if (get && strcmp(p, "/config") == 0) return respond_json(res, 200, dashboard_config());
  if (get && strcmp(p, "/jobmanager/config") == 0) return respond_json(res, 200, jobmanager_config(jmgr));
  if (get && strcmp(p, "/jobmanager/metrics") == 0) return respond_json(res, 200, jobmanager_metrics(jmgr, req->query));
  if (get && strcmp(p, "/overview") == 0) return respond_json(res, 200, overview(jmgr));
  if (get && strcmp(p, "/taskmanagers") == 0) return respond_json(res, 200, taskmanagers(jmgr));
  if (get && strcmp(p, "/jobs/overview") == 0) {
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "jobs");
    for (flow_jobmanager_job_t *j = jmgr->jobs; j != NULL; j = j->next) cJSON_AddItemToArray(a, job_overview(j));
    return respond_json(res, 200, o);
  }
  if (strcmp(p, "/jobs") == 0 || strcmp(p, "/jobs/") == 0) {
    if (strcmp(req->method, "POST") == 0) return submit(jmgr, req, res);
    if (!get) return respond_error(res, 405, "method not allowed");
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "jobs");
    for (flow_jobmanager_job_t *j = jmgr->jobs; j != NULL; j = j->next) {
      cJSON *x = cJSON_CreateObject();
      cJSON_AddStringToObject(x, "id", j->id);
      cJSON_AddStringToObject(x, "status", flow_job_status_name((flow_job_status_t)job_status(j)));
      cJSON_AddItemToArray(a, x);
    }
    return respond_json(res, 200, o);
  }
  if (strncmp(p, "/jobs/", 6) == 0) {
    char id[64];
    const char *slash = strchr(p + 6, '/');
    size_t n = slash != NULL ? (size_t)(slash - (p + 6)) : strlen(p + 6);
    if (n >= sizeof(id)) n = sizeof(id) - 1;
    memcpy(id, p + 6, n);
    id[n] = '\0';
    if (!parses_as_job_id(id)) return respond_error(res, 400, "the job id must be 32 hex digits");
    flow_jobmanager_job_t *j = flow_jobmanager_find_job(jmgr, id);
    if (j == NULL) return respond_error(res, 404, "no such job");
    if (slash != NULL && slash[1] != '\0') {
      if (get && strcmp(slash, "/plan") == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "plan", job_plan(j));
        return respond_json(res, 200, o);
      }
      if (get && strcmp(slash, "/exceptions") == 0) return respond_json(res, 200, job_exceptions(j));
      if (get && strncmp(slash, "/vertices/", 10) == 0) {
        const char *vid = slash + 10;
        char *end = NULL;
        long n = strtol(vid, &end, 10);
        if (vid[0] < '0' || vid[0] > '9' || end == NULL || *end != '\0')
          return respond_error(res, 400, "the vertex id must be a number");
        if (n < 1 || n > j->jg->n_vertices) return respond_error(res, 404, "no such vertex");
        return respond_json(res, 200, vertex_details(j, (int)n - 1));
      }
      if (get && strcmp(slash, "/config") == 0) return respond_json(res, 200, job_config(j));
      if (get && strcmp(slash, "/metrics") == 0) return respond_json(res, 200, job_metrics(j, req->query));
      return respond_error(res, 404, "not found");
    }
    if (get) return respond_json(res, 200, job_details(j));
    if (strcmp(req->method, "PATCH") == 0) {
      if (strcmp(req->query, "mode=cancel") != 0 && req->query[0] != '\0')
        return respond_error(res, 400, "only mode=cancel is supported");
      char msg[128];
      int rc = flow_jobmanager_cancel(jmgr, id, msg, sizeof(msg));
      if (rc != 0 && rc != FLOW_ESTATE) return respond_error(res, 404, msg);
      return respond_json(res, 202, cJSON_CreateObject());
    }
    return respond_error(res, 405, "method not allowed");
  }
  respond_error(res, 404, "not found");
}

int flow_jobmanager_rest_start(flow_jobmanager_t *jmgr, const char *host, int port, int *bound_port) {
  flow_http_opts_t ho;
  memset(&ho, 0, sizeof(ho));
  ho.max_body_bytes = REST_MAX_BODY;
  ho.secret = jmgr->opt.secret;
  ho.secret_len = jmgr->opt.secret_len;
  ho.handler = handle;
  ho.data = jmgr;
  int rc = flow_http_listen(&jmgr->loop, host, port, &ho, &jmgr->rest);
  if (rc != 0) return rc;
  *bound_port = flow_http_server_port(jmgr->rest);
  return 0;
}

void flow_jobmanager_rest_stop(flow_jobmanager_t *jmgr) {
  if (jmgr->rest != NULL) flow_http_server_close(jmgr->rest);
  jmgr->rest = NULL;
}
