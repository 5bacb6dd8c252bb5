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

static void set_opts(flow_transport_opts_t *no, const flow_remote_target_t *t) {
  memset(no, 0, sizeof(*no));
  no->role = FLOW_TRANSPORT_ROLE_CLIENT;
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
  flow_transport_conn_t *conn;
} oneshot_t;

static void os_frame(flow_transport_conn_t *c, uint8_t type, const uint8_t *p, uint32_t len) {
  oneshot_t *o = flow_transport_conn_data(c);
  flow_rbuf_t r;
  flow_rbuf_init(&r, p, len);
  uint32_t req = 0;
  if (type != o->reply_type || flow_rd_u32(&r, &req) != 0 || req != o->req) return; /* status pushes etc. */
  flow_wr_raw(o->reply, p + 4, len - 4);
  o->got = 1;
  flow_transport_close(c);
}

static void os_close(flow_transport_conn_t *c, const char *reason) {
  oneshot_t *o = flow_transport_conn_data(c);
  if (!o->got) snprintf(o->reason, sizeof(o->reason), "%s", reason);
  o->conn = NULL;
  uv_close((uv_handle_t *)&o->timer, NULL);
}

static void os_timeout(uv_timer_t *h) {
  oneshot_t *o = h->data;
  if (o->conn != NULL) flow_transport_fail(o->conn, "timed out waiting for the jobmanager");
}

int flow_remote_request(const flow_remote_target_t *t, uint8_t type, const void *payload, size_t len, uint8_t reply_type,
                    int64_t timeout_ms, flow_wbuf_t *reply, char *err, size_t errlen) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    snprintf(err, errlen, "cannot create an event loop");
    return FLOW_EIO;
  }
  oneshot_t o;
  memset(&o, 0, sizeof(o));
  o.reply_type = reply_type;
  o.req = 1;
  o.reply = reply;
  flow_wbuf_init(reply);
  flow_transport_opts_t no;
  set_opts(&no, t);
  no.on_frame = os_frame;
  no.on_close = os_close;
  no.data = &o;
  int rc = flow_transport_connect(&loop, t->host, t->port, &no, &o.conn);
  if (rc != 0) {
    snprintf(err, errlen, "bad jobmanager address %s:%d", t->host ? t->host : "127.0.0.1", t->port);
    uv_loop_close(&loop);
    return FLOW_EINVAL;
  }
  uv_timer_init(&loop, &o.timer);
  o.timer.data = &o;
  uv_timer_start(&o.timer, os_timeout, (uint64_t)(timeout_ms > 0 ? timeout_ms : 30000), 0);
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_wr_u32(&w, o.req);
  flow_wr_raw(&w, payload, len);
  if (w.err == 0) (void)flow_transport_send(o.conn, type, w.data, (uint32_t)w.len);
  flow_wbuf_free(&w);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (!o.got) {
    snprintf(err, errlen, "cannot reach the jobmanager at %s:%d: %s", t->host ? t->host : "127.0.0.1", t->port,
             o.reason[0] ? o.reason : "no reply");
    flow_wbuf_free(reply);
    return FLOW_EIO;
  }
  return 0;
}

/* ---- following a submitted job ------------------------------------------ */

typedef struct remote_client {
  flow_job_client_t base;  /* first: the client is freed through it */
  flow_remote_target_t target;
  char *host;
  char *secret;
  uv_loop_t loop;
  uv_thread_t thread;
  flow_transport_conn_t *conn;   /* follower thread only */
  uv_async_t stop_async;   /* free: close the connection */
  flow_vertex_metrics_t *metrics; /* pushed counters (follower writes, client reads) */
  _Atomic int n_metrics;   /* vertices in metrics; 0 until the first push */
  /* guarded by base.mu */
  int accepted;            /* 1 accepted, -1 refused or unreachable */
  int closed;              /* the connection closed: stop_async is closing */
  char error[600];
} remote_client_t;

