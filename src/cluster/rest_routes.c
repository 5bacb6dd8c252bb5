#include "cluster/rest_routes.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster/web_assets.h"
#include "graph/execution_graph.h"
#include "util/clock.h"
#include "util/common.h"

#define REFRESH_INTERVAL_MS 3000 /* Flink's web.refresh-interval default */

static void respond_json(flow_http_response_t *res, int status, cJSON *j);

void flow_rest_json(flow_http_response_t *res, int status, void *j) { respond_json(res, status, j); }

void flow_rest_config_add(void *arr, const char *key, const char *value) {
  cJSON *kv = cJSON_CreateObject();
  cJSON_AddStringToObject(kv, "key", key);
  cJSON_AddStringToObject(kv, "value", value);
  cJSON_AddItemToArray(arr, kv);
}

static void respond_json(flow_http_response_t *res, int status, cJSON *j) {
  char *s = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  res->status = status;
  res->content_type = "application/json";
  res->body = s != NULL ? s : flow_strdup("{}");
  res->body_len = strlen(res->body);
}

void flow_rest_error(flow_http_response_t *res, int status, const char *msg) {
  cJSON *j = cJSON_CreateObject();
  cJSON *errs = cJSON_AddArrayToObject(j, "errors");
  cJSON_AddItemToArray(errs, cJSON_CreateString(msg));
  respond_json(res, status, j);
}

/* ---- metric lists ([{"id"}] or, with get=a,b, [{"id","value"}]) -------------- */

/* the value of get= in query, or NULL */
static const char *get_param(const char *query) {
  if (strncmp(query, "get=", 4) == 0) return query + 4;
  const char *g = strstr(query, "&get=");
  return g != NULL ? g + 5 : NULL;
}

/* is id one of get's comma-separated names? */
static int wanted(const char *get, const char *id) {
  size_t len = strlen(id);
  const char *p = get;
  while (*p != '\0' && *p != '&') {
    size_t k = strcspn(p, ",&");
    if (k == len && strncmp(p, id, len) == 0) return 1;
    p += k;
    if (*p == ',') p++;
  }
  return 0;
}

static void fmt_value(char *out, size_t cap, double v) {
  if (v == floor(v) && fabs(v) < 1e19) snprintf(out, cap, "%.0f", v); /* (watermarks reach ±2^63) */
  else snprintf(out, cap, "%.3f", v);
}

typedef struct mlist {
  cJSON *a;
  const char *get;
  const char *prefix; /* "0." or "" */
} mlist_t;

static void mlist_add(mlist_t *l, const char *id, double value) {
  char full[256];
  snprintf(full, sizeof(full), "%s%s", l->prefix, id);
  if (l->get != NULL && !wanted(l->get, full)) return;
  cJSON *x = cJSON_CreateObject();
  cJSON_AddStringToObject(x, "id", full);
  if (l->get != NULL) {
    char v[40];
    fmt_value(v, sizeof(v), value);
    cJSON_AddStringToObject(x, "value", v);
  }
  cJSON_AddItemToArray(l->a, x);
}

/* ---- the metrics of a subtask ---------------------------------------------- */

void flow_rest_operator_scope(const char *name, char *out, size_t cap) {
  size_t k = 0;
  for (; name[k] != '\0' && k < 80 && k + 1 < cap; k++) {
    char c = name[k];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    out[k] = ok ? c : '_';
  }
  out[k] = '\0';
}

void flow_rest_subtask_metrics(const flow_job_view_t *v, int idx, flow_rest_metric_fn fn, void *ud) {
  const flow_view_subtask_t *st = &v->subtasks[idx];
  const flow_task_reading_t *m = &st->m;
  const flow_task_rates_t *r = &st->rates;
  fn(ud, -1, "numRecordsIn", (double)m->records_in);
  fn(ud, -1, "numRecordsOut", (double)m->records_out);
  fn(ud, -1, "numBytesIn", (double)m->bytes_in);
  fn(ud, -1, "numBytesOut", (double)m->bytes_out);
  fn(ud, -1, "numRecordsInPerSecond", r->records_in);
  fn(ud, -1, "numRecordsOutPerSecond", r->records_out);
  fn(ud, -1, "numBytesInPerSecond", r->bytes_in);
  fn(ud, -1, "numBytesOutPerSecond", r->bytes_out);
  fn(ud, -1, "busyTimeMsPerSecond", r->busy_ms);
  fn(ud, -1, "idleTimeMsPerSecond", r->idle_ms);
  fn(ud, -1, "backPressuredTimeMsPerSecond", r->backpressured_ms);
  fn(ud, -1, "accumulatedBusyTime", (double)(m->busy_ns / 1000000));
  fn(ud, -1, "accumulatedIdleTime", (double)(m->idle_ns / 1000000));
  fn(ud, -1, "accumulatedBackPressuredTime", (double)(m->backpressured_ns / 1000000));
  fn(ud, -1, "isBackPressured", m->backpressured ? 1 : 0);
  fn(ud, -1, "currentInputWatermark", (double)m->input_watermark);
  fn(ud, -1, "currentOutputWatermark", (double)m->output_watermark);
  fn(ud, -1, "numLateRecordsDropped", m->late_dropped);
  for (int k = 0; k < m->n_ops; k++) {
    const flow_operator_metrics_t *o = &m->ops[k];
    fn(ud, k, "numRecordsIn", o->records_in);
    fn(ud, k, "numRecordsOut", o->records_out);
    fn(ud, k, "numLateRecordsDropped", o->late_dropped);
    fn(ud, k, "currentInputWatermark", (double)flow_watermark_ms(o->input_watermark));
    fn(ud, k, "currentOutputWatermark", (double)flow_watermark_ms(o->output_watermark));
  }
}

typedef struct subtask_list {
  mlist_t *l;
  const flow_view_vertex_t *x;
} subtask_list_t;

static void add_subtask_metric(void *ud, int op, const char *name, double value) {
  subtask_list_t *s = ud;
  if (op < 0) {
    mlist_add(s->l, name, value);
    return;
  }
  char scope[96], id[200];
  flow_rest_operator_scope(op < s->x->n_ops ? s->x->op_names[op] : "operator", scope, sizeof(scope));
  snprintf(id, sizeof(id), "%s.%s", scope, name);
  mlist_add(s->l, id, value);
}

/* /jobs/:jid/vertices/:vid/metrics: "N.<metric>" for every subtask N */
static cJSON *vertex_metrics(const flow_job_view_t *v, const flow_view_vertex_t *x, const char *query) {
  mlist_t l = {cJSON_CreateArray(), get_param(query), ""};
  for (int s = 0; s < x->parallelism; s++) {
    char prefix[16];
    snprintf(prefix, sizeof(prefix), "%d.", s);
    l.prefix = prefix;
    subtask_list_t sl = {&l, x};
    flow_rest_subtask_metrics(v, x->first + s, add_subtask_metric, &sl);
  }
  return l.a;
}

