/* Metrics: a subtask's counters read by the loop (waits under way counted
 * up to the reading), Flink's per-second gauges between two readings (busy
 * = 1000 - idle - backpressured), a gate wait counted as backpressure, the
 * sampler's window and attempts, and the Prometheus text format (grouping,
 * escaping, names, an empty registry). */
#include "util/common.h"
#include "coordination/job_view.h"
#include "metrics/prometheus.h"
#include "runtime/buffer.h"
#include "runtime/input_gate.h"
#include "runtime/task_metrics.h"

#include "ctest_assert.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static void test_reading_and_rates(void) {
  CTEST_CASE("readings and rates");
  flow_operator_metrics_t ops[2];
  flow_task_metrics_t m = {.ops = ops, .n_ops = 2};
  flow_task_metrics_reset(&m, 3);
  CHECK(m.start_ns > 0);
  CHECK(m.input_watermark == -INFINITY);
  m.start_ns = 1000000000; /* the attempt began at t = 1 s */
  flow_metric_add(&m.records_in, 100);
  flow_metric_add(&m.bytes_in, 4000);
  flow_metric_addf(&ops[1].late_dropped, 2);
  m.idle_ns = 200000000;
  m.backpressured_since_ns = 1500000000; /* blocked on output since t = 1.5 s */
  flow_task_reading_t a, b;
  flow_task_metrics_read(&m, 2000000000, &a); /* t = 2 s */
  CHECK_EQ_INT(a.records_in, 100);
  CHECK_EQ_INT(a.idle_ns, 200000000);
  CHECK_EQ_INT(a.backpressured_ns, 500000000); /* the wait under way, up to now */
  CHECK_EQ_INT(a.busy_ns, 300000000);          /* 1 s up, minus both */
  CHECK(a.backpressured);
  CHECK(a.input_watermark == FLOW_NO_WATERMARK);
  CHECK(a.late_dropped == 2);
  CHECK_EQ_INT(a.attempt, 3);
  /* the wait ended; one more second with 300 records, 100 ms idle */
  m.backpressured_since_ns = 0;
  m.backpressured_ns = 700000000;
  flow_metric_add(&m.records_in, 300);
  m.idle_ns = 300000000;
  m.input_watermark = 12345;
  flow_task_metrics_read(&m, 3000000000, &b);
  flow_task_rates_t r;
  flow_task_rates(&a, &b, &r);
  CHECK(fabs(r.records_in - 300) < 1e-9);
  CHECK(fabs(r.idle_ms - 100) < 1e-6);
  CHECK(fabs(r.backpressured_ms - 200) < 1e-6);
  CHECK(fabs(r.busy_ms - 700) < 1e-6);
  CHECK(fabs(r.busy_ms + r.idle_ms + r.backpressured_ms - 1000) < 1e-6);
  CHECK_EQ_INT(b.input_watermark, 12345);
  /* a reading of another attempt gives no rates */
  b.attempt = 4;
  flow_task_rates(&a, &b, &r);
  CHECK(r.records_in == 0);
  flow_task_reading_clear(&a);
  flow_task_reading_clear(&b);
}

typedef struct pusher {
  flow_input_gate_t *g;
  flow_task_metrics_t *m;
} pusher_t;

static void push_one(void *arg) {
  pusher_t *p = arg;
  flow_buffer_t *b = flow_buffer_new(16);
  b->kind = FLOW_BUF_DATA;
  if (flow_gate_push_timed(p->g, 0, b, &p->m->backpressured_since_ns, &p->m->backpressured_ns) != 0)
    flow_buffer_free(b);
}