static void rc_frame(flow_transport_conn_t *c, uint8_t type, const uint8_t *p, uint32_t len) {
  remote_client_t *rc = flow_transport_conn_data(c);
  flow_rbuf_t r;
  flow_rbuf_init(&r, p, len);
  uint32_t req = 0;
  uint8_t ok = 0;
  char *text = NULL;
  int close = 0;
  flow_rd_u32(&r, &req);
  if (type == FLOW_GATEWAY_SUBMIT_REPLY) {
    flow_rd_u8(&r, &ok);
    flow_rd_str(&r, &text, 0);
    uv_mutex_lock(&rc->base.mu);
    if (r.err == 0 && ok && text != NULL && flow_gateway_is_job_id(text)) {
      memcpy(rc->base.job_id, text, 33);
      rc->accepted = 1;
    } else {
      snprintf(rc->error, sizeof(rc->error), "the jobmanager refused the job: %s", text ? text : "malformed reply");
      rc->accepted = -1;
      close = 1;
    }
    uv_cond_broadcast(&rc->base.cond);
    uv_mutex_unlock(&rc->base.mu);
  } else if (type == FLOW_GATEWAY_STATUS_REPLY && req == 0) {
    flow_rd_u8(&r, &ok);
    flow_rd_str(&r, &text, 0);
    for (int s = 0; text != NULL && s < FLOW_JOB__COUNT; s++)
      if (strcmp(text, flow_job_status_name((flow_job_status_t)s)) == 0)
        flow_job_client_set_status(&rc->base, (flow_job_status_t)s);
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
  } else if (type == FLOW_GATEWAY_RESULT) {
    flow_job_result_t res;
    if (flow_gateway_read_result(&r, &res) == 0) {
      flow_job_client_complete(&rc->base, &res);
      close = 1;
    }
  }
  free(text);
  if (close) flow_transport_close(c);
}

static void rc_close(flow_transport_conn_t *c, const char *reason) {
  remote_client_t *rc = flow_transport_conn_data(c);
  rc->conn = NULL;
  uv_mutex_lock(&rc->base.mu);
  rc->closed = 1;
  int accepted = rc->accepted;
  if (accepted == 0) {
    snprintf(rc->error, sizeof(rc->error), "cannot reach the jobmanager at %s:%d: %s",
             rc->host ? rc->host : "127.0.0.1", rc->target.port, reason);
    rc->accepted = -1;
  }
  uv_cond_broadcast(&rc->base.cond);
  uv_mutex_unlock(&rc->base.mu);
  if (accepted > 0) { /* a result that came first wins */
    char msg[700];
    snprintf(msg, sizeof(msg), "lost the connection to the jobmanager (the job may still run): %s", reason);
    flow_job_client_fail(&rc->base, msg);
  }
  uv_close((uv_handle_t *)&rc->stop_async, NULL);
}

static void rc_stop(uv_async_t *h) {
  remote_client_t *rc = h->data;
  if (rc->conn != NULL) flow_transport_close(rc->conn);
}

static void rc_main(void *arg) {
  remote_client_t *rc = arg;
  uv_run(&rc->loop, UV_RUN_DEFAULT);
}

/* After the loop ran for the last time. */
static void destroy(remote_client_t *rc) {
  free(rc->metrics);
  uv_loop_close(&rc->loop);
  flow_job_client_destroy(&rc->base);
  free(rc->host);
  free(rc->secret);
  free(rc);
}

static const flow_vertex_metrics_t *rc_metrics(flow_job_client_t *c, int n_vertices) {
  remote_client_t *rc = (remote_client_t *)c;
  return atomic_load(&rc->n_metrics) == n_vertices ? rc->metrics : NULL;
}

static void rc_cancel(flow_job_client_t *c) {
  remote_client_t *rc = (remote_client_t *)c;
  flow_wbuf_t w, reply;
  flow_wbuf_init(&w);
  flow_wr_str(&w, rc->base.job_id);
  char err[256];
  if (flow_remote_request(&rc->target, FLOW_GATEWAY_CANCEL, w.data, w.len, FLOW_GATEWAY_CANCEL_REPLY, 10000, &reply,
                          err, sizeof(err)) == 0)
    flow_wbuf_free(&reply);
  else fprintf(stderr, "flowlua: cancel: %s\n", err);
  flow_wbuf_free(&w);
}