/* /subtasks/metrics: per metric, min/max/avg/sum/skew over the subtasks
 * (Flink's AggregatedMetric; skew as Flink: (max - avg) / avg * 100, 0 when
 * avg is 0). */
typedef struct agg {
  char id[200];
  double min, max, sum;
  int n;
} agg_t;

typedef struct agg_set {
  agg_t *a;
  int n, cap;
  const flow_view_vertex_t *x;
  const char *get;
} agg_set_t;

static void add_agg(void *ud, int op, const char *name, double value) {
  agg_set_t *s = ud;
  char id[200];
  if (op < 0) snprintf(id, sizeof(id), "%s", name);
  else {
    char scope[96];
    flow_rest_operator_scope(op < s->x->n_ops ? s->x->op_names[op] : "operator", scope, sizeof(scope));
    snprintf(id, sizeof(id), "%s.%s", scope, name);
  }
  if (s->get != NULL && !wanted(s->get, id)) return;
  for (int i = 0; i < s->n; i++) {
    agg_t *g = &s->a[i];
    if (strcmp(g->id, id) != 0) continue;
    if (value < g->min) g->min = value;
    if (value > g->max) g->max = value;
    g->sum += value;
    g->n++;
    return;
  }
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 32;
    s->a = flow_xrealloc(s->a, sizeof(*s->a) * (size_t)s->cap);
  }
  agg_t *g = &s->a[s->n++];
  snprintf(g->id, sizeof(g->id), "%s", id);
  g->min = g->max = g->sum = value;
  g->n = 1;
}

static cJSON *subtasks_metrics(const flow_job_view_t *v, const flow_view_vertex_t *x, const char *query) {
  agg_set_t s = {NULL, 0, 0, x, get_param(query)};
  for (int k = 0; k < x->parallelism; k++) flow_rest_subtask_metrics(v, x->first + k, add_agg, &s);
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; i < s.n; i++) {
    agg_t *g = &s.a[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", g->id);
    if (s.get != NULL) {
      double avg = g->sum / g->n;
      cJSON_AddNumberToObject(o, "min", g->min);
      cJSON_AddNumberToObject(o, "max", g->max);
      cJSON_AddNumberToObject(o, "avg", avg);
      cJSON_AddNumberToObject(o, "sum", g->sum);
      cJSON_AddNumberToObject(o, "skew", avg != 0 ? (g->max - avg) / fabs(avg) * 100.0 : 0);
    }
    cJSON_AddItemToArray(a, o);
  }
  free(s.a);
  return a;
}

/* ---- jobs -------------------------------------------------------------------- */

static int64_t job_end(const flow_job_view_t *v) { return v->end_ms > 0 ? v->end_ms : -1; }

static void add_times(cJSON *o, const flow_job_view_t *v) {
  int64_t now = flow_now_ms();
  int64_t end = job_end(v);
  cJSON_AddNumberToObject(o, "start-time", (double)v->start_ms);
  cJSON_AddNumberToObject(o, "end-time", (double)end);
  cJSON_AddNumberToObject(o, "duration", (double)((end > 0 ? end : now) - v->start_ms));
  cJSON_AddNumberToObject(o, "last-modification", (double)(end > 0 ? end : v->built_ms));
}

/* Flink's task counts, lowercase state keys (JobDetailsInfo status-counts
 * has the upper-case ones) */
static cJSON *task_counts(const flow_job_view_t *v, int vertex, int lower) {
  int counts[FLOW_EXEC__COUNT] = {0};
  for (int i = 0; i < v->n_subtasks; i++) {
    const flow_view_subtask_t *st = &v->subtasks[i];
    if (vertex >= 0 && st->vertex != vertex) continue;
    counts[st->state >= 0 ? st->state : FLOW_EXEC_CREATED]++;
  }
  cJSON *o = cJSON_CreateObject();
  for (int i = 0; i < FLOW_EXEC__COUNT; i++) {
    char n[24];
    const char *name = flow_execution_state_name((flow_execution_state_t)i);
    size_t k = 0;
    for (; name[k] != '\0' && k + 1 < sizeof(n); k++)
      n[k] = (char)(lower && name[k] >= 'A' && name[k] <= 'Z' ? name[k] + 32 : name[k]);
    n[k] = '\0';
    cJSON_AddNumberToObject(o, n, counts[i]);
  }
  return o;
}

static cJSON *job_overview(const flow_job_view_t *v) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "jid", v->id);
  cJSON_AddStringToObject(o, "name", v->name);
  cJSON_AddStringToObject(o, "state", flow_job_status_name((flow_job_status_t)v->status));
  add_times(o, v);
  cJSON *tasks = task_counts(v, -1, 1);
  cJSON_AddNumberToObject(tasks, "total", v->n_subtasks);
  cJSON_AddItemToObject(o, "tasks", tasks);
  return o;
}

static cJSON *job_plan(const flow_job_view_t *v) {
  cJSON *plan = cJSON_CreateObject();
  cJSON_AddStringToObject(plan, "jid", v->id);
  cJSON_AddStringToObject(plan, "name", v->name);
  cJSON_AddStringToObject(plan, "type", v->batch ? "BATCH" : "STREAMING");
  cJSON *nodes = cJSON_AddArrayToObject(plan, "nodes");
  for (int i = 0; i < v->n_vertices; i++) {
    const flow_view_vertex_t *x = &v->vertices[i];
    cJSON *n = cJSON_CreateObject();
    cJSON_AddStringToObject(n, "id", x->id);
    cJSON_AddNumberToObject(n, "parallelism", x->parallelism);
    cJSON_AddStringToObject(n, "operator", "");
    cJSON_AddStringToObject(n, "operator_strategy", "");
    cJSON_AddStringToObject(n, "description", x->name);
    if (x->n_inputs > 0) {
      cJSON *inputs = cJSON_AddArrayToObject(n, "inputs");
      for (int k = 0; k < x->n_inputs; k++) {
        cJSON *in = cJSON_CreateObject();
        cJSON_AddNumberToObject(in, "num", k);
        cJSON_AddStringToObject(in, "id", v->vertices[x->inputs[k].source].id);
        cJSON_AddStringToObject(in, "ship_strategy", x->inputs[k].ship_strategy);
        cJSON_AddStringToObject(in, "exchange", "pipelined_bounded");
        cJSON_AddItemToArray(inputs, in);
      }
    }
    cJSON_AddItemToObject(n, "optimizer_properties", cJSON_CreateObject());
    cJSON_AddItemToArray(nodes, n);
  }
  return plan;
}

