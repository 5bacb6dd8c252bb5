/* The MiniCluster's endpoints (Flink: Dispatcher, ResourceManager,
 * JobMaster, TaskExecutor). Each embeds a flow_endpoint_t first and runs only
 * on the loop thread, driven by messages (see rpc.h). */
#ifndef FLOW_CLUSTER_ENDPOINTS_H
#define FLOW_CLUSTER_ENDPOINTS_H

#include "coordination/rpc.h"
#include "graph/execution_graph.h"
#include "runtime/network.h"
#include "runtime/restart_strategy.h"
#include "runtime/task.h"
#include "runtime/task_slot_table.h"

typedef struct flow_job_result {
  char job_id[33];
  flow_job_status_t status;
  char *failure;          /* root cause with Lua traceback, malloc'd, or NULL */
  int64_t net_runtime_ms;
  int restarts;           /* how many times the job was restarted */
  flow_buffer_t *collected; /* execute_and_collect records, list linked by ->next */
  flow_buffer_t *accumulators; /* one encoded table per finished task, linked by ->next */
} flow_job_result_t;

/* Checkpointing of a job (Flink's CheckpointConfig). */
typedef struct flow_checkpoint_config {
  int64_t interval_ms;  /* 0: off */
  int exactly_once;     /* aligned barriers (1) or not (0) */
  char *dir;            /* where chk-<id>/ directories go */
  int64_t timeout_ms;   /* a pending checkpoint is aborted after this */
  int64_t min_pause_ms; /* between the end of one and the start of the next */
  int retained;         /* completed checkpoints kept */
  char *restore_dir;    /* start from this checkpoint or savepoint, or NULL */
} flow_checkpoint_config_t;

/* The CheckpointCoordinator's state inside a JobMaster (loop thread only). */
typedef struct flow_checkpoint_coordinator {
  flow_checkpoint_config_t cfg;
  uv_timer_t *timer;      /* heap: freed by its close callback */
  int64_t next_id;
  int64_t pending_id;     /* 0: none */
  int64_t pending_start_ms;
  char *pending_dir;      /* chk-<id> or a savepoint directory */
  int pending_savepoint;  /* 1: savepoint, 2: savepoint then cancel */
  unsigned char *acked;   /* per execution vertex (vertex-major order) */
  char **files;           /* per execution vertex: state file, once acked */
  int n_acked;
  int64_t last_end_ms;
  int64_t latest_id;      /* latest completed checkpoint, 0: none */
  char *latest_dir;
  char **retained_dirs;   /* oldest first */
  int n_retained;
  int64_t completed;      /* counters, for results and tests */
  int64_t aborted;
  char *savepoint_result; /* path of the last savepoint, or an error (prefix "error: ") */
} flow_checkpoint_coordinator_t;

/* What a TaskExecutor needs to run one subtask (Flink's
 * TaskDeploymentDescriptor): sent as ptr2 of FLOW_MSG_SUBMIT_TASK, taken by
 * the TaskExecutor (flow_task_deployment_free otherwise). */
typedef struct flow_task_deployment {
  flow_endpoint_t *job;          /* the JobMaster or its proxy: reports go here */
  const flow_job_graph_t *jg;    /* borrowed: outlives the task */
  flow_job_network_t *net;       /* borrowed: this attempt's network */
  flow_vertex_metrics_t *metrics; /* per job vertex, or NULL */
  int64_t buffer_timeout_ms;
  int exactly_once;
  int lazy_splits;               /* file sources share a split assigner (net): in-process only */
  char *restore_dir;             /* owned, may be NULL */
  char *checkpoint_dir;          /* owned, may be NULL */
  char *blob_dir;                /* owned: the job's modules (cluster mode), may be NULL */
  /* cluster mode: the TaskExecutor endpoint of every execution vertex
   * (vertex-major), borrowed from the JobMaster for the encoder of a remote
   * TaskExecutor's proxy; NULL in-process */
  flow_endpoint_t *const *locations;
} flow_task_deployment_t;

void flow_task_deployment_free(void *d);

typedef struct flow_dispatcher flow_dispatcher_t;
typedef struct flow_resource_manager flow_resource_manager_t;
typedef struct flow_task_executor flow_task_executor_t;

typedef struct flow_job_master {
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
  flow_vertex_metrics_t *metrics; /* per job vertex, owned by the MiniCluster */
  int remote_executors;       /* cluster mode: taskmanagers build the networks; none here */
} flow_job_master_t;

