/* MiniCluster: Dispatcher, ResourceManager, JobMaster and one TaskExecutor
 * in this process, on one libuv loop run by a cluster thread of its own, so
 * the client (the script's thread) can watch, cancel or wait for the job
 * (Flink's JobClient).
 *
 * Threads: the client calls start/status/cancel/wait/free; the cluster
 * thread runs the loop and every endpoint; task threads post to the loop.
 * `mu` guards `done` and the result hand-over (leaf lock). */
#ifndef FLOW_CLUSTER_MINICLUSTER_H
#define FLOW_CLUSTER_MINICLUSTER_H

#include "coordination/endpoints.h"

typedef struct flow_minicluster_options {
  int slots;                 /* task slots of the TaskExecutor; 0 = what the job needs */
  flow_task_body_fn task_body; /* what every task runs (src/lua/task_body.c) */
  int64_t buffer_timeout_ms; /* Flink's execution.buffer-timeout */
  flow_restart_strategy_t restart;
  flow_checkpoint_config_t checkpoint; /* strings borrowed until start returns */
} flow_minicluster_options_t;

typedef struct flow_minicluster flow_minicluster_t;

void flow_minicluster_options_init(flow_minicluster_options_t *opt);
/* Starts the cluster thread and submits the job. jg must outlive the
 * cluster. NULL with a message in err if the cluster cannot start. */
flow_minicluster_t *flow_minicluster_start(const flow_job_graph_t *jg, const flow_minicluster_options_t *opt,
                                           char *err, size_t errlen);
flow_job_status_t flow_minicluster_status(flow_minicluster_t *mc);
const char *flow_minicluster_job_id(flow_minicluster_t *mc);
/* Any thread, until flow_minicluster_free. */
void flow_minicluster_cancel(flow_minicluster_t *mc);
/* Waits for a globally terminal job status (timeout_ms < 0: forever).
 * Returns 1 and fills *out (once; clear it with flow_job_result_clear) when
 * the job ended, 0 on timeout. */
int flow_minicluster_wait(flow_minicluster_t *mc, int64_t timeout_ms, flow_job_result_t *out);
/* Cancels the job if it still runs, waits for it, joins the cluster thread. */
void flow_minicluster_free(flow_minicluster_t *mc);

/* Takes a savepoint into dir (stop: cancel the job once it is complete),
 * waiting at most timeout_ms. 0 and the path in out, or -1 and a message. */
int flow_minicluster_savepoint(flow_minicluster_t *mc, const char *dir, int stop, int64_t timeout_ms, char *out,
                               size_t cap);

/* Live per-vertex counters (index: job vertex id - 1), valid until free. */
const flow_vertex_metrics_t *flow_minicluster_metrics(flow_minicluster_t *mc);
const flow_job_graph_t *flow_minicluster_job_graph(flow_minicluster_t *mc);

/* start + wait + free. */
int flow_minicluster_execute(const flow_job_graph_t *jg, const flow_minicluster_options_t *opt,
                             flow_job_result_t *out);

#endif
