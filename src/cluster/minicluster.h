/* MiniCluster: Dispatcher, ResourceManager, JobMaster and one TaskExecutor
 * in this process, on one libuv loop run by the calling thread. */
#ifndef FLOW_CLUSTER_MINICLUSTER_H
#define FLOW_CLUSTER_MINICLUSTER_H

#include "cluster/endpoints.h"

typedef struct flow_minicluster_options {
  int slots;                 /* task slots of the TaskExecutor; 0 = what the job needs */
  int64_t buffer_timeout_ms; /* Flink's execution.buffer-timeout */
} flow_minicluster_options_t;

/* Starts a MiniCluster, runs the job to a globally terminal state, shuts the
 * cluster down (every task thread joined). Fills *out (clear it with
 * flow_job_result_clear). Returns 0, or a negative code if the cluster
 * itself could not start. */
int flow_minicluster_execute(const flow_job_graph_t *jg, const flow_minicluster_options_t *opt,
                             flow_job_result_t *out);

#endif
