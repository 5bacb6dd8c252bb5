#include "runtime/task_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "util/common.h"

/* Relaxed loads and stores: one writer (the task thread), any number of
 * readers that want a recent value, not a consistent set. */
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

flow_job_metrics_t *flow_job_metrics_new(const flow_job_graph_t *jg) {
  flow_job_metrics_t *jm = flow_xcalloc(1, sizeof(*jm));
  jm->n_vertices = jg->n_vertices;
  jm->first = flow_xcalloc((size_t)jg->n_vertices + 1, sizeof(int));
  for (int v = 0; v < jg->n_vertices; v++) jm->first[v + 1] = jm->first[v] + jg->vertices[v].parallelism;
  jm->n_subtasks = jm->first[jg->n_vertices];
  jm->subtasks = flow_xcalloc((size_t)jm->n_subtasks + 1, sizeof(*jm->subtasks));
  for (int v = 0; v < jg->n_vertices; v++) {
    for (int s = 0; s < jg->vertices[v].parallelism; s++) {
      flow_task_metrics_t *m = &jm->subtasks[jm->first[v] + s];
      m->n_ops = jg->vertices[v].n_ops;
      m->ops = flow_xcalloc((size_t)m->n_ops + 1, sizeof(*m->ops));
      flow_task_metrics_reset(m, 0);
      m->start_ns = 0; /* never deployed */
    }
  }
  return jm;
}

void flow_job_metrics_free(flow_job_metrics_t *jm) {
  if (jm == NULL) return;
  for (int i = 0; i < jm->n_subtasks; i++) free(jm->subtasks[i].ops);
  free(jm->subtasks);
  free(jm->first);
  free(jm);
}

flow_task_metrics_t *flow_job_metrics_subtask(flow_job_metrics_t *jm, int vertex, int subtask) {
  if (jm == NULL || vertex < 1 || vertex > jm->n_vertices) return NULL;
  int i = jm->first[vertex - 1] + subtask;
  if (subtask < 0 || i >= jm->first[vertex]) return NULL;
  return &jm->subtasks[i];
}

void flow_task_metrics_reset(flow_task_metrics_t *m, int attempt) {
  flow_operator_metrics_t *ops = m->ops;
  int n = m->n_ops;
  memset(m, 0, sizeof(*m));
  m->ops = ops;
  m->n_ops = n;
  m->attempt = attempt;
  m->input_watermark = m->output_watermark = -INFINITY;
  for (int i = 0; i < n; i++) {
    memset(&ops[i], 0, sizeof(ops[i]));
    ops[i].input_watermark = ops[i].output_watermark = -INFINITY;
  }
  m->start_ns = (int64_t)uv_hrtime();
}

void flow_job_metrics_vertex_sums(const flow_job_metrics_t *jm, int v, int64_t out[4]) {
  out[0] = out[1] = out[2] = out[3] = 0;
  if (jm == NULL || v < 0 || v >= jm->n_vertices) return;
  for (int i = jm->first[v]; i < jm->first[v + 1]; i++) {
    flow_task_metrics_t *m = &jm->subtasks[i];
    out[0] += LOAD(m->records_in) + LOAD(m->source_records);
    out[1] += LOAD(m->records_out);
    out[2] += LOAD(m->progress_read);
    out[3] += LOAD(m->progress_total);
  }
}

int64_t flow_watermark_ms(double wm) {
  if (!(wm > -9.2e18)) return FLOW_NO_WATERMARK; /* -inf or NaN */
  if (wm >= 9.2e18) return INT64_MAX;
  return (int64_t)wm;
}

/* the time of a wait under way, up to now */
static int64_t waiting(int64_t since, uint64_t now) {
  return since != 0 && (int64_t)now > since ? (int64_t)now - since : 0;
}

