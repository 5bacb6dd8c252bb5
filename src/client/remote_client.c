#include "client/remote_client.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordination/dispatcher_gateway.h"
#include "net/frame.h"
#include "net/transport.h"
#include "util/common.h"

static void set_opts(flow_net_opts_t *no, const flow_remote_target_t *t) {
  memset(no, 0, sizeof(*no));
  no->role = FLOW_NET_ROLE_CLIENT;
  no->name = "client";
  no->max_queued = (size_t)FLOW_FRAME_MAX + 4096; /* a submission is one frame */
  no->no_log = 1;                                 /* the client says what went wrong */
  no->secret = t->secret;
  no->secret_len = t->secret_len;
}

/* ---- one-shot requests --------------------------------------------------- */

typedef struct oneshot {
  uint8_t reply_type;
  uint32_t req;
  flow_wbuf_t *reply;
  int got;
  char reason[512];
  uv_timer_t timer;
  flow_net_conn_t *conn;
} oneshot_t;

static void os_frame(flow_net_conn_t *c, uint8_t type, const uint8_t *p, uint32_t len) {
  oneshot_t *o = flow_net_conn_data(c);
  flow_rbuf_t r;
  flow_rbuf_init(&r, p, len);
  uint32_t req = 0;
  if (type != o->reply_type || flow_rd_u32(&r, &req) != 0 || req != o->req) return; /* status pushes etc. */
  flow_wr_raw(o->reply, p + 4, len - 4);
  o->got = 1;
  flow_net_close(c);
}

static void os_close(flow_net_conn_t *c, const char *reason) {
  oneshot_t *o = flow_net_conn_data(c);
  if (!o->got) snprintf(o->reason, sizeof(o->reason), "%s", reason);
  o->conn = NULL;
  uv_close((uv_handle_t *)&o->timer, NULL);
}

static void os_timeout(uv_timer_t *h) {
  oneshot_t *o = h->data;
  if (o->conn != NULL) flow_net_fail(o->conn, "timed out waiting for the jobmanager");
}

int flow_rc_request(const flow_remote_target_t *t, uint8_t type, const void *payload, size_t len, uint8_t reply_type,
                    int64_t timeout_ms, flow_wbuf_t *reply, char *err, size_t errlen) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    snprintf(err, errlen, "cannot create an event loop");
    return -1;
  }
  oneshot_t o;
  memset(&o, 0, sizeof(o));
  o.reply_type = reply_type;
  o.req = 1;
  o.reply = reply;
  flow_wbuf_init(reply);
  flow_net_opts_t no;
  set_opts(&no, t);
  no.on_frame = os_frame;
  no.on_close = os_close;
  no.data = &o;
  int rc = flow_net_connect(&loop, t->host, t->port, &no, &o.conn);
  if (rc != 0) {
    snprintf(err, errlen, "bad jobmanager address %s:%d", t->host ? t->host : "127.0.0.1", t->port);
    uv_loop_close(&loop);
    return -1;
  }
  uv_timer_init(&loop, &o.timer);
  o.timer.data = &o;
  uv_timer_start(&o.timer, os_timeout, (uint64_t)(timeout_ms > 0 ? timeout_ms : 30000), 0);
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_wr_u32(&w, o.req);
  flow_wr_raw(&w, payload, len);
  if (w.err == 0) (void)flow_net_send(o.conn, type, w.data, (uint32_t)w.len);
  flow_wbuf_free(&w);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (!o.got) {
    snprintf(err, errlen, "cannot reach the jobmanager at %s:%d: %s", t->host ? t->host : "127.0.0.1", t->port,
             o.reason[0] ? o.reason : "no reply");
    flow_wbuf_free(reply);
    return -1;
  }
  return 0;
}

/* ---- following a submitted job ------------------------------------------ */

struct flow_remote_client {
  flow_remote_target_t target;
  char *host;
  char *secret;
  uv_loop_t loop;
  uv_thread_t thread;
  flow_net_conn_t *conn;   /* follower thread only */
  uv_async_t stop_async;   /* flow_rc_free: close the connection */
  uint8_t *payload;
  size_t payload_len;
  uv_mutex_t mu;
  uv_cond_t cond;
  /* guarded by mu */
  int rest;                /* REST mode: the thread polls; no loop or connection */
  flow_vertex_metrics_t *metrics; /* pushed counters (follower writes, client reads) */
  _Atomic int n_metrics;   /* vertices in metrics; 0 until the first push */
  flow_rest_target_t rest_t;
  int stop;                /* REST mode: flow_rc_free asks the thread to end */
  int accepted;            /* 1 accepted, -1 refused or unreachable */
  int closed;              /* the connection closed: stop_async is closing */
  char job_id[33];
  char error[600];
  flow_job_status_t status;
  int done;
  int result_taken;
  flow_job_result_t result;
};

