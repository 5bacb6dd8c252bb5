/* Dispatcher (Flink's, with its JobManagerRunner): receives a job, runs one
 * JobMaster for it and hands the job's result and savepoint results to its
 * owner's callbacks (dispatcher.c). An endpoint: loop thread only, driven
 * by messages (messages.h). */
#ifndef FLOW_COORDINATION_DISPATCHER_H
#define FLOW_COORDINATION_DISPATCHER_H

#include <stdatomic.h>
#include <stdint.h>

#include "coordination/checkpoint_config.h"
#include "coordination/job_master.h"
#include "coordination/job_result.h"
#include "coordination/resource_manager.h"
#include "coordination/rpc.h"
#include "runtime/restart_strategy.h"
#include "runtime/task.h"

struct flow_dispatcher {
  flow_endpoint_t ep;
  flow_resource_manager_t *rm;
  flow_job_master_t *jm;     /* the running job (one at a time in this MiniCluster) */
  flow_job_result_t *result; /* filled when the job reaches a globally terminal state */
  int64_t buffer_timeout_ms;
  flow_restart_strategy_t restart;
  flow_checkpoint_config_t checkpoint;
  flow_job_metrics_t *metrics;
  _Atomic int *status_out;
  char job_id[33];           /* the id the client gave the job */
  int remote_executors;      /* cluster mode: every TaskExecutor is in another process */
  void (*on_done)(flow_dispatcher_t *d);
  /* The job ended: its JobMaster (and ExecutionGraph) is still there to be
   * archived (Flink's ArchivedExecutionGraph); may be NULL. */
  void (*on_archive)(flow_dispatcher_t *d, const flow_job_master_t *jm);
  void (*on_savepoint)(flow_dispatcher_t *d, const char *result);
  void *data;
};

void flow_dispatcher_init(flow_dispatcher_t *d, flow_rpc_t *rpc, flow_resource_manager_t *rm);
/* The job's settings; the checkpoint strings are copied (freed by
 * flow_dispatcher_clear). */
void flow_dispatcher_configure(flow_dispatcher_t *d, int64_t buffer_timeout_ms, const flow_restart_strategy_t *restart,
                               const flow_checkpoint_config_t *checkpoint);
void flow_dispatcher_clear(flow_dispatcher_t *d);

#endif