void flow_task_metrics_read(const flow_task_metrics_t *m, uint64_t now_ns, flow_task_reading_t *r) {
  memset(r, 0, sizeof(*r));
  r->at_ns = (int64_t)now_ns;
  r->records_in = LOAD(m->records_in);
  r->records_out = LOAD(m->records_out);
  r->bytes_in = LOAD(m->bytes_in);
  r->bytes_out = LOAD(m->bytes_out);
  r->source_records = LOAD(m->source_records);
  r->progress_read = LOAD(m->progress_read);
  r->progress_total = LOAD(m->progress_total);
  int64_t idle = LOAD(m->idle_ns), bp = LOAD(m->backpressured_ns); /* totals before the waits under way */
  int64_t bp_since = LOAD(m->backpressured_since_ns);
  r->idle_ns = idle + waiting(LOAD(m->idle_since_ns), now_ns);
  r->backpressured_ns = bp + waiting(bp_since, now_ns);
  r->backpressured = bp_since != 0;
  int64_t start = LOAD(m->start_ns);
  int64_t up = start != 0 && (int64_t)now_ns > start ? (int64_t)now_ns - start : 0;
  r->busy_ns = up - r->idle_ns - r->backpressured_ns;
  if (r->busy_ns < 0) r->busy_ns = 0;
  r->input_watermark = flow_watermark_ms(flow_metric_loadf(&m->input_watermark));
  r->output_watermark = flow_watermark_ms(flow_metric_loadf(&m->output_watermark));
  r->attempt = LOAD(m->attempt);
  r->n_ops = m->n_ops;
  r->ops = flow_xcalloc((size_t)m->n_ops + 1, sizeof(*r->ops));
  for (int i = 0; i < m->n_ops; i++) {
    flow_operator_metrics_t *o = &r->ops[i];
    o->records_in = flow_metric_loadf(&m->ops[i].records_in);
    o->records_out = flow_metric_loadf(&m->ops[i].records_out);
    o->late_dropped = flow_metric_loadf(&m->ops[i].late_dropped);
    o->input_watermark = flow_metric_loadf(&m->ops[i].input_watermark);
    o->output_watermark = flow_metric_loadf(&m->ops[i].output_watermark);
    r->late_dropped += o->late_dropped;
  }
}

void flow_task_reading_clear(flow_task_reading_t *r) {
  free(r->ops);
  r->ops = NULL;
  r->n_ops = 0;
}

void flow_task_rates(const flow_task_reading_t *prev, const flow_task_reading_t *cur, flow_task_rates_t *out) {
  memset(out, 0, sizeof(*out));
  if (prev == NULL || cur == NULL || cur->at_ns <= prev->at_ns || cur->attempt != prev->attempt) {
    out->idle_ms = cur != NULL && cur->backpressured ? 0 : 1000;
    out->backpressured_ms = cur != NULL && cur->backpressured ? 1000 : 0;
    return;
  }
  double secs = (double)(cur->at_ns - prev->at_ns) / 1e9;
  out->records_in = (double)(cur->records_in - prev->records_in) / secs;
  out->records_out = (double)(cur->records_out - prev->records_out) / secs;
  out->bytes_in = (double)(cur->bytes_in - prev->bytes_in) / secs;
  out->bytes_out = (double)(cur->bytes_out - prev->bytes_out) / secs;
  double idle = (double)(cur->idle_ns - prev->idle_ns) / 1e6 / secs;
  double bp = (double)(cur->backpressured_ns - prev->backpressured_ns) / 1e6 / secs;
  if (idle < 0) idle = 0;
  if (bp < 0) bp = 0;
  if (idle > 1000) idle = 1000;
  if (bp > 1000 - idle) bp = 1000 - idle;
  out->idle_ms = idle;
  out->backpressured_ms = bp;
  out->busy_ms = 1000 - idle - bp; /* Flink: busy = the rest of the second */
}

void flow_op_metrics_add(flow_operator_metrics_t *m, double records_in, double records_out, double late_dropped) {
  if (records_in != 0) flow_metric_addf(&m->records_in, records_in);
  if (records_out != 0) flow_metric_addf(&m->records_out, records_out);
  if (late_dropped != 0) flow_metric_addf(&m->late_dropped, late_dropped);
}

static void store_wm(double *x, double v) {
  if (v == v) __atomic_store(x, &v, __ATOMIC_RELAXED);
}

void flow_op_metrics_watermarks(flow_operator_metrics_t *m, double input_wm, double output_wm) {
  store_wm(&m->input_watermark, input_wm);
  store_wm(&m->output_watermark, output_wm);
}

void flow_task_metrics_watermarks(flow_task_metrics_t *m, double input_wm, double output_wm) {
  store_wm(&m->input_watermark, input_wm);
  store_wm(&m->output_watermark, output_wm);
}

void flow_task_metrics_wait_begin(int64_t *since_ns) { STORE(*since_ns, (int64_t)uv_hrtime()); }

void flow_task_metrics_wait_end(int64_t *since_ns, int64_t *total_ns) {
  int64_t since = *since_ns;
  if (since == 0) return;
  int64_t now = (int64_t)uv_hrtime();
  /* since first, then the total: a reader that loads the total before
   * since (flow_task_metrics_read) may miss this wait for a moment but
   * never counts it twice */
  STORE(*since_ns, (int64_t)0);
  STORE(*total_ns, *total_ns + (now > since ? now - since : 0));
}
