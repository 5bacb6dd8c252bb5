/* JobMaster (Flink's JobMaster with its scheduler): owns the
 * ExecutionGraph of one job, asks the ResourceManager for slots, deploys
 * every subtask, follows the tasks' state reports, restarts the job by its
 * restart strategy and runs the CheckpointCoordinator (job_master.c,
 * checkpoint_coordinator.c). An endpoint: loop thread only, driven by
 * messages (messages.h). */
#ifndef FLOW_COORDINATION_JOB_MASTER_H
#define FLOW_COORDINATION_JOB_MASTER_H

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "coordination/checkpoint_coordinator.h"
#include "coordination/resource_manager.h"
#include "coordination/rpc.h"
#include "graph/execution_graph.h"
#include "graph/job_graph.h"
#include "runtime/network.h"
#include "runtime/restart_strategy.h"
#include "runtime/task.h"

typedef struct flow_dispatcher flow_dispatcher_t;

struct flow_job_master {
  flow_endpoint_t ep;
  flow_dispatcher_t *dispatcher;
  flow_resource_manager_t *rm;
  const flow_job_graph_t *jg;
  flow_execution_graph_t *eg;
  flow_job_network_t *net;   /* in-process attempts: the network; NULL with remote executors */
  flow_endpoint_t **slot_te; /* per shared slot: the TaskExecutor that offered it */
  int *slots;          /* per shared slot: its index in that TaskExecutor's slot table */
  int n_slots;
  int n_offered;       /* shared slots offered so far (deploy once n_offered == n_slots) */
  int awaiting_slots;  /* a slot request is out (first deployment or after a lost TaskExecutor) */
  int slot_gen;        /* generation of the latest request: older offers are given back */
  flow_endpoint_t **exec_te; /* per execution vertex (vertex-major): where the attempt runs */
  int *slot_base;      /* per vertex: first shared slot of its sharing group */
  int n_terminal, n_failed, n_canceled;
  char *failure;
  flow_job_status_t status;
  char job_id[33];
  uint64_t start_ns;
  int64_t buffer_timeout_ms;
  flow_restart_strategy_t restart;
  int restarts;
  int cancel_requested;       /* cancel() before the job was deployed */
  int stopping;               /* stop-with-savepoint: canceled tasks end the job FINISHED */
  uv_timer_t *restart_timer;  /* heap: freed by its close callback */
  flow_buffer_t *accumulators; /* from FINISHED tasks of the current attempt */
  _Atomic int *status_out;    /* mirrors status for other threads, may be NULL */
  flow_checkpoint_coordinator_t cc;
  flow_job_metrics_t *metrics; /* owned by the MiniCluster or the taskmanager's job */
  int remote_executors;       /* cluster mode: taskmanagers build the networks; none here */
};

/* A JobMaster for jg (borrowed: outlives it) with d's settings. */
flow_job_master_t *flow_job_master_new(flow_dispatcher_t *d, const flow_job_graph_t *jg);
/* Builds the ExecutionGraph and asks for slots (or fails the job). */
void flow_job_master_start(flow_job_master_t *jm);
/* The job ended: later messages to it are ignored until it is freed. */
void flow_job_master_retire(flow_job_master_t *jm);
void flow_job_master_free(flow_job_master_t *jm);
/* The TaskExecutor the current attempt of (execution job vertex index, subtask) runs on. */
flow_endpoint_t *flow_job_master_task_te(flow_job_master_t *jm, int ejv_index, int subtask);

/* A random 32-hex-digit job id, as Flink's JobID. */
void flow_new_job_id(char out[33]);

#endif