struct flow_dispatcher {
  flow_endpoint_t ep;
  flow_resource_manager_t *rm;
  flow_job_master_t *jm;     /* the running job (one at a time in this MiniCluster) */
  flow_job_result_t *result; /* filled when the job reaches a globally terminal state */
  int64_t buffer_timeout_ms;
  flow_restart_strategy_t restart;
  flow_checkpoint_config_t checkpoint;
  flow_vertex_metrics_t *metrics;
  _Atomic int *status_out;
  char job_id[33];           /* the id the client gave the job */
  int remote_executors;      /* cluster mode: every TaskExecutor is in another process */
  void (*on_done)(flow_dispatcher_t *d);
  void (*on_savepoint)(flow_dispatcher_t *d, const char *result);
  void *data;
};

/* A slot request the ResourceManager could not serve yet (cluster mode
 * waits for taskmanagers up to slot_timeout_ms). */
typedef struct flow_slot_request {
  flow_endpoint_t *jm;
  int slots;
  int gen;
  uint64_t deadline_ns;
  struct flow_slot_request *next;
} flow_slot_request_t;

struct flow_resource_manager {
  flow_endpoint_t ep;
  flow_endpoint_t **tes;   /* registered task executors */
  int *te_slots;           /* free slots of each */
  int n_tes, cap_tes;
  int64_t slot_timeout_ms; /* 0: a request that cannot be served fails at once (MiniCluster) */
  flow_slot_request_t *pending; /* FIFO */
  uv_timer_t *timer;       /* heap: expires pending requests; freed by its close callback */
};

typedef struct flow_te_task {
  flow_task_t *task;
  flow_endpoint_t *jm;  /* the job's JobMaster (or its proxy): the owner of its slots */
  struct flow_te_task *next;
} flow_te_task_t;

struct flow_task_executor {
  flow_endpoint_t ep;
  flow_resource_manager_t *rm;
  flow_task_slot_table_t slots;
  flow_te_task_t *tasks; /* running tasks */
  flow_task_body_fn task_body;
};

void flow_dispatcher_init(flow_dispatcher_t *d, flow_rpc_t *rpc, flow_resource_manager_t *rm);
/* The job's settings; the checkpoint strings are copied (freed by
 * flow_dispatcher_clear). */
void flow_dispatcher_configure(flow_dispatcher_t *d, int64_t buffer_timeout_ms, const flow_restart_strategy_t *restart,
                               const flow_checkpoint_config_t *checkpoint);
void flow_dispatcher_clear(flow_dispatcher_t *d);
void flow_resource_manager_init(flow_resource_manager_t *rm, flow_rpc_t *rpc);
void flow_resource_manager_destroy(flow_resource_manager_t *rm);
/* Drops every waiting slot request of jm (loop thread: a JobMaster being freed). */
void flow_rm_forget(flow_resource_manager_t *rm, const flow_endpoint_t *jm);
/* body: what every task of this TaskExecutor runs (src/lua/task_body.c). */
int flow_task_executor_init(flow_task_executor_t *te, flow_rpc_t *rpc, flow_resource_manager_t *rm,
                            int n_slots, flow_task_body_fn body);
void flow_task_executor_destroy(flow_task_executor_t *te);

flow_job_master_t *flow_job_master_new(flow_dispatcher_t *d, const flow_job_graph_t *jg);
void flow_job_master_start(flow_job_master_t *jm);
/* The job ended: later messages to it are ignored until it is freed. */
void flow_job_master_retire(flow_job_master_t *jm);
void flow_job_master_free(flow_job_master_t *jm);
/* The TaskExecutor the current attempt of (execution job vertex index, subtask) runs on. */
flow_endpoint_t *flow_job_master_task_te(flow_job_master_t *jm, int ejv_index, int subtask);

void flow_job_result_clear(flow_job_result_t *r);

/* checkpoint_coordinator.c, called by the JobMaster */
void flow_cc_init(flow_job_master_t *jm, const flow_checkpoint_config_t *cfg);
void flow_cc_free(flow_job_master_t *jm);
void flow_cc_on_deployed(flow_job_master_t *jm);
void flow_cc_on_ack(flow_job_master_t *jm, flow_msg_t *m);
void flow_cc_on_task_finished(flow_job_master_t *jm, int vertex, int subtask);
void flow_cc_abort(flow_job_master_t *jm, const char *why);
void flow_cc_stop(flow_job_master_t *jm);
/* Starts a savepoint into dir now (stop: cancel the job once it completed). */
int flow_cc_trigger_savepoint(flow_job_master_t *jm, const char *dir, int stop);
/* The checkpoint new attempts restore from: the latest completed, else the
 * configured restore directory, else NULL. */
const char *flow_cc_restore_dir(flow_job_master_t *jm);
/* Sends the savepoint result (cc.savepoint_result) to the Dispatcher. */
void flow_cc_report_savepoint(flow_job_master_t *jm);
/* A random 32-hex-digit job id, as Flink's JobID. */
void flow_new_job_id(char out[33]);

#endif