/* Flink's ExecutionJobVertex state of its subtasks' */
static int vertex_state(const flow_job_view_t *v, const flow_view_vertex_t *x) {
  static const int order[] = {FLOW_EXEC_FAILED,       FLOW_EXEC_CANCELING, FLOW_EXEC_CANCELED,
                              FLOW_EXEC_RUNNING,      FLOW_EXEC_INITIALIZING, FLOW_EXEC_DEPLOYING,
                              FLOW_EXEC_SCHEDULED};
  int counts[FLOW_EXEC__COUNT] = {0};
  for (int s = 0; s < x->parallelism; s++) {
    int st = v->subtasks[x->first + s].state;
    counts[st >= 0 ? st : FLOW_EXEC_CREATED]++;
  }
  for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
    if (counts[order[i]] > 0) return order[i];
  return counts[FLOW_EXEC_FINISHED] == x->parallelism ? FLOW_EXEC_FINISHED : FLOW_EXEC_CREATED;
}

static int64_t subtask_start(const flow_view_subtask_t *st) {
  for (int k = FLOW_EXEC_DEPLOYING; k <= FLOW_EXEC_RUNNING; k++)
    if (st->state_ms[k] > 0) return st->state_ms[k];
  return -1;
}

static int64_t subtask_end(const flow_view_subtask_t *st) {
  if (st->state < 0 || !flow_execution_state_is_terminal((flow_execution_state_t)st->state)) return -1;
  return st->state_ms[st->state] > 0 ? st->state_ms[st->state] : -1;
}

/* Flink's IOMetricsInfo, over subtasks [first, first + n) */
static cJSON *io_metrics(const flow_job_view_t *v, int first, int n) {
  double rin = 0, rout = 0, bin = 0, bout = 0, bp = 0, idle = 0, busy = 0;
  int complete = 1;
  for (int i = first; i < first + n; i++) {
    const flow_view_subtask_t *st = &v->subtasks[i];
    if (st->state < 0 || !flow_execution_state_is_terminal((flow_execution_state_t)st->state)) complete = 0;
    if (!st->has_metrics) continue;
    rin += (double)st->m.records_in;
    rout += (double)st->m.records_out;
    bin += (double)st->m.bytes_in;
    bout += (double)st->m.bytes_out;
    bp += (double)(st->m.backpressured_ns / 1000000);
    idle += (double)(st->m.idle_ns / 1000000);
    busy += (double)(st->m.busy_ns / 1000000);
  }
  cJSON *mx = cJSON_CreateObject();
  cJSON_AddNumberToObject(mx, "read-bytes", bin);
  cJSON_AddBoolToObject(mx, "read-bytes-complete", complete);
  cJSON_AddNumberToObject(mx, "write-bytes", bout);
  cJSON_AddBoolToObject(mx, "write-bytes-complete", complete);
  cJSON_AddNumberToObject(mx, "read-records", rin);
  cJSON_AddBoolToObject(mx, "read-records-complete", complete);
  cJSON_AddNumberToObject(mx, "write-records", rout);
  cJSON_AddBoolToObject(mx, "write-records-complete", complete);
  cJSON_AddNumberToObject(mx, "accumulated-backpressured-time", bp);
  cJSON_AddNumberToObject(mx, "accumulated-idle-time", idle);
  cJSON_AddNumberToObject(mx, "accumulated-busy-time", busy); /* sums, as Flink's MutableIOMetrics */
  return mx;
}

static void add_vertex_times(cJSON *x, const flow_job_view_t *v, const flow_view_vertex_t *jv) {
  int64_t start = -1, end = -1;
  int all_ended = 1;
  for (int s = 0; s < jv->parallelism; s++) {
    const flow_view_subtask_t *st = &v->subtasks[jv->first + s];
    int64_t a = subtask_start(st), b = subtask_end(st);
    if (a > 0 && (start < 0 || a < start)) start = a;
    if (b < 0) all_ended = 0;
    else if (b > end) end = b;
  }
  if (!all_ended) end = -1;
  cJSON_AddNumberToObject(x, "start-time", (double)start);
  cJSON_AddNumberToObject(x, "end-time", (double)end);
  cJSON_AddNumberToObject(x, "duration", start < 0 ? -1 : (double)((end > 0 ? end : flow_now_ms()) - start));
}

static cJSON *job_details(const flow_job_view_t *v) {
  cJSON *o = job_overview(v);
  cJSON_DeleteItemFromObject(o, "tasks");
  cJSON_AddBoolToObject(o, "isStoppable", 0);
  cJSON_AddNumberToObject(o, "now", (double)flow_now_ms());
  int maxp = 1;
  for (int i = 0; i < v->n_vertices; i++)
    if (v->vertices[i].max_parallelism > maxp) maxp = v->vertices[i].max_parallelism;
  cJSON_AddNumberToObject(o, "maxParallelism", maxp);
  cJSON *ts = cJSON_AddObjectToObject(o, "timestamps");
  cJSON_AddNumberToObject(ts, "INITIALIZING", (double)v->start_ms);
  cJSON_AddNumberToObject(ts, "CREATED", (double)v->start_ms);
  cJSON_AddNumberToObject(ts, "RUNNING", (double)v->start_ms);
  int64_t end = job_end(v);
  cJSON_AddNumberToObject(ts, "FINISHED", v->status == FLOW_JOB_FINISHED ? (double)end : 0);
  cJSON_AddNumberToObject(ts, "CANCELED", v->status == FLOW_JOB_CANCELED ? (double)end : 0);
  cJSON_AddNumberToObject(ts, "FAILED", v->status == FLOW_JOB_FAILED ? (double)end : 0);
  cJSON *vs = cJSON_AddArrayToObject(o, "vertices");
  for (int i = 0; i < v->n_vertices; i++) {
    const flow_view_vertex_t *jv = &v->vertices[i];
    cJSON *x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "id", jv->id);
    cJSON_AddStringToObject(x, "name", jv->name);
    cJSON_AddNumberToObject(x, "maxParallelism", jv->max_parallelism);
    cJSON_AddNumberToObject(x, "parallelism", jv->parallelism);
    cJSON_AddStringToObject(x, "status", flow_execution_state_name((flow_execution_state_t)vertex_state(v, jv)));
    add_vertex_times(x, v, jv);
    cJSON_AddStringToObject(x, "slotSharingGroup", jv->slot_sharing_group);
    cJSON_AddItemToObject(x, "tasks", task_counts(v, i, 0));
    cJSON_AddItemToObject(x, "metrics", io_metrics(v, jv->first, jv->parallelism));
    cJSON_AddItemToArray(vs, x);
  }
  cJSON_AddItemToObject(o, "status-counts", task_counts(v, -1, 0));
  cJSON_AddItemToObject(o, "plan", job_plan(v));
  cJSON_AddNumberToObject(o, "restarts", v->restarts);
  cJSON_AddNumberToObject(o, "completed-checkpoints", (double)v->ck_completed);
  if (v->failure != NULL) cJSON_AddStringToObject(o, "failure-cause", v->failure);
  return o;
}

