/* Flink's REST API (WebMonitorEndpoint, v1 shapes), rendered from job views
 * (coordination/job_view.h): the same routes in every mode. The jobmanager
 * (jobmanager_rest.c) and the local monitor of `flowlua --set rest.port`
 * (local_monitor.c) each give a backend; a request is answered at once on
 * the HTTP server's loop thread (handlers are synchronous).
 *
 *   GET   /config, /overview, /jobmanager/config, /jobmanager/metrics[?get=]
 *   GET   /jobs, /jobs/overview
 *   GET   /jobs/:jid  /plan  /exceptions  /config  /accumulators  /metrics[?get=]  /checkpoints
 *   GET   /jobs/:jid/vertices/:vid  /metrics[?get=]  /subtasks/metrics[?get=]  /subtasks/:n
 *                                   /backpressure  /watermarks
 *   GET   /taskmanagers, /taskmanagers/:tmid, /taskmanagers/:tmid/metrics[?get=]
 *   PATCH /jobs/:jid?mode=cancel
 *   POST  /jobs                      (backends that take submissions)
 *   GET   /metrics                   Prometheus text format (rest_prometheus.c)
 *   GET   /, /web/...                the dashboard (web/, embedded)
 *
 * Ids: job and vertex ids are 32 hex digits (a vertex's 1-based number is
 * accepted too); one that does not parse gets 400, an unknown one 404, both
 * with Flink's {"errors":[...]}. */
#ifndef FLOW_CLUSTER_REST_ROUTES_H
#define FLOW_CLUSTER_REST_ROUTES_H

#include <stdint.h>

#include "coordination/job_view.h"
#include "net/http_server.h"

/* A taskmanager as REST shows it (Flink's TaskManagerInfo). */
typedef struct flow_rest_tm {
  char id[96];
  char path[128];
  char data_address[96];
  int data_port;
  int64_t since_heartbeat_ms;
  int64_t registered_ms;
  int slots, free_slots;
  int cpu_cores;          /* hardware, 0: unknown */
  int64_t physical_memory, free_memory; /* bytes, 0: unknown */
  int64_t rss_bytes;      /* the process's resident memory, -1: unknown */
  int threads;            /* the process's threads, -1: unknown */
} flow_rest_tm_t;

typedef struct flow_rest_backend {
  void *data;
  /* Every job's view, newest first, as an array of references (the caller
   * unrefs each and frees the array); the count. */
  int (*jobs)(void *data, flow_job_view_t ***out);
  /* The taskmanagers (malloc'd array, the caller frees it); the count. */
  int (*taskmanagers)(void *data, flow_rest_tm_t **out);
  /* Cancels job id: 0, FLOW_EINVAL (no such job) or FLOW_ESTATE (ended). */
  int (*cancel)(void *data, const char *id, char *msg, size_t cap);
  /* Appends Flink's {"key","value"} settings to a (a cJSON array). */
  void (*config)(void *data, void *a);
  /* POST /jobs, or NULL: no submissions here. */
  void (*submit)(void *data, const flow_http_request_t *req, flow_http_response_t *res);
  int web_cancel;         /* the dashboard may cancel (no secret, or it can sign) */
} flow_rest_backend_t;

/* Answers req from b's views. */
void flow_rest_handle(const flow_rest_backend_t *b, const flow_http_request_t *req, flow_http_response_t *res);
/* {"errors":[msg]} with status. */
void flow_rest_error(flow_http_response_t *res, int status, const char *msg);
/* Answers status with the JSON of j (a cJSON *, which this frees). */
void flow_rest_json(flow_http_response_t *res, int status, void *j);
/* Appends {"key","value"} to arr (a cJSON array): a backend's config. */
void flow_rest_config_add(void *arr, const char *key, const char *value);
/* Unrefs views[0..n) and frees the array (what backend.jobs gave). */
void flow_rest_views_free(flow_job_view_t **views, int n);

/* The metrics of one subtask, Flink's ids without the "N." prefix (task
 * metrics, then "<operator>.<metric>" per operator), for REST and the
 * Prometheus reporter. op: operator index or -1 for a task metric. */
typedef void (*flow_rest_metric_fn)(void *ud, int op, const char *name, double value);
void flow_rest_subtask_metrics(const flow_job_view_t *v, int idx, flow_rest_metric_fn fn, void *ud);
/* An operator's name as Flink's metric scope shows it: at most 80
 * characters, none outside [A-Za-z0-9_-] (they become '_'). */
void flow_rest_operator_scope(const char *name, char *out, size_t cap);

/* Prometheus text (metrics/prometheus.h) with Flink's reporter names:
 * FLOW_PROM_TASKS: flink_taskmanager_job_task_<m> and
 * flink_taskmanager_job_task_operator_<m> of the jobs' running subtasks
 * (tm: the taskmanager id label); FLOW_PROM_JOBS: flink_jobmanager_job_<m>
 * of running jobs; FLOW_PROM_CLUSTER: flink_jobmanager_<m> from tms. */
enum { FLOW_PROM_TASKS = 1, FLOW_PROM_JOBS = 2, FLOW_PROM_CLUSTER = 4 };
char *flow_rest_prometheus(flow_job_view_t *const *jobs, int n, const flow_rest_tm_t *tms, int n_tms, const char *tm,
                           int scopes, size_t *len);

/* Listens on the first free port of `ports` ("9249" or a range
 * "9250-9260", as Flink's metrics.reporter.prom.port): 0 and *out, or the
 * last error (FLOW_EINVAL for a malformed range). */
int flow_rest_listen_range(uv_loop_t *loop, const char *host, const char *ports, const flow_http_opts_t *opts,
                           flow_http_server_t **out);
/* A handler answering GET /metrics with text (malloc'd) in the Prometheus
 * content type; anything else 404. */
void flow_rest_prometheus_response(const flow_http_request_t *req, flow_http_response_t *res, char *text, size_t len);

/* Fills the process's hardware and resource fields of t (Linux /proc). */
void flow_rest_local_hardware(flow_rest_tm_t *t);

#endif
