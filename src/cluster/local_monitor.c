#include "cluster/local_monitor.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cluster/rest_routes.h"
#include "net/auth.h"
#include "net/http_server.h"
#include "util/clock.h"
#include "util/common.h"

#define MONITOR_HISTORY 100 /* finished jobs kept (the oldest go first) */

typedef struct mon_job {
  char id[33];
  flow_minicluster_t *mc;   /* while the job's MiniCluster lives */
  flow_job_view_t *view;    /* its last view once removed */
  struct mon_job *next;     /* newest first */
} mon_job_t;

static struct {
  uv_mutex_t mu;            /* guards jobs (and the MiniClusters in it) */
  int started;
  uv_thread_t thread;
  uv_loop_t loop;
  uv_async_t stop;
  flow_http_server_t *server, *prom;
  int port, prom_port;
  char host[64];
  int64_t start_ms;
  mon_job_t *jobs;
} g_mon;

static uv_once_t g_once = UV_ONCE_INIT;
static void init_mutex(void) { uv_mutex_init(&g_mon.mu); }

/* ---- the backend (monitor thread) ------------------------------------------ */

static int mon_jobs(void *data, flow_job_view_t ***out) {
  (void)data;
  uv_mutex_lock(&g_mon.mu);
  int n = 0;
  for (mon_job_t *j = g_mon.jobs; j != NULL; j = j->next) n++;
  flow_job_view_t **a = flow_xcalloc((size_t)n + 1, sizeof(*a));
  int k = 0;
  for (mon_job_t *j = g_mon.jobs; j != NULL; j = j->next) {
    flow_job_view_t *v = j->mc != NULL ? flow_minicluster_view(j->mc) : flow_job_view_ref(j->view);
    if (v != NULL) a[k++] = v;
  }
  uv_mutex_unlock(&g_mon.mu);
  *out = a;
  return k;
}

/* One taskmanager: this process, with the slots of its running jobs. */
static int mon_taskmanagers(void *data, flow_rest_tm_t **out) {
  (void)data;
  flow_rest_tm_t *t = flow_xcalloc(1, sizeof(*t));
  snprintf(t->id, sizeof(t->id), "local");
  snprintf(t->path, sizeof(t->path), "in-process (MiniCluster)");
  snprintf(t->data_address, sizeof(t->data_address), "%s", g_mon.host);
  t->registered_ms = g_mon.start_ms;
  flow_job_view_t **jobs = NULL;
  int n = mon_jobs(NULL, &jobs);
  for (int i = 0; i < n; i++) {
    if (!flow_job_status_is_globally_terminal((flow_job_status_t)jobs[i]->status)) {
      t->slots += jobs[i]->slots_total;
      t->free_slots += jobs[i]->slots_free;
    }
  }
  flow_rest_views_free(jobs, n);
  flow_rest_local_hardware(t);
  *out = t;
  return 1;
}

static int mon_cancel(void *data, const char *id, char *msg, size_t cap) {
  (void)data;
  int rc = FLOW_EINVAL;
  uv_mutex_lock(&g_mon.mu);
  for (mon_job_t *j = g_mon.jobs; j != NULL; j = j->next) {
    if (strcmp(j->id, id) != 0) continue;
    if (j->mc != NULL && !flow_job_status_is_globally_terminal(flow_minicluster_status(j->mc))) {
      flow_minicluster_cancel(j->mc);
      snprintf(msg, cap, "canceling");
      rc = 0;
    } else {
      snprintf(msg, cap, "the job has ended");
      rc = FLOW_ESTATE;
    }
    break;
  }
  uv_mutex_unlock(&g_mon.mu);
  if (rc == FLOW_EINVAL) snprintf(msg, cap, "no such job");
  return rc;
}

static void mon_config(void *data, void *arr) {
  (void)data;
  cJSON *a = arr;
  char port[16];
  snprintf(port, sizeof(port), "%d", g_mon.port);
  flow_rest_config_add(a, "execution.target", "local");
  flow_rest_config_add(a, "rest.address", g_mon.host);
  flow_rest_config_add(a, "rest.port", port);
}

static const flow_rest_backend_t g_backend = {
    .jobs = mon_jobs,
    .taskmanagers = mon_taskmanagers,
    .cancel = mon_cancel,
    .config = mon_config,
    .web_cancel = 1,
};

static void handle(void *ud, const flow_http_request_t *req, flow_http_response_t *res) {
  (void)ud;
  flow_rest_handle(&g_backend, req, res);
}

/* the Prometheus reporter: this process is the jobmanager and the taskmanager */
static void handle_prom(void *ud, const flow_http_request_t *req, flow_http_response_t *res) {
  (void)ud;
  flow_job_view_t **jobs = NULL;
  int n = mon_jobs(NULL, &jobs);
  flow_rest_tm_t *tms = NULL;
  int n_tms = mon_taskmanagers(NULL, &tms);
  size_t len = 0;
  char *text = flow_rest_prometheus(jobs, n, tms, n_tms, "local", FLOW_PROM_TASKS | FLOW_PROM_JOBS | FLOW_PROM_CLUSTER,
                                    &len);
  flow_rest_views_free(jobs, n);
  free(tms);
  flow_rest_prometheus_response(req, res, text, len);
}

/* ---- the thread --------------------------------------------------------------- */

static void on_stop(uv_async_t *h) {
  if (g_mon.server != NULL) flow_http_server_close(g_mon.server);
  if (g_mon.prom != NULL) flow_http_server_close(g_mon.prom);
  g_mon.server = g_mon.prom = NULL;
  uv_close((uv_handle_t *)h, NULL);
}