static int rc_savepoint(flow_job_client_t *c, const char *dir, int stop, int64_t timeout_ms, char *out, size_t cap) {
  remote_client_t *rc = (remote_client_t *)c;
  flow_wbuf_t w, reply;
  flow_wbuf_init(&w);
  flow_wr_str(&w, rc->base.job_id);
  flow_wr_str(&w, dir);
  flow_wr_u8(&w, (uint8_t)(stop != 0));
  char err[512];
  int rc_req = flow_remote_request(&rc->target, FLOW_GATEWAY_SAVEPOINT, w.data, w.len, FLOW_GATEWAY_SAVEPOINT_REPLY,
                                   timeout_ms, &reply, err, sizeof(err));
  flow_wbuf_free(&w);
  if (rc_req != 0) {
    snprintf(out, cap, "error: %s", err);
    return rc_req;
  }
  flow_rbuf_t r;
  flow_rbuf_init(&r, reply.data, reply.len);
  uint8_t ok = 0;
  char *text = NULL;
  flow_rd_u8(&r, &ok);
  flow_rd_str(&r, &text, 0);
  int result = FLOW_EIO;
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

static void rc_free(flow_job_client_t *c) {
  remote_client_t *rc = (remote_client_t *)c;
  uv_mutex_lock(&rc->base.mu);
  int closed = rc->closed;
  uv_mutex_unlock(&rc->base.mu);
  if (!closed) uv_async_send(&rc->stop_async);
  uv_thread_join(&rc->thread);
  uv_run(&rc->loop, UV_RUN_DEFAULT);
  destroy(rc);
}

static const flow_job_client_ops_t remote_ops = {
    .cancel = rc_cancel,
    .savepoint = rc_savepoint,
    .metrics = rc_metrics,
    .free = rc_free,
};

flow_job_client_t *flow_remote_client_submit(const flow_remote_target_t *t, const uint8_t *payload, size_t len,
                                             char *err, size_t errlen) {
  remote_client_t *rc = flow_xcalloc(1, sizeof(*rc));
  flow_job_client_init(&rc->base, &remote_ops);
  rc->host = flow_strdup(t->host);
  rc->secret = flow_xmemdup(t->secret, t->secret_len);
  rc->target = *t;
  rc->target.host = rc->host;
  rc->target.secret = rc->secret;
  uv_loop_init(&rc->loop);
  uv_async_init(&rc->loop, &rc->stop_async, rc_stop);
  rc->stop_async.data = rc;
  flow_transport_opts_t no;
  set_opts(&no, &rc->target);
  no.on_frame = rc_frame;
  no.on_close = rc_close;
  no.data = rc;
  if (flow_transport_connect(&rc->loop, rc->host, t->port, &no, &rc->conn) != 0) {
    snprintf(err, errlen, "bad jobmanager address %s:%d", rc->host ? rc->host : "127.0.0.1", t->port);
    uv_close((uv_handle_t *)&rc->stop_async, NULL);
    uv_run(&rc->loop, UV_RUN_DEFAULT);
    goto fail;
  }
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_wr_u32(&w, 1);
  flow_wr_raw(&w, payload, len);
  int rc_send = w.err == 0 ? flow_transport_send(rc->conn, FLOW_GATEWAY_SUBMIT, w.data, (uint32_t)w.len) : w.err;
  flow_wbuf_free(&w);
  if (rc_send != 0) {
    snprintf(err, errlen, "cannot send the job: %s", flow_strerror(rc_send));
    flow_transport_close(rc->conn);
    uv_run(&rc->loop, UV_RUN_DEFAULT);
    goto fail;
  }
  if (uv_thread_create(&rc->thread, rc_main, rc) != 0) {
    snprintf(err, errlen, "cannot start the client thread");
    flow_transport_close(rc->conn);
    uv_run(&rc->loop, UV_RUN_DEFAULT);
    goto fail;
  }
  uv_mutex_lock(&rc->base.mu);
  while (rc->accepted == 0) uv_cond_wait(&rc->base.cond, &rc->base.mu);
  int accepted = rc->accepted;
  uv_mutex_unlock(&rc->base.mu);
  if (accepted < 0) {
    snprintf(err, errlen, "%s", rc->error);
    uv_thread_join(&rc->thread); /* a refusal closes the connection: the loop ends */
    goto fail;
  }
  return &rc->base;
fail:
  destroy(rc);
  return NULL;
}
