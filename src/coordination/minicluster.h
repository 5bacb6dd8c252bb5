/* MiniCluster: Dispatcher, ResourceManager, JobMaster and one TaskExecutor
 * in this process, on one libuv loop run by a cluster thread of its own, so
 * the client (the script's thread) can watch or cancel the job; the result
 * goes to the on_result callback (src/client/minicluster_client.c makes the
 * MiniCluster a JobClient).
 *
 * Threads: the client calls start/status/cancel/savepoint/free; the cluster
 * thread runs the loop and every endpoint, and calls on_result; task threads
 * post to the loop. `mu` guards `done` and the savepoint hand-over (leaf lock). */
#ifndef FLOW_COORDINATION_MINICLUSTER_H
#define FLOW_COORDINATION_MINICLUSTER_H

#include "coordination/checkpoint_config.h"
#include "coordination/dispatcher.h"
#include "coordination/job_result.h"
#include "coordination/job_view.h"
#include "coordination/resource_manager.h"
#include "coordination/task_executor.h"

typedef struct flow_minicluster_options {
  int slots;                 /* task slots of the TaskExecutor; 0 = what the job needs */
  flow_task_body_fn task_body; /* what every task runs (src/lua/task_body.c) */
  int64_t buffer_timeout_ms; /* Flink's execution.buffer-timeout */
  flow_restart_strategy_t restart;
  flow_checkpoint_config_t checkpoint; /* strings borrowed until start returns */
  /* Called once on the cluster thread when the job reached a globally
   * terminal state (or the cluster ended without one: FAILED); the callee
   * takes *r (and zeroes it). */
  void (*on_result)(void *data, flow_job_result_t *r);
  void *data;
  /* Publish a job view (coordination/job_view.h) every second and at the
   * end, for REST (flow_minicluster_view); off: no sampling at all. */
  int publish_views;
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
/* Waits until the cluster's loop has ended (its last view is published). */
void flow_minicluster_wait_ended(flow_minicluster_t *mc);
/* Cancels the job if it still runs, waits for it, joins the cluster thread. */
void flow_minicluster_free(flow_minicluster_t *mc);

/* Takes a savepoint into dir (stop: cancel the job once it is complete),
 * waiting at most timeout_ms. 0 and the path in out, or FLOW_ETIMEDOUT /
 * FLOW_ESTATE / FLOW_EIO and a message ("error: ...") in out. */
int flow_minicluster_savepoint(flow_minicluster_t *mc, const char *dir, int stop, int64_t timeout_ms, char *out,
                               size_t cap);

/* The latest job view (a reference: the caller unrefs it), or NULL when
 * views are not published. Any thread, until free. */
flow_job_view_t *flow_minicluster_view(flow_minicluster_t *mc);

/* Live per-vertex progress counters (index: job vertex id - 1), summed
 * from the subtasks' at this call; the client's thread only; valid until free. */
const flow_vertex_metrics_t *flow_minicluster_metrics(flow_minicluster_t *mc);

#endif
