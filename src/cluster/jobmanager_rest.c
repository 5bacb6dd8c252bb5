/* The jobmanager's REST endpoint (Flink's WebMonitorEndpoint): the routes
 * of cluster/rest_routes.h over this jobmanager's jobs and taskmanagers,
 * plus job submission:
 *
 *   POST  /jobs                submission: the body is a FLOW_GATEWAY_SUBMIT payload
 *                              without its request id (docs/wire.md); 202 {"jobid"}
 *
 * With a cluster secret every non-GET request must be signed (the HTTP layer
 * checks it: docs/rest.md); without one the endpoint binds to loopback only.
 * Loop thread only: views are built from the live JobMasters on request. */
#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/jobmanager_internal.h"
#include "cluster/rest_routes.h"
#include "net/http_server.h"
#include "util/clock.h"
#include "util/common.h"

#define REST_MAX_BODY (64u << 20)

static int free_slots_of(flow_jobmanager_t *jmgr, flow_jobmanager_tm_t *tm) {
  for (int i = 0; i < jmgr->rm.n_tes; i++)
    if (jmgr->rm.tes[i] == &tm->ep) return jmgr->rm.te_slots[i];
  return 0;
}

static int jm_jobs(void *data, flow_job_view_t ***out) {
  flow_jobmanager_t *jmgr = data;
  int n = 0;
  for (flow_jobmanager_job_t *j = jmgr->jobs; j != NULL; j = j->next) n++;
  flow_job_view_t **a = flow_xcalloc((size_t)n + 1, sizeof(*a));
  int k = 0;
  for (flow_jobmanager_job_t *j = jmgr->jobs; j != NULL; j = j->next) {
    flow_job_view_t *v = flow_jobmanager_job_view(jmgr, j);
    if (v != NULL) a[k++] = v;
  }
  *out = a;
  return k;
}

static int jm_taskmanagers(void *data, flow_rest_tm_t **out) {
  flow_jobmanager_t *jmgr = data;
  int n = 0;
  for (flow_jobmanager_tm_t *tm = jmgr->tms; tm != NULL; tm = tm->next) n += !tm->ep.lost;
  flow_rest_tm_t *a = flow_xcalloc((size_t)n + 1, sizeof(*a));
  uint64_t now = uv_hrtime();
  int k = 0;
  for (flow_jobmanager_tm_t *tm = jmgr->tms; tm != NULL; tm = tm->next) {
    if (tm->ep.lost) continue;
    flow_rest_tm_t *t = &a[k++];
    snprintf(t->id, sizeof(t->id), "%s", tm->name);
    snprintf(t->path, sizeof(t->path), "%s", tm->conn ? flow_transport_peer(tm->conn) : "");
    snprintf(t->data_address, sizeof(t->data_address), "%s", tm->data_addr);
    const char *colon = strrchr(tm->data_addr, ':');
    t->data_port = colon ? atoi(colon + 1) : 0;
    t->since_heartbeat_ms = (int64_t)((now - tm->last_heard_ns) / 1000000u);
    t->registered_ms = tm->registered_ms;
    t->slots = tm->slots;
    t->free_slots = free_slots_of(jmgr, tm);
    t->cpu_cores = tm->hw_cpu_cores;
    t->physical_memory = tm->hw_physical_memory;
    t->free_memory = tm->hw_free_memory;
    t->rss_bytes = tm->hw_rss_bytes;
    t->threads = tm->hw_threads;
  }
  *out = a;
  return k;
}

static int jm_cancel(void *data, const char *id, char *msg, size_t cap) {
  return flow_jobmanager_cancel(data, id, msg, cap);
}

