/* The Prometheus reporter (Flink's PrometheusReporter names and labels),
 * rendered from job views: GET /metrics on the metrics.reporter.prom.port
 * of every process (cluster/local_monitor.c, jobmanager, taskmanager). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/rest_routes.h"
#include "graph/execution_graph.h"
#include "metrics/prometheus.h"
#include "util/common.h"

typedef struct task_ctx {
  flow_prom_t *p;
  const flow_job_view_t *v;
  const flow_view_vertex_t *x;
  const flow_view_subtask_t *st;
  const char *tm;
} task_ctx_t;

static void add_task_metric(void *ud, int op, const char *name, double value) {
  task_ctx_t *c = ud;
  char subtask[16], attempt[16], metric[160];
  snprintf(subtask, sizeof(subtask), "%d", c->st->subtask);
  snprintf(attempt, sizeof(attempt), "%d", c->st->attempt);
  const char *labels[9][2] = {
      {"job_id", c->v->id},          {"job_name", c->v->name},         {"task_id", c->x->id},
      {"task_name", c->x->name},     {"subtask_index", subtask},       {"task_attempt_num", attempt},
      {"tm_id", c->tm},              {"operator_name", ""},            {"operator_id", ""},
  };
  if (op < 0) {
    snprintf(metric, sizeof(metric), "flink_taskmanager_job_task_%s", name);
    flow_prom_add(c->p, metric, (const char *const (*)[2])labels, 7, value);
    return;
  }
  char op_id[48];
  snprintf(op_id, sizeof(op_id), "%s_%d", c->x->id, op);
  labels[7][1] = op < c->x->n_ops ? c->x->op_names[op] : "";
  labels[8][1] = op_id;
  snprintf(metric, sizeof(metric), "flink_taskmanager_job_task_operator_%s", name);
  flow_prom_add(c->p, metric, (const char *const (*)[2])labels, 9, value);
}

char *flow_rest_prometheus(flow_job_view_t *const *jobs, int n, const flow_rest_tm_t *tms, int n_tms, const char *tm,
                           int scopes, size_t *len) {
  flow_prom_t *p = flow_prom_new();
  int running = 0;
  for (int j = 0; j < n; j++) {
    const flow_job_view_t *v = jobs[j];
    if (flow_job_status_is_globally_terminal((flow_job_status_t)v->status)) continue; /* as Flink: gone with the job */
    running++;
    if (scopes & FLOW_PROM_JOBS) {
      const char *labels[2][2] = {{"job_id", v->id}, {"job_name", v->name}};
      const struct {
        const char *name;
        double value;
      } ms[] = {
          {"numRestarts", v->restarts},
          {"numberOfCompletedCheckpoints", (double)v->ck_completed},
          {"numberOfFailedCheckpoints", (double)v->ck_failed},
          {"numberOfInProgressCheckpoints", (double)v->ck_in_progress},
          {"totalNumberOfCheckpoints", (double)v->ck_total},
          {"lastCompletedCheckpointId", v->ck_latest_id > 0 ? (double)v->ck_latest_id : -1},
          {"lastCheckpointDuration", (double)v->ck_last_duration_ms},
          {"lastCheckpointSize", (double)v->ck_last_size},
      };
      for (size_t k = 0; k < sizeof(ms) / sizeof(ms[0]); k++) {
        char metric[128];
        snprintf(metric, sizeof(metric), "flink_jobmanager_job_%s", ms[k].name);
        flow_prom_add(p, metric, (const char *const (*)[2])labels, 2, ms[k].value);
      }
    }
    if (scopes & FLOW_PROM_TASKS) {
      for (int i = 0; i < v->n_subtasks; i++) {
        const flow_view_subtask_t *st = &v->subtasks[i];
        if (!st->has_metrics) continue;
        task_ctx_t c = {p, v, &v->vertices[st->vertex], st, tm};
        flow_rest_subtask_metrics(v, i, add_task_metric, &c);
      }
    }
  }
  if (scopes & FLOW_PROM_CLUSTER) {
    int slots = 0, free_slots = 0;
    for (int i = 0; i < n_tms; i++) {
      slots += tms[i].slots;
      free_slots += tms[i].free_slots;
    }
    flow_prom_add(p, "flink_jobmanager_numRegisteredTaskManagers", NULL, 0, n_tms);
    flow_prom_add(p, "flink_jobmanager_numRunningJobs", NULL, 0, running);
    flow_prom_add(p, "flink_jobmanager_taskSlotsTotal", NULL, 0, slots);
    flow_prom_add(p, "flink_jobmanager_taskSlotsAvailable", NULL, 0, free_slots);
  }
  char *out = flow_prom_render(p, len);
  flow_prom_free(p);
  return out;
}

int flow_rest_listen_range(uv_loop_t *loop, const char *host, const char *ports, const flow_http_opts_t *opts,
                           flow_http_server_t **out) {
  char *end = NULL;
  long lo = strtol(ports, &end, 10), hi = lo;
  if (end == ports || lo < 0 || lo > 65535) return FLOW_EINVAL;
  while (*end == ' ') end++;
  if (*end == '-') {
    const char *h = end + 1;
    hi = strtol(h, &end, 10);
    if (end == h || hi < lo || hi > 65535) return FLOW_EINVAL;
  }
  if (*end != '\0') return FLOW_EINVAL;
  int rc = FLOW_EIO;
  for (long port = lo; port <= hi; port++)
    if ((rc = flow_http_listen(loop, host, (int)port, opts, out)) == 0) return 0;
  return rc;
}

void flow_rest_prometheus_response(const flow_http_request_t *req, flow_http_response_t *res, char *text, size_t len) {
  int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
  if (!get || (strcmp(req->path, "/metrics") != 0 && strcmp(req->path, "/") != 0)) {
    free(text);
    flow_rest_error(res, 404, "not found: the Prometheus reporter serves GET /metrics");
    return;
  }
  res->status = 200;
  res->content_type = "text/plain; version=0.0.4; charset=utf-8";
  res->body = text;
  res->body_len = len;
}
