/* The result of a job that reached a globally terminal state: what the
 * Dispatcher hands to its owner (the MiniCluster, the jobmanager) and a
 * client receives (Flink's JobExecutionResult). */
#ifndef FLOW_COORDINATION_JOB_RESULT_H
#define FLOW_COORDINATION_JOB_RESULT_H

#include <stdint.h>

#include "graph/execution_graph.h"
#include "runtime/buffer.h"

typedef struct flow_job_result {
  char job_id[33];
  flow_job_status_t status;
  char *failure;          /* root cause with Lua traceback, malloc'd, or NULL */
  int64_t net_runtime_ms;
  int restarts;           /* how many times the job was restarted */
  flow_buffer_t *collected; /* execute_and_collect records, list linked by ->next */
  flow_buffer_t *accumulators; /* one encoded table per finished task, linked by ->next */
} flow_job_result_t;

/* Frees what r owns (failure, collected, accumulators) and clears those fields. */
void flow_job_result_clear(flow_job_result_t *r);

#endif