static cJSON *job_exceptions(const flow_job_view_t *v) {
  const char *f = v->failure;
  cJSON *o = cJSON_CreateObject();
  cJSON *h = cJSON_CreateObject();
  cJSON *entries = cJSON_AddArrayToObject(h, "entries");
  cJSON_AddBoolToObject(h, "truncated", 0);
  if (f == NULL) {
    cJSON_AddNullToObject(o, "root-exception");
    cJSON_AddNullToObject(o, "timestamp");
  } else {
    cJSON_AddStringToObject(o, "root-exception", f);
    cJSON_AddNumberToObject(o, "timestamp", (double)v->failure_ms);
    cJSON *e = cJSON_CreateObject();
    size_t n = strcspn(f, "\n");
    char *name = flow_xmalloc(n + 1);
    memcpy(name, f, n);
    name[n] = '\0';
    cJSON_AddStringToObject(e, "exceptionName", name);
    free(name);
    cJSON_AddStringToObject(e, "stacktrace", f);
    cJSON_AddNumberToObject(e, "timestamp", (double)v->failure_ms);
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

static cJSON *job_config(const flow_job_view_t *v) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "jid", v->id);
  cJSON_AddStringToObject(o, "name", v->name);
  cJSON *ec = cJSON_AddObjectToObject(o, "execution-config");
  cJSON_AddStringToObject(ec, "execution-mode", v->batch ? "BATCH" : "PIPELINED");
  cJSON_AddStringToObject(ec, "restart-strategy", v->restart_strategy);
  int p = 1;
  for (int i = 0; i < v->n_vertices; i++)
    if (v->vertices[i].parallelism > p) p = v->vertices[i].parallelism;
  cJSON_AddNumberToObject(ec, "job-parallelism", p);
  cJSON_AddBoolToObject(ec, "object-reuse-mode", 0);
  cJSON *uc = cJSON_AddObjectToObject(ec, "user-config");
  cJSON_AddNumberToObject(uc, "execution.buffer-timeout", (double)v->buffer_timeout_ms);
  cJSON_AddNumberToObject(uc, "execution.checkpointing.interval", (double)v->checkpoint_interval_ms);
  cJSON_AddStringToObject(uc, "execution.checkpointing.mode", v->exactly_once ? "EXACTLY_ONCE" : "AT_LEAST_ONCE");
  return o;
}

static cJSON *job_accumulators(const flow_job_view_t *v) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToObject(o, "job-accumulators", cJSON_CreateArray());
  cJSON *u = cJSON_AddArrayToObject(o, "user-task-accumulators");
  for (int i = 0; i < v->n_accumulators; i++) {
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "name", v->accumulators[i].name);
    cJSON_AddStringToObject(a, "type", "LongCounter");
    cJSON_AddStringToObject(a, "value", v->accumulators[i].value);
    cJSON_AddItemToArray(u, a);
  }
  cJSON_AddItemToObject(o, "serialized-user-task-accumulators", cJSON_CreateObject());
  return o;
}

static cJSON *job_metrics(const flow_job_view_t *v, const char *query) {
  mlist_t l = {cJSON_CreateArray(), get_param(query), ""};
  mlist_add(&l, "numRestarts", v->restarts);
  mlist_add(&l, "numberOfCompletedCheckpoints", (double)v->ck_completed);
  mlist_add(&l, "numberOfFailedCheckpoints", (double)v->ck_failed);
  mlist_add(&l, "numberOfInProgressCheckpoints", (double)v->ck_in_progress);
  mlist_add(&l, "totalNumberOfCheckpoints", (double)v->ck_total);
  mlist_add(&l, "lastCompletedCheckpointId", v->ck_latest_id > 0 ? (double)v->ck_latest_id : -1);
  mlist_add(&l, "lastCheckpointDuration", (double)v->ck_last_duration_ms);
  mlist_add(&l, "lastCheckpointSize", (double)v->ck_last_size);
  int64_t end = job_end(v);
  mlist_add(&l, "uptime", end > 0 ? 0 : (double)(flow_now_ms() - v->start_ms));
  return l.a;
}

/* ---- checkpoints (Flink's CheckpointingStatistics) --------------------------- */

static cJSON *checkpoint_json(const flow_checkpoint_stats_t *c) {
  static const char *const status[] = {"IN_PROGRESS", "COMPLETED", "FAILED"};
  static const char *const cls[] = {".PendingCheckpointStatistics", ".CompletedCheckpointStatistics",
                                    ".FailedCheckpointStatistics"};
  cJSON *o = cJSON_CreateObject();
  int s = c->status >= 0 && c->status <= 2 ? c->status : 0;
  cJSON_AddStringToObject(o, "className", cls[s]);
  cJSON_AddNumberToObject(o, "id", (double)c->id);
  cJSON_AddStringToObject(o, "status", status[s]);
  cJSON_AddBoolToObject(o, "is_savepoint", c->savepoint);
  cJSON_AddNumberToObject(o, "trigger_timestamp", (double)c->trigger_ms);
  cJSON_AddNumberToObject(o, "latest_ack_timestamp", (double)c->latest_ack_ms);
  cJSON_AddNumberToObject(o, "checkpointed_size", (double)c->state_size);
  cJSON_AddNumberToObject(o, "state_size", (double)c->state_size);
  cJSON_AddNumberToObject(o, "end_to_end_duration",
                          c->duration_ms >= 0 ? (double)c->duration_ms : (double)(flow_now_ms() - c->trigger_ms));
  cJSON_AddNumberToObject(o, "alignment_buffered", 0);
  cJSON_AddNumberToObject(o, "processed_data", 0);
  cJSON_AddNumberToObject(o, "persisted_data", 0);
  cJSON_AddNumberToObject(o, "num_subtasks", c->n_total);
  cJSON_AddNumberToObject(o, "num_acknowledged_subtasks", c->n_acked);
  cJSON_AddStringToObject(o, "checkpoint_type", c->savepoint ? "SAVEPOINT" : "CHECKPOINT");
  cJSON_AddItemToObject(o, "tasks", cJSON_CreateObject());
  if (s == 1) {
    cJSON_AddStringToObject(o, "external_path", c->path);
    cJSON_AddBoolToObject(o, "discarded", 0);
  }
  if (s == 2) {
    cJSON_AddNumberToObject(o, "failure_timestamp", (double)(c->trigger_ms + c->duration_ms));
    cJSON_AddStringToObject(o, "failure_message", c->failure);
  }
  return o;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* min/max/avg and quantiles (nearest rank) of xs[n] (sorted here) */
static cJSON *summary(double *xs, int n) {
  cJSON *o = cJSON_CreateObject();
  if (n == 0) {
    const char *keys[] = {"min", "max", "avg", "p50", "p90", "p95", "p99", "p999"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) cJSON_AddNumberToObject(o, keys[i], 0);
    return o;
  }
  qsort(xs, (size_t)n, sizeof(double), cmp_double);
  double sum = 0;
  for (int i = 0; i < n; i++) sum += xs[i];
  cJSON_AddNumberToObject(o, "min", xs[0]);
  cJSON_AddNumberToObject(o, "max", xs[n - 1]);
  cJSON_AddNumberToObject(o, "avg", floor(sum / n));
  const struct {
    const char *k;
    double q;
  } qs[] = {{"p50", 0.5}, {"p90", 0.9}, {"p95", 0.95}, {"p99", 0.99}, {"p999", 0.999}};
  for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
    int r = (int)ceil(qs[i].q * n) - 1;
    if (r < 0) r = 0;
    if (r >= n) r = n - 1;
    cJSON_AddNumberToObject(o, qs[i].k, xs[r]);
  }
  return o;
}

