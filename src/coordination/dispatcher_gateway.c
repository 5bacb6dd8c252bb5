#include "coordination/dispatcher_gateway.h"

#include <stdlib.h>
#include <string.h>

#include "util/common.h"

int flow_gateway_is_job_id(const char *s) {
  if (strlen(s) != 32) return 0;
  for (int i = 0; i < 32; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
  return 1;
}

int flow_gateway_read_job_id(flow_rbuf_t *r, char out[33]) {
  char *s = NULL;
  int rc = flow_rd_str(r, &s, 0);
  if (rc != 0) return rc;
  if (!flow_gateway_is_job_id(s)) {
    free(s);
    r->err = FLOW_EINVAL;
    return FLOW_EINVAL;
  }
  memcpy(out, s, 33);
  free(s);
  return 0;
}

void flow_gateway_write_options(flow_wbuf_t *w, const flow_gateway_options_t *o) {
  const flow_restart_strategy_t *rs = &o->restart;
  const flow_checkpoint_config_t *ckpt = &o->checkpoint;
  flow_wr_i64(w, o->buffer_timeout_ms);
  flow_wr_u8(w, (uint8_t)rs->kind);
  flow_wr_i64(w, rs->attempts);
  flow_wr_i64(w, rs->delay_ms);
  flow_wr_i64(w, rs->max_failures);
  flow_wr_i64(w, rs->interval_ms);
  flow_wr_i64(w, rs->initial_ms);
  flow_wr_i64(w, rs->max_ms);
  flow_wr_i64(w, rs->reset_ms);
  flow_wr_f64(w, rs->multiplier);
  flow_wr_f64(w, rs->jitter);
  flow_wr_i64(w, ckpt->interval_ms);
  flow_wr_u8(w, (uint8_t)(ckpt->exactly_once != 0));
  flow_wr_str(w, ckpt->dir);
  flow_wr_i64(w, ckpt->timeout_ms);
  flow_wr_i64(w, ckpt->min_pause_ms);
  flow_wr_i32(w, ckpt->retained);
  flow_wr_str(w, ckpt->restore_dir);
}

int flow_gateway_read_options(flow_rbuf_t *r, flow_gateway_options_t *o) {
  memset(o, 0, sizeof(*o));
  uint8_t kind = 0, eo = 0;
  int32_t retained = 1;
  flow_rd_i64(r, &o->buffer_timeout_ms);
  flow_rd_u8(r, &kind);
  if (r->err == 0 && kind > FLOW_RESTART_EXPONENTIAL_DELAY) r->err = FLOW_EINVAL;
  flow_restart_init(&o->restart, r->err == 0 ? (flow_restart_kind_t)kind : FLOW_RESTART_NONE);
  flow_restart_strategy_t *rs = &o->restart;
  flow_rd_i64(r, &rs->attempts);
  flow_rd_i64(r, &rs->delay_ms);
  flow_rd_i64(r, &rs->max_failures);
  flow_rd_i64(r, &rs->interval_ms);
  flow_rd_i64(r, &rs->initial_ms);
  flow_rd_i64(r, &rs->max_ms);
  flow_rd_i64(r, &rs->reset_ms);
  flow_rd_f64(r, &rs->multiplier);
  flow_rd_f64(r, &rs->jitter);
  flow_checkpoint_config_t *ckpt = &o->checkpoint;
  flow_rd_i64(r, &ckpt->interval_ms);
  flow_rd_u8(r, &eo);
  ckpt->exactly_once = eo != 0;
  flow_rd_str(r, &ckpt->dir, 1);
  flow_rd_i64(r, &ckpt->timeout_ms);
  flow_rd_i64(r, &ckpt->min_pause_ms);
  flow_rd_i32(r, &retained);
  ckpt->retained = retained;
  flow_rd_str(r, &ckpt->restore_dir, 1);
  char err[160];
  if (r->err == 0 && (o->buffer_timeout_ms < -1 || ckpt->interval_ms < 0 || ckpt->retained < 1 ||
                      ckpt->retained > 1000 || flow_restart_validate(rs, err, sizeof(err)) != 0))
    r->err = FLOW_EINVAL;
  if (r->err != 0) {
    int rc = r->err;
    flow_gateway_options_clear(o);
    return rc;
  }
  return 0;
}

void flow_gateway_options_clear(flow_gateway_options_t *o) {
  free(o->checkpoint.dir);
  free(o->checkpoint.restore_dir);
  o->checkpoint.dir = o->checkpoint.restore_dir = NULL;
}

int flow_gateway_read_submission(flow_rbuf_t *r, flow_gateway_submission_t *s, const char **why) {
  memset(s, 0, sizeof(*s));
  if (flow_gateway_read_options(r, &s->opt) != 0) {
    *why = "malformed job options";
    return FLOW_EINVAL;
  }
  flow_rd_bytes(r, &s->graph, &s->graph_len);
  flow_rd_i32(r, &s->n_blobs);
  size_t at = r->pos;
  /* the blobs' shape is checked here: taskmanagers trust it */
  for (int32_t i = 0; i < s->n_blobs && r->err == 0; i++) {
    char *path = NULL;
    const uint8_t *p = NULL;
    uint32_t n = 0;
    flow_rd_str(r, &path, 0);
    flow_rd_bytes(r, &p, &n);
    if (r->err == 0 && !flow_gateway_blob_path_ok(path)) r->err = FLOW_EINVAL;
    free(path);
  }
  if (r->err != 0 || s->n_blobs < 0 || s->n_blobs > 10000 || flow_rd_left(r) != 0) {
    flow_gateway_options_clear(&s->opt);
    *why = "malformed job submission";
    return FLOW_EINVAL;
  }
  s->blobs = r->p + at;
  s->blobs_len = r->pos - at;
  return 0;
}

void flow_gateway_write_result(flow_wbuf_t *w, const flow_job_result_t *r) {
  flow_wr_str(w, r->job_id);
  flow_wr_str(w, flow_job_status_name(r->status));
  flow_wr_str(w, r->failure);
  flow_wr_i64(w, r->net_runtime_ms);
  flow_wr_i32(w, r->restarts);
  int n = 0;
  for (flow_buffer_t *b = r->accumulators; b != NULL; b = b->next) n++;
  flow_wr_i32(w, n);
  for (flow_buffer_t *b = r->accumulators; b != NULL; b = b->next) flow_wr_bytes(w, b->data, b->size);
}

int flow_gateway_read_result(flow_rbuf_t *r, flow_job_result_t *out) {
  memset(out, 0, sizeof(*out));
  char *status = NULL;
  int32_t restarts = 0, n = 0;
  flow_gateway_read_job_id(r, out->job_id);
  flow_rd_str(r, &status, 0);
  flow_rd_str(r, &out->failure, 1);
  flow_rd_i64(r, &out->net_runtime_ms);
  flow_rd_i32(r, &restarts);
  out->restarts = restarts;
  flow_rd_i32(r, &n);
  if (r->err == 0 && (n < 0 || (size_t)n * 4 > flow_rd_left(r))) r->err = FLOW_EINVAL;
  flow_buffer_t **tail = &out->accumulators;
  for (int i = 0; i < n && r->err == 0; i++) {
    const uint8_t *p = NULL;
    uint32_t len = 0;
    if (flow_rd_bytes(r, &p, &len) != 0) break;
    flow_buffer_t *b = flow_buffer_from(p, len);
    if (b == NULL) {
      r->err = FLOW_ENOMEM;
      break;
    }
    *tail = b;
    tail = &b->next;
  }
  out->status = FLOW_JOB_FAILED;
  int found = 0;
  for (int s = 0; status != NULL && s < FLOW_JOB__COUNT; s++)
    if (strcmp(status, flow_job_status_name((flow_job_status_t)s)) == 0) out->status = (flow_job_status_t)s, found = 1;
  free(status);
  if (r->err == 0 && !found) r->err = FLOW_EINVAL;
  if (r->err != 0) {
    flow_job_result_clear(out);
    return r->err;
  }
  return 0;
}

int flow_gateway_blob_path_ok(const char *p) {
  size_t n = strlen(p);
  if (n == 0 || n > 255 || p[0] == '/' || p[n - 1] == '/') return 0;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
             c == '-' || c == '.' || c == '/';
    if (!ok) return 0;
    if (c == '.' && (i == 0 || p[i - 1] == '/')) return 0; /* no "..", no hidden files */
    if (c == '/' && p[i + 1] == '/') return 0;
  }
  return 1;
}