static void submit(void *data, const flow_http_request_t *req, flow_http_response_t *res) {
  flow_jobmanager_t *jmgr = data;
  if (jmgr->opt.secret != NULL && !req->authenticated) { /* the HTTP layer refuses this already */
    flow_rest_error(res, 401, "authentication required: sign the request with the cluster secret");
    return;
  }
  flow_rbuf_t r;
  flow_rbuf_init(&r, req->body, req->body_len);
  flow_gateway_submission_t sub;
  const char *why = NULL;
  if (flow_gateway_read_submission(&r, &sub, &why) != 0) {
    flow_rest_error(res, 400, why);
    return;
  }
  char id[33], err[600];
  int rc = flow_jobmanager_submit(jmgr, &sub, NULL, 0, id, err, sizeof(err));
  flow_gateway_options_clear(&sub.opt);
  if (rc != 0) {
    flow_rest_error(res, 400, err);
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "jobid", id);
  flow_rest_json(res, 202, o);
}

/* GET /jobmanager/config: the jobmanager's settings under Flink's keys
 * (the secret is never shown, only whether there is one). */
static void jm_config(void *data, void *arr) {
  const flow_jobmanager_t *jmgr = data;
  const flow_jobmanager_options_t *o = &jmgr->opt;
  cJSON *a = arr;
  char v[64];
  flow_rest_config_add(a, "jobmanager.rpc.address", o->bind_host != NULL ? o->bind_host : "127.0.0.1");
  snprintf(v, sizeof(v), "%d", flow_transport_server_port(jmgr->server));
  flow_rest_config_add(a, "jobmanager.rpc.port", v);
  flow_rest_config_add(a, "rest.address", o->rest_host != NULL ? o->rest_host : "127.0.0.1");
  snprintf(v, sizeof(v), "%d", flow_http_server_port(jmgr->rest));
  flow_rest_config_add(a, "rest.port", v);
  snprintf(v, sizeof(v), "%lld", (long long)o->heartbeat_interval_ms);
  flow_rest_config_add(a, "heartbeat.interval", v);
  snprintf(v, sizeof(v), "%lld", (long long)o->heartbeat_timeout_ms);
  flow_rest_config_add(a, "heartbeat.timeout", v);
  snprintf(v, sizeof(v), "%lld", (long long)o->slot_timeout_ms);
  flow_rest_config_add(a, "slot.request.timeout", v);
  flow_rest_config_add(a, "security.authentication", o->secret != NULL ? "shared secret" : "none (loopback only)");
}

static void handle(void *ud, const flow_http_request_t *req, flow_http_response_t *res) {
  flow_jobmanager_t *jmgr = ud;
  const flow_rest_backend_t b = {
      .data = jmgr,
      .jobs = jm_jobs,
      .taskmanagers = jm_taskmanagers,
      .cancel = jm_cancel,
      .config = jm_config,
      .submit = submit,
      .web_cancel = 1, /* with a secret, the dashboard asks for it and signs (WebCrypto) */
  };
  flow_rest_handle(&b, req, res);
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
  if (jmgr->prom != NULL) flow_http_server_close(jmgr->prom);
  jmgr->rest = jmgr->prom = NULL;
}

/* GET /metrics: the jobmanager's scope (jobs and the cluster); every
 * taskmanager serves its tasks' */
static void handle_prom(void *ud, const flow_http_request_t *req, flow_http_response_t *res) {
  flow_jobmanager_t *jmgr = ud;
  flow_job_view_t **jobs = NULL;
  int n = jm_jobs(jmgr, &jobs);
  flow_rest_tm_t *tms = NULL;
  int n_tms = jm_taskmanagers(jmgr, &tms);
  size_t len = 0;
  char *text = flow_rest_prometheus(jobs, n, tms, n_tms, "", FLOW_PROM_JOBS | FLOW_PROM_CLUSTER, &len);
  flow_rest_views_free(jobs, n);
  free(tms);
  flow_rest_prometheus_response(req, res, text, len);
}

int flow_jobmanager_prom_start(flow_jobmanager_t *jmgr, const char *host, const char *ports, int *bound_port) {
  flow_http_opts_t ho;
  memset(&ho, 0, sizeof(ho));
  ho.handler = handle_prom;
  ho.data = jmgr;
  int rc = flow_rest_listen_range(&jmgr->loop, host, ports, &ho, &jmgr->prom);
  if (rc != 0) return rc;
  *bound_port = flow_http_server_port(jmgr->prom);
  return 0;
}