static void rc_frame(flow_net_conn_t *c, uint8_t type, const uint8_t *p, uint32_t len) {
  flow_remote_client_t *rc = flow_net_conn_data(c);
  flow_rbuf_t r;
  flow_rbuf_init(&r, p, len);
  uint32_t req = 0;
  uint8_t ok = 0;
  char *text = NULL;
  flow_rd_u32(&r, &req);
  uv_mutex_lock(&rc->mu);
  if (type == FLOW_GATEWAY_SUBMIT_REPLY) {
    flow_rd_u8(&r, &ok);
    flow_rd_str(&r, &text, 0);
    if (r.err == 0 && ok && text != NULL && strlen(text) == 32) {
      memcpy(rc->job_id, text, 33);
      rc->accepted = 1;
    } else {
      snprintf(rc->error, sizeof(rc->error), "the jobmanager refused the job: %s", text ? text : "malformed reply");
      rc->accepted = -1;
    }
  } else if (type == FLOW_GATEWAY_STATUS_REPLY && req == 0) {
    flow_rd_u8(&r, &ok);
    flow_rd_str(&r, &text, 0);
    for (int s = 0; text != NULL && s < FLOW_JOB__COUNT; s++)
      if (strcmp(text, flow_job_status_name((flow_job_status_t)s)) == 0) rc->status = (flow_job_status_t)s;
  } else if (type == FLOW_GATEWAY_PROGRESS) {
    int32_t n = 0;
    flow_rd_i32(&r, &n);
    if (r.err == 0 && n > 0 && n <= 1 << 16 && (size_t)n * 32 == flow_rd_left(&r) &&
        (rc->metrics == NULL || atomic_load(&rc->n_metrics) == n)) {
      if (rc->metrics == NULL) rc->metrics = flow_xcalloc((size_t)n, sizeof(*rc->metrics));
      for (int v = 0; v < n; v++) {
        int64_t x[4];
        for (int k = 0; k < 4; k++) flow_rd_i64(&r, &x[k]);
        atomic_store_explicit(&rc->metrics[v].records_in, x[0], memory_order_relaxed);
        atomic_store_explicit(&rc->metrics[v].records_out, x[1], memory_order_relaxed);
        atomic_store_explicit(&rc->metrics[v].bytes_read, x[2], memory_order_relaxed);
        atomic_store_explicit(&rc->metrics[v].bytes_total, x[3], memory_order_relaxed);
      }
      atomic_store(&rc->n_metrics, n);
    }
  } else if (type == FLOW_GATEWAY_RESULT && !rc->done) {
    flow_job_result_t res;
    if (flow_gateway_read_result(&r, &res) == 0) {
      rc->result = res;
      rc->status = res.status;
      rc->done = 1;
    }
  }
  int done = rc->done;
  uv_cond_broadcast(&rc->cond);
  uv_mutex_unlock(&rc->mu);
  free(text);
  if (done || rc->accepted < 0) flow_net_close(c);
}

static void rc_close(flow_net_conn_t *c, const char *reason) {
  flow_remote_client_t *rc = flow_net_conn_data(c);
  rc->conn = NULL;
  uv_mutex_lock(&rc->mu);
  rc->closed = 1;
  if (rc->accepted == 0) {
    snprintf(rc->error, sizeof(rc->error), "cannot reach the jobmanager at %s:%d: %s",
             rc->host ? rc->host : "127.0.0.1", rc->target.port, reason);
    rc->accepted = -1;
  } else if (rc->accepted > 0 && !rc->done) {
    memcpy(rc->result.job_id, rc->job_id, 33);
    rc->result.status = FLOW_JOB_FAILED;
    size_t n = strlen(reason) + 128;
    rc->result.failure = flow_xmalloc(n);
    snprintf(rc->result.failure, n, "lost the connection to the jobmanager (the job may still run): %s", reason);
    rc->status = FLOW_JOB_FAILED;
    rc->done = 1;
  }
  uv_cond_broadcast(&rc->cond);
  uv_mutex_unlock(&rc->mu);
  uv_close((uv_handle_t *)&rc->stop_async, NULL);
}

static void rc_stop(uv_async_t *h) {
  flow_remote_client_t *rc = h->data;
  if (rc->conn != NULL) flow_net_close(rc->conn);
}

static void rc_main(void *arg) {
  flow_remote_client_t *rc = arg;
  uv_run(&rc->loop, UV_RUN_DEFAULT);
}

