/* Task metrics (Flink's task and operator IO metrics): each subtask's
 * counters in plain memory that its thread alone writes, once per buffer or
 * batch (never per record from C); the loop reads them with relaxed loads
 * and turns them into Flink's gauges and meters (flow_task_metrics_read,
 * flow_task_rates). A job's counters belong to the job's owner
 * (MiniCluster, or the taskmanager's job) and outlive its tasks, so a
 * finished job's counts can still be read; a new attempt starts from zero,
 * as Flink's.
 *
 * Writers: the task thread only, through the FFI (lua/flow/ffi.lua repeats
 * these structs) and flow_task_count / flow_task_next / flow_task_emit.
 * Fields Lua writes are doubles: exact to 2^53, and no boxing in LuaJIT. */
#ifndef FLOW_RUNTIME_TASK_METRICS_H
#define FLOW_RUNTIME_TASK_METRICS_H

#include <stdint.h>

#include "graph/job_graph.h"

#define FLOW_NO_WATERMARK INT64_MIN /* Flink's "no watermark yet": Long.MIN_VALUE */

/* One operator of a chain. */
typedef struct flow_operator_metrics {
  double records_in;       /* numRecordsIn */
  double records_out;      /* numRecordsOut */
  double late_dropped;     /* numLateRecordsDropped (window operators) */
  double input_watermark;  /* currentInputWatermark, -inf: none yet */
  double output_watermark; /* currentOutputWatermark, -inf: none yet */
} flow_operator_metrics_t;

/* One subtask attempt. */
typedef struct flow_task_metrics {
  int64_t records_in;     /* network input records (0 for a source, as Flink) */
  int64_t records_out;    /* network output records */
  int64_t bytes_in;       /* network input bytes */
  int64_t bytes_out;      /* network output bytes */
  int64_t source_records; /* records a source read */
  int64_t progress_read;  /* file sources: bytes read of progress_total */
  int64_t progress_total;
  int64_t idle_ns;            /* time spent waiting for input (finished waits) */
  int64_t backpressured_ns;   /* time spent waiting for output credit (finished waits) */
  int64_t idle_since_ns;      /* uv_hrtime() when the current wait began, 0: none */
  int64_t backpressured_since_ns;
  int64_t start_ns;           /* when the attempt was deployed */
  double input_watermark;     /* -inf: none yet */
  double output_watermark;
  int32_t n_ops;
  int32_t attempt;
  flow_operator_metrics_t *ops; /* [n_ops], chain order */
} flow_task_metrics_t;

/* The counters of every subtask of a job, vertex-major. */
typedef struct flow_job_metrics {
  int n_vertices;
  int n_subtasks;
  int *first;                  /* [n_vertices]: index of the vertex's subtask 0 */
  flow_task_metrics_t *subtasks;
} flow_job_metrics_t;

/* What the loop read of one subtask at time `at_ns`: the counters, with the
 * waits under way counted up to then. */
typedef struct flow_task_reading {
  int64_t at_ns;
  int64_t records_in, records_out, bytes_in, bytes_out, source_records;
  int64_t progress_read, progress_total;
  int64_t idle_ns, backpressured_ns, busy_ns; /* busy: since start, minus the waits */
  int backpressured;          /* isBackPressured: blocked on output right now */
  int64_t input_watermark, output_watermark; /* FLOW_NO_WATERMARK: none */
  double late_dropped;        /* over the chain */
  int attempt;
  int n_ops;
  flow_operator_metrics_t *ops; /* owned copy [n_ops] */
} flow_task_reading_t;

/* Per second over the interval between two readings (Flink's meters and
 * its *TimeMsPerSecond gauges). */
typedef struct flow_task_rates {
  double records_in, records_out, bytes_in, bytes_out;
  double busy_ms, idle_ms, backpressured_ms; /* each in [0, 1000], summing to 1000 */
} flow_task_rates_t;

/* The single writer's add: a relaxed store, so that relaxed loads elsewhere
 * see whole values (no read-modify-write: nobody else writes). */
static inline void flow_metric_add(int64_t *x, int64_t n) { __atomic_store_n(x, *x + n, __ATOMIC_RELAXED); }
static inline void flow_metric_addf(double *x, double n) {
  double v = *x + n;
  __atomic_store(x, &v, __ATOMIC_RELAXED);
}
static inline double flow_metric_loadf(const double *x) {
  double v;
  __atomic_load(x, &v, __ATOMIC_RELAXED);
  return v;
}

flow_job_metrics_t *flow_job_metrics_new(const flow_job_graph_t *jg);
void flow_job_metrics_free(flow_job_metrics_t *jm);
/* Subtask (vertex id, subtask index); NULL if out of range. */
flow_task_metrics_t *flow_job_metrics_subtask(flow_job_metrics_t *jm, int vertex, int subtask);
/* A new attempt starts (before its thread does): zero the counters. */
void flow_task_metrics_reset(flow_task_metrics_t *m, int attempt);
/* Sums vertex index v's subtasks into the progress counters: records in
 * (network input, or read by a source), records out, file progress. */
void flow_job_metrics_vertex_sums(const flow_job_metrics_t *jm, int v, int64_t out[4]);

/* A watermark as Lua keeps it (a double, -inf before the first, +inf at
 * the end of input) in Flink's ms: FLOW_NO_WATERMARK, or INT64_MAX at the end. */
int64_t flow_watermark_ms(double wm);

/* Loop side: reads m (relaxed) into r (r->ops allocated; free with
 * flow_task_reading_clear). */
void flow_task_metrics_read(const flow_task_metrics_t *m, uint64_t now_ns, flow_task_reading_t *r);
void flow_task_reading_clear(flow_task_reading_t *r);
/* Rates between an earlier reading and a later one (zeros if none). */
void flow_task_rates(const flow_task_reading_t *prev, const flow_task_reading_t *cur, flow_task_rates_t *out);

/* Lua's writes, through the FFI (once per buffer or batch, or per
 * watermark): relaxed atomic stores, so that the loop's relaxed loads are
 * not data races (a plain store from LuaJIT is one, to ThreadSanitizer).
 * A NaN watermark leaves that one as it is. */
void flow_op_metrics_add(flow_operator_metrics_t *m, double records_in, double records_out, double late_dropped);
void flow_op_metrics_watermarks(flow_operator_metrics_t *m, double input_wm, double output_wm);
void flow_task_metrics_watermarks(flow_task_metrics_t *m, double input_wm, double output_wm);

/* Task thread: a wait for input or output credit begins / ends. */
void flow_task_metrics_wait_begin(int64_t *since_ns);
void flow_task_metrics_wait_end(int64_t *since_ns, int64_t *total_ns);

#endif