static cJSON *job_checkpoints(const flow_job_view_t *v) {
  cJSON *o = cJSON_CreateObject();
  cJSON *c = cJSON_AddObjectToObject(o, "counts");
  cJSON_AddNumberToObject(c, "restored", (double)v->ck_restored);
  cJSON_AddNumberToObject(c, "total", (double)v->ck_total);
  cJSON_AddNumberToObject(c, "in_progress", (double)v->ck_in_progress);
  cJSON_AddNumberToObject(c, "completed", (double)v->ck_completed);
  cJSON_AddNumberToObject(c, "failed", (double)v->ck_failed);
  /* the summary covers the completed checkpoints still in the history */
  double *size = flow_xcalloc((size_t)v->n_history + 1, sizeof(double));
  double *dur = flow_xcalloc((size_t)v->n_history + 1, sizeof(double));
  double *zero = flow_xcalloc((size_t)v->n_history + 1, sizeof(double));
  int n = 0;
  for (int i = 0; i < v->n_history; i++) {
    if (v->history[i].status != FLOW_CK_COMPLETED) continue;
    size[n] = (double)v->history[i].state_size;
    dur[n] = (double)v->history[i].duration_ms;
    n++;
  }
  cJSON *s = cJSON_AddObjectToObject(o, "summary");
  cJSON_AddItemToObject(s, "checkpointed_size", summary(size, n));
  double *size2 = flow_xcalloc((size_t)n + 1, sizeof(double));
  if (n > 0) memcpy(size2, size, sizeof(double) * (size_t)n);
  cJSON_AddItemToObject(s, "state_size", summary(size2, n));
  cJSON_AddItemToObject(s, "end_to_end_duration", summary(dur, n));
  cJSON_AddItemToObject(s, "alignment_buffered", summary(zero, n));
  cJSON_AddItemToObject(s, "processed_data", summary(zero, n));
  cJSON_AddItemToObject(s, "persisted_data", summary(zero, n));
  free(size);
  free(size2);
  free(dur);
  free(zero);
  cJSON *latest = cJSON_AddObjectToObject(o, "latest");
  const flow_checkpoint_stats_t *lc = &v->latest_completed, *lf = &v->latest_failed;
  if (lc->id > 0 && !lc->savepoint) cJSON_AddItemToObject(latest, "completed", checkpoint_json(lc));
  else cJSON_AddNullToObject(latest, "completed");
  if (lc->id > 0 && lc->savepoint) cJSON_AddItemToObject(latest, "savepoint", checkpoint_json(lc));
  else cJSON_AddNullToObject(latest, "savepoint");
  if (lf->id > 0) cJSON_AddItemToObject(latest, "failed", checkpoint_json(lf));
  else cJSON_AddNullToObject(latest, "failed");
  cJSON_AddNullToObject(latest, "restored");
  cJSON *h = cJSON_AddArrayToObject(o, "history");
  for (int i = 0; i < v->n_history; i++) cJSON_AddItemToArray(h, checkpoint_json(&v->history[i]));
  return o;
}

/* ---- vertices ------------------------------------------------------------------ */

static cJSON *subtask_json(const flow_job_view_t *v, const flow_view_subtask_t *st) {
  cJSON *x = cJSON_CreateObject();
  cJSON_AddNumberToObject(x, "subtask", st->subtask);
  cJSON_AddStringToObject(x, "status",
                          flow_execution_state_name((flow_execution_state_t)(st->state >= 0 ? st->state : 0)));
  cJSON_AddNumberToObject(x, "attempt", st->attempt);
  cJSON_AddStringToObject(x, "host", st->host);
  cJSON_AddStringToObject(x, "endpoint", st->host);
  int64_t start = subtask_start(st), end = subtask_end(st);
  cJSON_AddNumberToObject(x, "start-time", (double)start);
  cJSON_AddNumberToObject(x, "start_time", (double)start);
  cJSON_AddNumberToObject(x, "end-time", (double)end);
  cJSON_AddNumberToObject(x, "duration", start < 0 ? -1 : (double)((end > 0 ? end : flow_now_ms()) - start));
  cJSON_AddItemToObject(x, "metrics", io_metrics(v, (int)(st - v->subtasks), 1));
  cJSON_AddStringToObject(x, "taskmanager-id", st->tm_id);
  cJSON *sd = cJSON_AddObjectToObject(x, "status-duration");
  for (int k = 0; k < FLOW_EXEC__COUNT; k++) {
    if (st->state_ms[k] <= 0) continue;
    int64_t next = -1; /* until the next state entered, or now */
    for (int j = 0; j < FLOW_EXEC__COUNT; j++)
      if (st->state_ms[j] >= st->state_ms[k] && j != k && (next < 0 || st->state_ms[j] < next)) next = st->state_ms[j];
    if (k == st->state) next = flow_now_ms();
    cJSON_AddNumberToObject(sd, flow_execution_state_name((flow_execution_state_t)k),
                            (double)((next > 0 ? next : flow_now_ms()) - st->state_ms[k]));
  }
  return x;
}