/* The client's own copies of the target's strings (the caller's may go). */
static void keep_copies(flow_remote_client_t *rc, const char *host, const char *secret, size_t secret_len) {
  rc->host = flow_strdup(host);
  if (secret != NULL) {
    rc->secret = flow_xmalloc(secret_len + 1);
    memcpy(rc->secret, secret, secret_len);
    rc->secret[secret_len] = '\0';
  }
}

/* After the loop ran for the last time. */
static void destroy(flow_remote_client_t *rc) {
  free(rc->metrics);
  uv_loop_close(&rc->loop);
  uv_mutex_destroy(&rc->mu);
  uv_cond_destroy(&rc->cond);
  flow_job_result_clear(&rc->result);
  free(rc->host);
  free(rc->secret);
  free(rc);
}

flow_remote_client_t *flow_rc_submit(const flow_remote_target_t *t, const uint8_t *payload, size_t len, char *err,
                                     size_t errlen) {
  flow_remote_client_t *rc = flow_xcalloc(1, sizeof(*rc));
  keep_copies(rc, t->host, t->secret, t->secret_len);
  rc->target = *t;
  rc->target.host = rc->host;
  rc->target.secret = rc->secret;
  rc->status = FLOW_JOB_INITIALIZING;
  uv_loop_init(&rc->loop);
  uv_mutex_init(&rc->mu);
  uv_cond_init(&rc->cond);
  uv_async_init(&rc->loop, &rc->stop_async, rc_stop);
  rc->stop_async.data = rc;
  flow_net_opts_t no;
  set_opts(&no, &rc->target);
  no.on_frame = rc_frame;
  no.on_close = rc_close;
  no.data = rc;
  if (flow_net_connect(&rc->loop, rc->host, t->port, &no, &rc->conn) != 0) {
    snprintf(err, errlen, "bad jobmanager address %s:%d", rc->host ? rc->host : "127.0.0.1", t->port);
    uv_close((uv_handle_t *)&rc->stop_async, NULL);
    uv_run(&rc->loop, UV_RUN_DEFAULT);
    goto fail;
  }
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_wr_u32(&w, 1);
  flow_wr_raw(&w, payload, len);
  int rc_send = w.err == 0 ? flow_net_send(rc->conn, FLOW_GATEWAY_SUBMIT, w.data, (uint32_t)w.len) : w.err;
  flow_wbuf_free(&w);
  if (rc_send != 0) {
    snprintf(err, errlen, "cannot send the job: %s", flow_strerror(rc_send));
    flow_net_close(rc->conn);
    uv_run(&rc->loop, UV_RUN_DEFAULT);
    goto fail;
  }
  if (uv_thread_create(&rc->thread, rc_main, rc) != 0) {
    snprintf(err, errlen, "cannot start the client thread");
    flow_net_close(rc->conn);
    uv_run(&rc->loop, UV_RUN_DEFAULT);
    goto fail;
  }
  uv_mutex_lock(&rc->mu);
  while (rc->accepted == 0) uv_cond_wait(&rc->cond, &rc->mu);
  int accepted = rc->accepted;
  uv_mutex_unlock(&rc->mu);
  if (accepted < 0) {
    snprintf(err, errlen, "%s", rc->error);
    uv_thread_join(&rc->thread); /* a refusal closes the connection: the loop ends */
    goto fail;
  }
  return rc;
fail:
  destroy(rc);
  return NULL;
}

const char *flow_rc_job_id(flow_remote_client_t *rc) { return rc->job_id; }

const flow_vertex_metrics_t *flow_rc_metrics(flow_remote_client_t *rc, int n_vertices) {
  return atomic_load(&rc->n_metrics) == n_vertices ? rc->metrics : NULL;
}

flow_job_status_t flow_rc_status(flow_remote_client_t *rc) {
  uv_mutex_lock(&rc->mu);
  flow_job_status_t s = rc->status;
  uv_mutex_unlock(&rc->mu);
  return s;
}

static void rest_cancel(flow_remote_client_t *rc) {
  char path[64], err[256], *body = NULL;
  int status = 0;
  snprintf(path, sizeof(path), "/jobs/%s?mode=cancel", rc->job_id);
  if (flow_rest_call(&rc->rest_t, "PATCH", path, NULL, 0, &status, &body, NULL, err, sizeof(err)) != 0)
    fprintf(stderr, "flowlua: cancel: %s\n", err);
  else if (status != 202)
    fprintf(stderr, "flowlua: cancel: HTTP %d: %s\n", status, body);
  free(body);
}