static void monitor_main(void *arg) {
  (void)arg;
  uv_run(&g_mon.loop, UV_RUN_DEFAULT);
  uv_loop_close(&g_mon.loop);
}

static void close_servers(void) {
  if (g_mon.server != NULL) flow_http_server_close(g_mon.server);
  if (g_mon.prom != NULL) flow_http_server_close(g_mon.prom);
  g_mon.server = g_mon.prom = NULL;
  uv_run(&g_mon.loop, UV_RUN_DEFAULT);
  uv_loop_close(&g_mon.loop);
}

int flow_local_monitor_start(const flow_local_monitor_opts_t *o, char *err, size_t errlen) {
  uv_once(&g_once, init_mutex);
  if (g_mon.started) return 0;
  const char *host = o->host != NULL && o->host[0] != '\0' ? o->host : "127.0.0.1";
  if (o->rest_port >= 0 && o->secret == NULL && !flow_auth_is_loopback(host)) {
    snprintf(err, errlen,
             "rest.address %s would expose the job: give a cluster secret (FLOWLUA_CLUSTER_SECRET) or bind to "
             "127.0.0.1",
             host);
    return FLOW_EINVAL;
  }
  if (uv_loop_init(&g_mon.loop) != 0) {
    snprintf(err, errlen, "could not start the REST loop");
    return FLOW_EIO;
  }
  flow_http_opts_t ho;
  memset(&ho, 0, sizeof(ho));
  ho.secret = o->secret;
  ho.secret_len = o->secret_len;
  ho.handler = handle;
  int rc;
  if (o->rest_port >= 0 && (rc = flow_http_listen(&g_mon.loop, host, o->rest_port, &ho, &g_mon.server)) != 0) {
    close_servers();
    snprintf(err, errlen, "cannot serve REST on %s:%d", host, o->rest_port);
    return rc;
  }
  if (o->prom_ports != NULL) {
    flow_http_opts_t po;
    memset(&po, 0, sizeof(po));
    po.handler = handle_prom; /* read-only: GET /metrics */
    if ((rc = flow_rest_listen_range(&g_mon.loop, host, o->prom_ports, &po, &g_mon.prom)) != 0) {
      close_servers();
      snprintf(err, errlen, "metrics.reporter.prom.port %s: %s", o->prom_ports,
               rc == FLOW_EINVAL ? "not a port or a range FROM-TO" : "no free port");
      return rc;
    }
    g_mon.prom_port = flow_http_server_port(g_mon.prom);
  }
  g_mon.port = g_mon.server != NULL ? flow_http_server_port(g_mon.server) : 0;
  snprintf(g_mon.host, sizeof(g_mon.host), "%s", host);
  g_mon.start_ms = flow_now_ms();
  uv_async_init(&g_mon.loop, &g_mon.stop, on_stop);
  if (uv_thread_create(&g_mon.thread, monitor_main, NULL) != 0) {
    uv_close((uv_handle_t *)&g_mon.stop, NULL);
    close_servers();
    snprintf(err, errlen, "could not start the REST thread");
    return FLOW_EIO;
  }
  g_mon.started = 1;
  return 0;
}

int flow_local_monitor_on(void) { return g_mon.started; }
int flow_local_monitor_prom_port(void) { return g_mon.started ? g_mon.prom_port : 0; }

int flow_local_monitor_port(void) { return g_mon.started ? g_mon.port : 0; }

void flow_local_monitor_add(flow_minicluster_t *mc) {
  if (!g_mon.started || mc == NULL) return;
  mon_job_t *j = flow_xcalloc(1, sizeof(*j));
  snprintf(j->id, sizeof(j->id), "%s", flow_minicluster_job_id(mc));
  j->mc = mc;
  uv_mutex_lock(&g_mon.mu);
  j->next = g_mon.jobs;
  g_mon.jobs = j;
  uv_mutex_unlock(&g_mon.mu);
}

static void free_job(mon_job_t *j) {
  flow_job_view_unref(j->view);
  free(j);
}

void flow_local_monitor_remove(flow_minicluster_t *mc) {
  if (!g_mon.started || mc == NULL) return;
  flow_job_view_t *last = flow_minicluster_view(mc);
  uv_mutex_lock(&g_mon.mu);
  int kept = 0;
  for (mon_job_t **pp = &g_mon.jobs; *pp != NULL;) {
    mon_job_t *j = *pp;
    if (j->mc == mc) {
      j->mc = NULL;
      j->view = last;
      last = NULL;
    }
    if (j->mc == NULL && ++kept > MONITOR_HISTORY) { /* the oldest finished job goes */
      *pp = j->next;
      free_job(j);
      continue;
    }
    pp = &j->next;
  }
  uv_mutex_unlock(&g_mon.mu);
  flow_job_view_unref(last);
}

void flow_local_monitor_stop(void) {
  if (!g_mon.started) return;
  uv_async_send(&g_mon.stop);
  uv_thread_join(&g_mon.thread);
  uv_mutex_lock(&g_mon.mu);
  while (g_mon.jobs != NULL) {
    mon_job_t *j = g_mon.jobs;
    g_mon.jobs = j->next;
    free_job(j);
  }
  uv_mutex_unlock(&g_mon.mu);
  g_mon.started = 0;
  g_mon.port = g_mon.prom_port = 0;
}