static cJSON *vertex_details(const flow_job_view_t *v, const flow_view_vertex_t *jv) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", jv->id);
  cJSON_AddStringToObject(o, "name", jv->name);
  cJSON_AddNumberToObject(o, "parallelism", jv->parallelism);
  cJSON_AddNumberToObject(o, "maxParallelism", jv->max_parallelism);
  cJSON_AddNumberToObject(o, "now", (double)flow_now_ms());
  cJSON *subs = cJSON_AddArrayToObject(o, "subtasks");
  for (int s = 0; s < jv->parallelism; s++) cJSON_AddItemToArray(subs, subtask_json(v, &v->subtasks[jv->first + s]));
  return o;
}

static const char *bp_level(double ratio) { return ratio <= 0.10 ? "ok" : ratio <= 0.5 ? "low" : "high"; }

/* Flink's JobVertexBackPressureInfo, from backPressuredTimeMsPerSecond */
static cJSON *vertex_backpressure(const flow_job_view_t *v, const flow_view_vertex_t *jv) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "status", "ok");
  double worst = 0;
  cJSON *subs = cJSON_CreateArray();
  for (int s = 0; s < jv->parallelism; s++) {
    const flow_view_subtask_t *st = &v->subtasks[jv->first + s];
    double ratio = st->rates.backpressured_ms / 1000.0;
    if (ratio > worst) worst = ratio;
    cJSON *x = cJSON_CreateObject();
    cJSON_AddNumberToObject(x, "subtask", s);
    cJSON_AddNumberToObject(x, "attempt-number", st->attempt);
    cJSON_AddStringToObject(x, "backpressure-level", bp_level(ratio));
    cJSON_AddNumberToObject(x, "ratio", ratio);
    cJSON_AddNumberToObject(x, "idleRatio", st->rates.idle_ms / 1000.0);
    cJSON_AddNumberToObject(x, "busyRatio", st->rates.busy_ms / 1000.0);
    cJSON_AddItemToArray(subs, x);
  }
  cJSON_AddStringToObject(o, "backpressure-level", bp_level(worst));
  cJSON_AddNumberToObject(o, "end-timestamp", (double)v->built_ms);
  cJSON_AddItemToObject(o, "subtasks", subs);
  return o;
}

/* Flink's /watermarks: [{"id":"N.currentInputWatermark","value"}] */
static cJSON *vertex_watermarks(const flow_job_view_t *v, const flow_view_vertex_t *jv) {
  cJSON *a = cJSON_CreateArray();
  for (int s = 0; s < jv->parallelism; s++) {
    const flow_view_subtask_t *st = &v->subtasks[jv->first + s];
    char id[48], val[32];
    snprintf(id, sizeof(id), "%d.currentInputWatermark", s);
    snprintf(val, sizeof(val), "%lld", (long long)(st->has_metrics ? st->m.input_watermark : INT64_MIN));
    cJSON *x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "id", id);
    cJSON_AddStringToObject(x, "value", val);
    cJSON_AddItemToArray(a, x);
  }
  return a;
}

/* ---- the cluster ------------------------------------------------------------------ */

typedef struct cluster_counts {
  int tms, slots_total, slots_available, running, finished, canceled, failed;
} cluster_counts_t;

static cluster_counts_t cluster_counts(const flow_rest_tm_t *tms, int n_tms, flow_job_view_t **jobs, int n_jobs) {
  cluster_counts_t c = {0};
  for (int i = 0; i < n_tms; i++) {
    c.tms++;
    c.slots_total += tms[i].slots;
    c.slots_available += tms[i].free_slots;
  }
  for (int i = 0; i < n_jobs; i++) {
    int s = jobs[i]->status;
    if (!flow_job_status_is_globally_terminal((flow_job_status_t)s)) c.running++;
    else if (s == FLOW_JOB_FINISHED) c.finished++;
    else if (s == FLOW_JOB_CANCELED) c.canceled++;
    else c.failed++;
  }
  return c;
}

static cJSON *overview(cluster_counts_t c) {
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

static cJSON *jobmanager_metrics(cluster_counts_t c, const char *query) {
  mlist_t l = {cJSON_CreateArray(), get_param(query), ""};
  mlist_add(&l, "numRegisteredTaskManagers", c.tms);
  mlist_add(&l, "numRunningJobs", c.running);
  mlist_add(&l, "taskSlotsAvailable", c.slots_available);
  mlist_add(&l, "taskSlotsTotal", c.slots_total);
  return l.a;
}

static void add_hardware(cJSON *x, const flow_rest_tm_t *t) {
  cJSON *h = cJSON_AddObjectToObject(x, "hardware");
  cJSON_AddNumberToObject(h, "cpuCores", t->cpu_cores);
  cJSON_AddNumberToObject(h, "physicalMemory", (double)t->physical_memory);
  cJSON_AddNumberToObject(h, "freeMemory", (double)t->free_memory);
  cJSON_AddNumberToObject(h, "managedMemory", 0);
}

static cJSON *taskmanager_json(const flow_rest_tm_t *t, int details) {
  cJSON *x = cJSON_CreateObject();
  cJSON_AddStringToObject(x, "id", t->id);
  cJSON_AddStringToObject(x, "path", t->path);
  cJSON_AddStringToObject(x, "dataAddress", t->data_address);
  cJSON_AddNumberToObject(x, "dataPort", t->data_port);
  cJSON_AddNumberToObject(x, "jmxPort", -1);
  cJSON_AddNumberToObject(x, "timeSinceLastHeartbeat", (double)t->since_heartbeat_ms);
  cJSON_AddNumberToObject(x, "slotsNumber", t->slots);
  cJSON_AddNumberToObject(x, "freeSlots", t->free_slots);
  cJSON_AddNumberToObject(x, "registered", (double)t->registered_ms);
  cJSON *tr = cJSON_AddObjectToObject(x, "totalResource");
  cJSON_AddNumberToObject(tr, "cpuCores", t->cpu_cores);
  cJSON *fr = cJSON_AddObjectToObject(x, "freeResource");
  cJSON_AddNumberToObject(fr, "cpuCores", t->slots > 0 ? (double)t->cpu_cores * t->free_slots / t->slots : 0);
  add_hardware(x, t);
  if (details) {
    cJSON *m = cJSON_AddObjectToObject(x, "metrics");
    cJSON_AddNumberToObject(m, "rss", (double)t->rss_bytes);
    cJSON_AddNumberToObject(m, "threads", t->threads);
  }
  return x;
}

static cJSON *taskmanager_metrics(const flow_rest_tm_t *t, const char *query) {
  mlist_t l = {cJSON_CreateArray(), get_param(query), ""};
  mlist_add(&l, "Status.Process.Memory.RSS", (double)t->rss_bytes);
  mlist_add(&l, "Status.Process.Threads", t->threads);
  mlist_add(&l, "Status.Hardware.CPU.Cores", t->cpu_cores);
  mlist_add(&l, "Status.Hardware.Memory.Physical", (double)t->physical_memory);
  mlist_add(&l, "Status.Hardware.Memory.Free", (double)t->free_memory);
  mlist_add(&l, "taskSlotsTotal", t->slots);
  mlist_add(&l, "taskSlotsAvailable", t->free_slots);
  return l.a;
}

void flow_rest_local_hardware(flow_rest_tm_t *t) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  long pages = sysconf(_SC_PHYS_PAGES), avail = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
  t->cpu_cores = cores > 0 ? (int)cores : 0;
  t->physical_memory = pages > 0 && psz > 0 ? (int64_t)pages * psz : 0;
  t->free_memory = avail > 0 && psz > 0 ? (int64_t)avail * psz : 0;
  t->rss_bytes = -1;
  t->threads = -1;
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) return;
  char line[256];
  while (fgets(line, sizeof(line), f) != NULL) {
    long long x;
    if (sscanf(line, "VmRSS: %lld kB", &x) == 1) t->rss_bytes = x * 1024;
    else if (sscanf(line, "Threads: %lld", &x) == 1) t->threads = (int)x;
  }
  fclose(f);
}