void flow_rc_cancel(flow_remote_client_t *rc) {
  if (rc->rest) {
    rest_cancel(rc);
    return;
  }
  flow_wbuf_t w, reply;
  flow_wbuf_init(&w);
  flow_wr_str(&w, rc->job_id);
  char err[256];
  if (flow_rc_request(&rc->target, FLOW_GATEWAY_CANCEL, w.data, w.len, FLOW_GATEWAY_CANCEL_REPLY, 10000, &reply, err,
                      sizeof(err)) == 0)
    flow_wbuf_free(&reply);
  else fprintf(stderr, "flowlua: cancel: %s\n", err);
  flow_wbuf_free(&w);
}

int flow_rc_wait(flow_remote_client_t *rc, int64_t timeout_ms, flow_job_result_t *out) {
  uint64_t deadline = timeout_ms >= 0 ? uv_hrtime() + (uint64_t)timeout_ms * 1000000u : 0;
  uv_mutex_lock(&rc->mu);
  while (!rc->done) {
    if (timeout_ms < 0) {
      uv_cond_wait(&rc->cond, &rc->mu);
    } else {
      uint64_t now = uv_hrtime();
      if (now >= deadline) break;
      (void)uv_cond_timedwait(&rc->cond, &rc->mu, deadline - now);
    }
  }
  int done = rc->done;
  if (done && out != NULL) {
    if (!rc->result_taken) {
      *out = rc->result;
      memset(&rc->result, 0, sizeof(rc->result));
      rc->result_taken = 1;
    } else {
      memset(out, 0, sizeof(*out));
      memcpy(out->job_id, rc->job_id, sizeof(out->job_id));
      out->status = rc->status;
    }
  }
  uv_mutex_unlock(&rc->mu);
  return done;
}

int flow_rc_savepoint(flow_remote_client_t *rc, const char *dir, int stop, int64_t timeout_ms, char *out,
                      size_t cap) {
  if (rc->rest) {
    snprintf(out, cap, "error: savepoints need the RPC client (run --jobmanager, or flowlua savepoint)");
    return -1;
  }
  flow_wbuf_t w, reply;
  flow_wbuf_init(&w);
  flow_wr_str(&w, rc->job_id);
  flow_wr_str(&w, dir);
  flow_wr_u8(&w, (uint8_t)(stop != 0));
  char err[512];
  int rc_req = flow_rc_request(&rc->target, FLOW_GATEWAY_SAVEPOINT, w.data, w.len, FLOW_GATEWAY_SAVEPOINT_REPLY, timeout_ms,
                               &reply, err, sizeof(err));
  flow_wbuf_free(&w);
  if (rc_req != 0) {
    snprintf(out, cap, "error: %s", err);
    return -1;
  }
  flow_rbuf_t r;
  flow_rbuf_init(&r, reply.data, reply.len);
  uint8_t ok = 0;
  char *text = NULL;
  flow_rd_u8(&r, &ok);
  flow_rd_str(&r, &text, 0);
  int result = -1;
  if (r.err == 0 && ok) {
    snprintf(out, cap, "%s", text);
    result = 0;
  } else {
    snprintf(out, cap, "error: %s", text ? text : "malformed reply");
  }
  free(text);
  flow_wbuf_free(&reply);
  return result;
}

void flow_rc_free(flow_remote_client_t *rc) {
  if (rc == NULL) return;
  uv_mutex_lock(&rc->mu);
  if (rc->rest) {
    rc->stop = 1;
    uv_cond_broadcast(&rc->cond);
  } else if (!rc->closed) {
    uv_async_send(&rc->stop_async);
  }
  uv_mutex_unlock(&rc->mu);
  uv_thread_join(&rc->thread);
  uv_run(&rc->loop, UV_RUN_DEFAULT);
  destroy(rc);
}

/* ---- over REST ------------------------------------------------------------ */

static void rest_finish(flow_remote_client_t *rc, flow_job_status_t status, const char *failure, int restarts,
                        int64_t runtime_ms) {
  uv_mutex_lock(&rc->mu);
  memcpy(rc->result.job_id, rc->job_id, 33);
  rc->result.status = status;
  rc->result.failure = flow_strdup(failure);
  rc->result.restarts = restarts;
  rc->result.net_runtime_ms = runtime_ms;
  rc->status = status;
  rc->done = 1;
  uv_cond_broadcast(&rc->cond);
  uv_mutex_unlock(&rc->mu);
}