static void test_gate_backpressure(void) {
  CTEST_CASE("a full channel: the push waits, counted as backpressure");
  flow_input_gate_t *g = flow_gate_new(1);
  flow_task_metrics_t m;
  memset(&m, 0, sizeof(m));
  for (int i = 0; i < FLOW_CHANNEL_CREDITS; i++) { /* no wait while there is credit */
    flow_buffer_t *b = flow_buffer_new(16);
    b->kind = FLOW_BUF_DATA;
    CHECK_EQ_INT(flow_gate_push_timed(g, 0, b, &m.backpressured_since_ns, &m.backpressured_ns), 0);
  }
  CHECK_EQ_INT(m.backpressured_ns, 0);
  pusher_t p = {g, &m};
  uv_thread_t t;
  uv_thread_create(&t, push_one, &p);
  uv_sleep(50);
  CHECK(__atomic_load_n(&m.backpressured_since_ns, __ATOMIC_RELAXED) != 0); /* isBackPressured */
  flow_buffer_t *out = NULL;
  CHECK_EQ_INT(flow_gate_poll(g, 0, &out), 1);
  flow_buffer_free(out);
  uv_thread_join(&t);
  CHECK_EQ_INT(m.backpressured_since_ns, 0);
  CHECK(m.backpressured_ns >= 40000000);
  /* idle: a poll that waits for input */
  int64_t idle_since = 0, idle = 0;
  while (flow_gate_poll(g, 0, &out) == 1) flow_buffer_free(out);
  CHECK_EQ_INT(flow_gate_poll_timed(g, 30, &out, &idle_since, &idle), FLOW_ETIMEDOUT);
  CHECK(idle >= 25000000 && idle_since == 0);
  flow_gate_free(g);
}

static void test_sampler(void) {
  CTEST_CASE("the sampler: rates over a window of readings, a new attempt starts over");
  flow_job_sampler_t *s = flow_job_sampler_new(1);
  for (int k = 0; k <= 8; k++) {
    flow_task_reading_t r;
    memset(&r, 0, sizeof(r));
    r.at_ns = (int64_t)k * 1000000000;
    r.records_out = k % 2 == 0 ? k * 1000 : (k - 1) * 1000; /* bursts: 2000 every other second */
    r.ops = calloc(1, sizeof(flow_operator_metrics_t));
    r.n_ops = 1;
    flow_job_sampler_put(s, 0, &r);
  }
  /* over the window of 5 earlier readings (t = 3..7 s) to t = 8 s: steady */
  CHECK(fabs(s->rates[0].records_out - 1000) < 300);
  CHECK(s->rates[0].records_out > 0);
  flow_task_reading_t r;
  memset(&r, 0, sizeof(r));
  r.at_ns = 9000000000;
  r.attempt = 1;
  r.records_out = 5;
  flow_job_sampler_put(s, 0, &r);
  CHECK(s->rates[0].records_out == 0); /* a new attempt: no rate from the old one's counts */
  CHECK_EQ_INT(s->cur[0].records_out, 5);
  flow_job_sampler_free(s);
}

static void test_prometheus(void) {
  CTEST_CASE("Prometheus text: families grouped, labels escaped, names sanitized");
  flow_prom_t *p = flow_prom_new();
  size_t len = 0;
  char *empty = flow_prom_render(p, &len);
  CHECK_STR(empty, "");
  free(empty);
  const char *l1[2][2] = {{"job_name", "a \"quoted\"\nname\\"}, {"subtask_index", "0"}};
  const char *l2[2][2] = {{"job_name", "b"}, {"subtask_index", "1"}};
  flow_prom_add(p, "flink_taskmanager_job_task_numRecordsIn", l1, 2, 5);
  flow_prom_add(p, "flink_jobmanager_numRunningJobs", NULL, 0, 1);
  flow_prom_add(p, "flink_taskmanager_job_task_numRecordsIn", l2, 2, 2.5);
  flow_prom_add(p, "bad name-1", NULL, 0, -INFINITY);
  char *text = flow_prom_render(p, &len);
  CHECK_EQ_INT((long long)len, (long long)strlen(text));
  CHECK_CONTAINS(text, "# TYPE flink_taskmanager_job_task_numRecordsIn gauge\n"
                       "flink_taskmanager_job_task_numRecordsIn{job_name=\"a \\\"quoted\\\"\\nname\\\\\",subtask_index=\"0\"} 5.0\n"
                       "flink_taskmanager_job_task_numRecordsIn{job_name=\"b\",subtask_index=\"1\"} 2.5\n");
  CHECK_CONTAINS(text, "flink_jobmanager_numRunningJobs 1.0\n");
  CHECK_CONTAINS(text, "bad_name_1 -Inf\n");
  /* one TYPE line per family */
  const char *first = strstr(text, "# TYPE flink_taskmanager_job_task_numRecordsIn");
  CHECK(first != NULL && strstr(first + 1, "# TYPE flink_taskmanager_job_task_numRecordsIn") == NULL);
  free(text);
  flow_prom_free(p);
}

int main(void) {
  test_reading_and_rates();
  test_gate_backpressure();
  test_sampler();
  test_prometheus();
  return CTEST_SUMMARY();
}