/* GET /config: Flink's DashboardConfiguration */
static cJSON *dashboard_config(const flow_rest_backend_t *b) {
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
  cJSON_AddBoolToObject(f, "web-submit", b->submit != NULL);
  cJSON_AddBoolToObject(f, "web-cancel", b->web_cancel);
  cJSON_AddBoolToObject(f, "web-rescale", 0);
  cJSON_AddBoolToObject(f, "web-history", 0);
  return o;
}

/* ---- routing ------------------------------------------------------------------------- */

static int is_hex_id(const char *id) {
  size_t n = 0;
  for (; id[n] != '\0'; n++) {
    char c = id[n];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return 0;
  }
  return n == 32;
}

/* the next path segment of *p (after its '/') into out; 0 if none */
static int segment(const char **p, char *out, size_t cap) {
  if (**p != '/') return 0;
  (*p)++;
  size_t n = strcspn(*p, "/");
  if (n == 0) return 0;
  size_t k = n < cap - 1 ? n : cap - 1;
  memcpy(out, *p, k);
  out[k] = '\0';
  *p += n;
  return 1;
}

static const flow_view_vertex_t *find_vertex(const flow_job_view_t *v, const char *vid) {
  for (int i = 0; i < v->n_vertices; i++)
    if (strcasecmp(v->vertices[i].id, vid) == 0) return &v->vertices[i];
  char *end = NULL;
  long n = strtol(vid, &end, 10);
  if (end != NULL && *end == '\0' && n >= 1 && n <= v->n_vertices) return &v->vertices[n - 1];
  return NULL;
}

static int parses_as_vertex(const char *vid) {
  if (is_hex_id(vid)) return 1;
  if (vid[0] == '\0') return 0;
  for (const char *c = vid; *c != '\0'; c++)
    if (*c < '0' || *c > '9') return 0;
  return 1;
}

void flow_rest_views_free(flow_job_view_t **jobs, int n) {
  for (int i = 0; i < n; i++) flow_job_view_unref(jobs[i]);
  free(jobs);
}

static void vertex_route(const flow_job_view_t *v, const char *p, const flow_http_request_t *req,
                         flow_http_response_t *res) {
  char vid[80];
  if (!segment(&p, vid, sizeof(vid))) return flow_rest_error(res, 404, "not found");
  if (!parses_as_vertex(vid)) return flow_rest_error(res, 400, "the vertex id must be 32 hex digits");
  const flow_view_vertex_t *x = find_vertex(v, vid);
  if (x == NULL) return flow_rest_error(res, 404, "no such vertex");
  if (*p == '\0' || strcmp(p, "/") == 0) return respond_json(res, 200, vertex_details(v, x));
  if (strcmp(p, "/metrics") == 0) return respond_json(res, 200, vertex_metrics(v, x, req->query));
  if (strcmp(p, "/subtasks/metrics") == 0) return respond_json(res, 200, subtasks_metrics(v, x, req->query));
  if (strcmp(p, "/backpressure") == 0) return respond_json(res, 200, vertex_backpressure(v, x));
  if (strcmp(p, "/watermarks") == 0) return respond_json(res, 200, vertex_watermarks(v, x));
  if (strncmp(p, "/subtasks/", 10) == 0) {
    const char *n = p + 10;
    char *end = NULL;
    long s = strtol(n, &end, 10);
    if (n[0] < '0' || n[0] > '9' || end == NULL || (*end != '\0' && *end != '/'))
      return flow_rest_error(res, 400, "the subtask index must be a number");
    if (s < 0 || s >= x->parallelism) return flow_rest_error(res, 404, "no such subtask");
    if (*end == '\0') return respond_json(res, 200, subtask_json(v, &v->subtasks[x->first + s]));
    if (strcmp(end, "/metrics") == 0) {
      mlist_t l = {cJSON_CreateArray(), get_param(req->query), ""};
      subtask_list_t sl = {&l, x};
      flow_rest_subtask_metrics(v, x->first + (int)s, add_subtask_metric, &sl);
      return respond_json(res, 200, l.a);
    }
  }
  flow_rest_error(res, 404, "not found");
}

static void job_route(const flow_rest_backend_t *b, const char *p, const flow_http_request_t *req,
                      flow_http_response_t *res, int get) {
  char id[80];
  if (!segment(&p, id, sizeof(id))) return flow_rest_error(res, 404, "not found");
  if (!is_hex_id(id)) return flow_rest_error(res, 400, "the job id must be 32 hex digits");
  flow_job_view_t **jobs = NULL;
  int n = b->jobs(b->data, &jobs);
  flow_job_view_t *v = NULL;
  for (int i = 0; i < n && v == NULL; i++)
    if (strcasecmp(jobs[i]->id, id) == 0) v = jobs[i];
  if (v == NULL) {
    flow_rest_views_free(jobs, n);
    return flow_rest_error(res, 404, "no such job");
  }
  if (*p == '\0' || strcmp(p, "/") == 0) {
    if (get) respond_json(res, 200, job_details(v));
    else if (strcmp(req->method, "PATCH") == 0) {
      if (strcmp(req->query, "mode=cancel") != 0 && req->query[0] != '\0') {
        flow_rest_error(res, 400, "only mode=cancel is supported");
      } else {
        char msg[160] = "";
        int rc = b->cancel != NULL ? b->cancel(b->data, v->id, msg, sizeof(msg)) : FLOW_EINVAL;
        if (rc != 0 && rc != FLOW_ESTATE) flow_rest_error(res, 404, msg[0] ? msg : "no such job");
        else respond_json(res, 202, cJSON_CreateObject());
      }
    } else {
      flow_rest_error(res, 405, "method not allowed");
    }
  } else if (!get) {
    flow_rest_error(res, 405, "method not allowed");
  } else if (strcmp(p, "/plan") == 0) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "plan", job_plan(v));
    respond_json(res, 200, o);
  } else if (strcmp(p, "/exceptions") == 0) {
    respond_json(res, 200, job_exceptions(v));
  } else if (strcmp(p, "/config") == 0) {
    respond_json(res, 200, job_config(v));
  } else if (strcmp(p, "/accumulators") == 0) {
    respond_json(res, 200, job_accumulators(v));
  } else if (strcmp(p, "/metrics") == 0) {
    respond_json(res, 200, job_metrics(v, req->query));
  } else if (strcmp(p, "/checkpoints") == 0) {
    respond_json(res, 200, job_checkpoints(v));
  } else if (strncmp(p, "/vertices", 9) == 0) {
    vertex_route(v, p + 9, req, res);
  } else {
    flow_rest_error(res, 404, "not found");
  }
  flow_rest_views_free(jobs, n);
}

