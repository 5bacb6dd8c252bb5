#include "client/job_client.h"

#include <string.h>

#include "util/common.h"

void flow_job_client_init(flow_job_client_t *c, const flow_job_client_ops_t *ops) {
  memset(c, 0, sizeof(*c));
  c->ops = ops;
  c->status = FLOW_JOB_INITIALIZING;
  uv_mutex_init(&c->mu);
  uv_cond_init(&c->cond);
}

void flow_job_client_destroy(flow_job_client_t *c) {
  flow_job_result_clear(&c->result);
  uv_cond_destroy(&c->cond);
  uv_mutex_destroy(&c->mu);
}

const char *flow_job_client_job_id(flow_job_client_t *c) { return c->job_id; }

flow_job_status_t flow_job_client_status(flow_job_client_t *c) {
  uv_mutex_lock(&c->mu);
  flow_job_status_t s = c->status;
  int done = c->done;
  uv_mutex_unlock(&c->mu);
  return done || c->ops->status == NULL ? s : c->ops->status(c);
}

void flow_job_client_set_status(flow_job_client_t *c, flow_job_status_t s) {
  uv_mutex_lock(&c->mu);
  if (!c->done) c->status = s;
  uv_mutex_unlock(&c->mu);
}

void flow_job_client_complete(flow_job_client_t *c, flow_job_result_t *r) {
  uv_mutex_lock(&c->mu);
  if (!c->done) {
    c->result = *r;
    if (c->result.job_id[0] == '\0') memcpy(c->result.job_id, c->job_id, sizeof(c->job_id));
    c->status = r->status;
    c->done = 1;
    memset(r, 0, sizeof(*r));
    uv_cond_broadcast(&c->cond);
  }
  uv_mutex_unlock(&c->mu);
  flow_job_result_clear(r); /* a later result: dropped */
}

void flow_job_client_fail(flow_job_client_t *c, const char *failure) {
  flow_job_result_t r;
  memset(&r, 0, sizeof(r));
  r.status = FLOW_JOB_FAILED;
  r.failure = flow_strdup(failure);
  flow_job_client_complete(c, &r);
}

int flow_job_client_wait(flow_job_client_t *c, int64_t timeout_ms, flow_job_result_t *out) {
  uint64_t deadline = timeout_ms >= 0 ? uv_hrtime() + (uint64_t)timeout_ms * 1000000u : 0;
  uv_mutex_lock(&c->mu);
  while (!c->done) {
    if (timeout_ms < 0) {
      uv_cond_wait(&c->cond, &c->mu);
    } else {
      uint64_t now = uv_hrtime();
      if (now >= deadline) break;
      (void)uv_cond_timedwait(&c->cond, &c->mu, deadline - now);
    }
  }
  int done = c->done;
  if (done && out != NULL) {
    if (!c->taken) {
      *out = c->result;
      memset(&c->result, 0, sizeof(c->result));
      c->taken = 1;
    } else {
      memset(out, 0, sizeof(*out));
      memcpy(out->job_id, c->job_id, sizeof(out->job_id));
      out->status = c->status;
    }
  }
  uv_mutex_unlock(&c->mu);
  return done;
}

void flow_job_client_cancel(flow_job_client_t *c) { c->ops->cancel(c); }

int flow_job_client_savepoint(flow_job_client_t *c, const char *dir, int stop, int64_t timeout_ms, char *out,
                              size_t cap) {
  return c->ops->savepoint(c, dir, stop, timeout_ms, out, cap);
}

const flow_vertex_metrics_t *flow_job_client_metrics(flow_job_client_t *c, int n_vertices) {
  return c->ops->metrics != NULL ? c->ops->metrics(c, n_vertices) : NULL;
}

void flow_job_client_free(flow_job_client_t *c) {
  if (c != NULL) c->ops->free(c);
}