/* Follows the job by polling GET /jobs/:id until it ended or free asks. */
static void rest_main(void *arg) {
  flow_remote_client_t *rc = arg;
  char path[48], err[512];
  snprintf(path, sizeof(path), "/jobs/%s", rc->job_id);
  flow_rest_target_t poll_t = rc->rest_t;
  poll_t.timeout_ms = 2000; /* a poll is short; free() waits for at most one */
  uint64_t failing_since = 0;
  for (;;) {
    uv_mutex_lock(&rc->mu);
    if (!rc->stop) (void)uv_cond_timedwait(&rc->cond, &rc->mu, 200u * 1000000u);
    int stop = rc->stop;
    uv_mutex_unlock(&rc->mu);
    if (stop) return;
    int status = 0;
    char *body = NULL;
    cJSON *j = NULL;
    const cJSON *state = NULL;
    if (flow_rest_call(&poll_t, "GET", path, NULL, 0, &status, &body, NULL, err, sizeof(err)) == 0 &&
        status == 200) {
      j = cJSON_Parse(body);
      state = j ? cJSON_GetObjectItemCaseSensitive(j, "state") : NULL;
    }
    flow_job_status_t s = FLOW_JOB__COUNT;
    for (int k = 0; cJSON_IsString(state) && k < FLOW_JOB__COUNT; k++)
      if (strcmp(state->valuestring, flow_job_status_name((flow_job_status_t)k)) == 0) s = (flow_job_status_t)k;
    if (s == FLOW_JOB__COUNT) { /* no answer, or not one we understand */
      cJSON_Delete(j);
      if (failing_since == 0) failing_since = uv_hrtime();
      if (uv_hrtime() - failing_since < 10000ull * 1000000ull) { /* 10 s */
        free(body);
        continue;
      }
      char msg[700];
      snprintf(msg, sizeof(msg), "lost the REST endpoint (the job may still run): %s",
               status ? (body ? body : "no body") : err);
      free(body);
      rest_finish(rc, FLOW_JOB_FAILED, msg, 0, 0);
      return;
    }
    failing_since = 0;
    free(body);
    uv_mutex_lock(&rc->mu);
    rc->status = s;
    uv_mutex_unlock(&rc->mu);
    if (s == FLOW_JOB_FINISHED || s == FLOW_JOB_FAILED || s == FLOW_JOB_CANCELED) {
      const cJSON *fc = cJSON_GetObjectItemCaseSensitive(j, "failure-cause");
      const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "restarts");
      const cJSON *du = cJSON_GetObjectItemCaseSensitive(j, "duration");
      rest_finish(rc, s, cJSON_IsString(fc) ? fc->valuestring : NULL, cJSON_IsNumber(rs) ? rs->valueint : 0,
                  cJSON_IsNumber(du) ? (int64_t)du->valuedouble : 0);
      cJSON_Delete(j);
      return;
    }
    cJSON_Delete(j);
  }
}

flow_remote_client_t *flow_rc_submit_rest(const flow_rest_target_t *t, const uint8_t *payload, size_t len,
                                          char *err, size_t errlen) {
  int status = 0;
  char *body = NULL;
  if (flow_rest_call(t, "POST", "/jobs", payload, len, &status, &body, NULL, err, errlen) != 0) return NULL;
  cJSON *j = cJSON_Parse(body);
  const cJSON *id = j ? cJSON_GetObjectItemCaseSensitive(j, "jobid") : NULL;
  if (status != 202 || !cJSON_IsString(id) || strlen(id->valuestring) != 32) {
    const cJSON *errs = j ? cJSON_GetObjectItemCaseSensitive(j, "errors") : NULL;
    const cJSON *e0 = cJSON_IsArray(errs) ? cJSON_GetArrayItem(errs, 0) : NULL;
    snprintf(err, errlen, "the jobmanager refused the job (HTTP %d): %s", status,
             cJSON_IsString(e0) ? e0->valuestring : body);
    cJSON_Delete(j);
    free(body);
    return NULL;
  }
  flow_remote_client_t *rc = flow_xcalloc(1, sizeof(*rc));
  rc->rest = 1;
  keep_copies(rc, t->host, t->secret, t->secret_len);
  rc->rest_t = *t;
  rc->rest_t.host = rc->host;
  rc->rest_t.secret = rc->secret;
  memcpy(rc->job_id, id->valuestring, 33);
  cJSON_Delete(j);
  free(body);
  rc->status = FLOW_JOB_INITIALIZING;
  rc->accepted = 1;
  uv_loop_init(&rc->loop); /* unused in REST mode; destroy() closes it */
  uv_mutex_init(&rc->mu);
  uv_cond_init(&rc->cond);
  if (uv_thread_create(&rc->thread, rest_main, rc) != 0) {
    snprintf(err, errlen, "cannot start the client thread");
    destroy(rc);
    return NULL;
  }
  return rc;
}