static void taskmanager_route(const flow_rest_backend_t *b, const char *p, const flow_http_request_t *req,
                              flow_http_response_t *res) {
  flow_rest_tm_t *tms = NULL;
  int n = b->taskmanagers != NULL ? b->taskmanagers(b->data, &tms) : 0;
  char id[80];
  if (*p == '\0' || strcmp(p, "/") == 0) {
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "taskmanagers");
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, taskmanager_json(&tms[i], 0));
    respond_json(res, 200, o);
  } else if (!segment(&p, id, sizeof(id))) {
    flow_rest_error(res, 404, "not found");
  } else {
    const flow_rest_tm_t *t = NULL;
    for (int i = 0; i < n && t == NULL; i++)
      if (strcmp(tms[i].id, id) == 0) t = &tms[i];
    if (t == NULL) flow_rest_error(res, 404, "no such taskmanager");
    else if (*p == '\0') respond_json(res, 200, taskmanager_json(t, 1));
    else if (strcmp(p, "/metrics") == 0) respond_json(res, 200, taskmanager_metrics(t, req->query));
    else flow_rest_error(res, 404, "not found");
  }
  free(tms);
}

/* GET / and /web/<file>: the dashboard's embedded files */
static int serve_asset(const char *p, flow_http_response_t *res) {
  const char *rel = strcmp(p, "/") == 0 || strcmp(p, "/index.html") == 0 ? "index.html"
                    : strncmp(p, "/web/", 5) == 0                       ? p + 5
                                                                         : NULL;
  if (rel == NULL) return 0;
  for (const flow_web_asset_t *a = flow_web_assets; a->path != NULL; a++) {
    if (strcmp(a->path, rel) != 0) continue;
    res->status = 200;
    res->content_type = a->content_type;
    res->body = flow_xmalloc(a->size + 1);
    memcpy(res->body, a->data, a->size);
    res->body_len = a->size;
    return 1;
  }
  return 0;
}

static int hex_digit(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The path percent-decoded (as Flink's router does): 0, or -1 when it does
 * not decode (a bad escape, a NUL, too long). */
static int decode_path(const char *in, char *out, size_t cap) {
  size_t k = 0;
  for (const char *c = in; *c != '\0'; c++) {
    char x = *c;
    if (x == '%') {
      int hi = hex_digit(c[1]), lo = hi >= 0 ? hex_digit(c[2]) : -1;
      if (lo < 0) return -1;
      x = (char)(hi * 16 + lo);
      if (x == '\0') return -1;
      c += 2;
    }
    if (k + 1 >= cap) return -1;
    out[k++] = x;
  }
  out[k] = '\0';
  return 0;
}

void flow_rest_handle(const flow_rest_backend_t *b, const flow_http_request_t *req, flow_http_response_t *res) {
  char path[1024];
  if (decode_path(req->path, path, sizeof(path)) != 0) return flow_rest_error(res, 400, "the path does not decode");
  const char *p = path;
  int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
  if (get && serve_asset(p, res)) return;
  if (strncmp(p, "/v1/", 4) == 0) p += 3; /* Flink serves /v1/... too */
  if (strcmp(p, "/jobs") == 0 || strcmp(p, "/jobs/") == 0) {
    if (strcmp(req->method, "POST") == 0 && b->submit != NULL) return b->submit(b->data, req, res);
    if (!get) return flow_rest_error(res, 405, "method not allowed");
  } else if (strncmp(p, "/jobs/", 6) == 0 && strcmp(p, "/jobs/overview") != 0) {
    return job_route(b, p + 5, req, res, get);
  }
  if (!get) return flow_rest_error(res, 405, "method not allowed");
  if (strcmp(p, "/config") == 0) return respond_json(res, 200, dashboard_config(b));
  if (strcmp(p, "/jobmanager/config") == 0) {
    cJSON *a = cJSON_CreateArray();
    if (b->config != NULL) b->config(b->data, a);
    return respond_json(res, 200, a);
  }
  if (strcmp(p, "/taskmanagers") == 0 || strncmp(p, "/taskmanagers/", 14) == 0)
    return taskmanager_route(b, p + 13, req, res);
  flow_job_view_t **jobs = NULL;
  int n = b->jobs(b->data, &jobs);
  cJSON *out = NULL;
  if (strcmp(p, "/overview") == 0 || strcmp(p, "/jobmanager/metrics") == 0) {
    flow_rest_tm_t *tms = NULL;
    int n_tms = b->taskmanagers != NULL ? b->taskmanagers(b->data, &tms) : 0;
    cluster_counts_t c = cluster_counts(tms, n_tms, jobs, n);
    free(tms);
    out = p[1] == 'o' ? overview(c) : jobmanager_metrics(c, req->query);
  } else if (strcmp(p, "/jobs/overview") == 0) {
    out = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(out, "jobs");
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, job_overview(jobs[i]));
  } else if (strcmp(p, "/jobs") == 0 || strcmp(p, "/jobs/") == 0) {
    out = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(out, "jobs");
    for (int i = 0; i < n; i++) {
      cJSON *x = cJSON_CreateObject();
      cJSON_AddStringToObject(x, "id", jobs[i]->id);
      cJSON_AddStringToObject(x, "status", flow_job_status_name((flow_job_status_t)jobs[i]->status));
      cJSON_AddItemToArray(a, x);
    }
  }
  flow_rest_views_free(jobs, n);
  if (out != NULL) return respond_json(res, 200, out);
  flow_rest_error(res, 404, "not found");
}
