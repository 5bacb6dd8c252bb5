/* The endpoint messages (Flink: the methods of the Dispatcher, ResourceManager,
 * JobMaster and TaskExecutor gateways): one type per message and one payload
 * struct per type, named after what it carries. A message is a heap
 * flow_msg_t (flow_msg_new), filled in through the payload of its type
 * (m->submit_task.slot, ...) and posted with flow_rpc_send (rpc.h); the
 * receiver reads only the payload of m->type.
 *
 * Ownership: pointers in a payload are borrowed unless marked "owned". What a
 * message owns is freed with it after delivery (flow_msg_free), unless the
 * handler took it (and set the field to NULL).
 *
 * Cluster mode: the messages between a JobMaster and a TaskExecutor, and the
 * TaskExecutor's SLOTS_FREED, cross the wire (src/cluster/protocol.c encodes
 * them; docs/wire.md). Their type numbers are part of the wire format: the
 * numbers below never change, new types go at the end. */
#ifndef FLOW_COORDINATION_MESSAGES_H
#define FLOW_COORDINATION_MESSAGES_H

#include <stdint.h>

#include "coordination/rpc.h"
#include "graph/execution_graph.h"
#include "graph/job_graph.h"
#include "runtime/buffer.h"
#include "runtime/network.h"
#include "runtime/task.h"

typedef struct flow_job_master flow_job_master_t;

typedef enum {
  FLOW_MSG_SUBMIT_JOB = 0,          /* client -> Dispatcher */
  FLOW_MSG_JOB_RESULT = 1,          /* JobMaster -> Dispatcher: the job reached a terminal state */
  FLOW_MSG_REGISTER_TE = 2,         /* TaskExecutor -> ResourceManager */
  FLOW_MSG_REQUEST_SLOTS = 3,       /* JobMaster -> ResourceManager */
  FLOW_MSG_ALLOCATE_SLOTS = 4,      /* ResourceManager -> TaskExecutor (wire) */
  FLOW_MSG_OFFER_SLOTS = 5,         /* TaskExecutor -> JobMaster (wire) */
  FLOW_MSG_SLOTS_UNAVAILABLE = 6,   /* ResourceManager or TaskExecutor (wire) -> JobMaster */
  FLOW_MSG_SUBMIT_TASK = 7,         /* JobMaster -> TaskExecutor (wire) */
  FLOW_MSG_CANCEL_TASK = 8,         /* JobMaster -> TaskExecutor (wire) */
  FLOW_MSG_TASK_STATE = 9,          /* task thread -> TaskExecutor -> JobMaster (wire) */
  FLOW_MSG_FREE_SLOTS = 10,         /* JobMaster -> TaskExecutor (wire) */
  FLOW_MSG_CANCEL_JOB = 11,         /* anyone -> Dispatcher or JobMaster (wire: a task asks) */
  FLOW_MSG_TRIGGER_CHECKPOINT = 12, /* JobMaster -> TaskExecutor (wire) */
  FLOW_MSG_ACK_CHECKPOINT = 13,     /* task thread -> TaskExecutor -> JobMaster (wire) */
  FLOW_MSG_NOTIFY_CHECKPOINT = 14,  /* JobMaster -> TaskExecutor (wire) */
  FLOW_MSG_TRIGGER_SAVEPOINT = 15,  /* client -> Dispatcher -> JobMaster */
  FLOW_MSG_SAVEPOINT_DONE = 16,     /* JobMaster -> Dispatcher */
  FLOW_MSG_CANCEL_SLOT_REQUEST = 17, /* JobMaster -> ResourceManager */
  FLOW_MSG_TE_LOST = 18,            /* jobmanager process -> ResourceManager / JobMaster */
  FLOW_MSG_FREE_JOB_MASTER = 19,    /* Dispatcher -> itself (never on the wire) */
  FLOW_MSG_SLOTS_FREED = 20,        /* TaskExecutor -> ResourceManager (on the wire as FREE_SLOTS) */
} flow_msg_type_t;

/* An execution attempt of a subtask (Flink's ExecutionAttemptID): job vertex
 * id (1-based), subtask index, attempt number. */
typedef struct flow_task_id {
  int vertex;
  int subtask;
  int attempt;
} flow_task_id_t;

/* What a TaskExecutor needs to run one subtask (Flink's
 * TaskDeploymentDescriptor), the payload of SUBMIT_TASK. */
typedef struct flow_task_deployment {
  flow_endpoint_t *job;          /* the JobMaster or its proxy: reports go here */
  const flow_job_graph_t *jg;    /* borrowed: outlives the task */
  flow_job_network_t *net;       /* borrowed: this attempt's network */
  flow_job_metrics_t *metrics; /* every subtask's counters (the job owner's), or NULL */
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

/* Frees d and the strings it owns (NULL-safe). */
void flow_task_deployment_free(flow_task_deployment_t *d);

/* ---- payloads, by type ---------------------------------------------------
 * `job_master` in a message to a TaskExecutor is the JobMaster it acts for
 * (in a taskmanager: the job's proxy), which owns the slots and gets the
 * task reports; a remote proxy names it on the wire by its id (the job id). */

typedef struct flow_msg_submit_job {
  const flow_job_graph_t *job_graph; /* borrowed: outlives the job */
} flow_msg_submit_job_t;

/* JOB_RESULT and FREE_JOB_MASTER: the JobMaster itself (the Dispatcher
 * retires it on JOB_RESULT, frees it on FREE_JOB_MASTER). */
typedef struct flow_msg_job_master {
  flow_job_master_t *job_master;
} flow_msg_job_master_t;

typedef struct flow_msg_register_te {
  flow_endpoint_t *task_executor;
  int n_slots;
} flow_msg_register_te_t;

/* REQUEST_SLOTS (the whole job's) and ALLOCATE_SLOTS (the part of it one
 * TaskExecutor serves): generation tells a JobMaster's requests apart, so
 * answers to an older one are given back. */
typedef struct flow_msg_slot_request {
  flow_endpoint_t *job_master;
  int n_slots;
  int generation;
} flow_msg_slot_request_t;

typedef struct flow_msg_offer_slots {
  flow_endpoint_t *task_executor;
  int generation; /* of the request this answers */
  int n_slots;
  int *slots;     /* owned: int[n_slots], indices into the TaskExecutor's slot table */
} flow_msg_offer_slots_t;

typedef struct flow_msg_slots_unavailable {
  int generation; /* of the request this answers */
  char *reason;   /* owned */
} flow_msg_slots_unavailable_t;

typedef struct flow_msg_submit_task {
  flow_endpoint_t *job_master;
  flow_task_id_t task;
  int slot;                           /* index in the TaskExecutor's slot table */
  flow_task_deployment_t *deployment; /* owned (taken by the TaskExecutor) */
} flow_msg_submit_task_t;

typedef struct flow_msg_cancel_task {
  flow_endpoint_t *job_master;
  flow_task_id_t task;
} flow_msg_cancel_task_t;

/* A task's state change. Posted by the task thread with `reporter` set; the
 * TaskExecutor passes it on to the JobMaster naming the task by `task`
 * (reporter NULL from there on). */
typedef struct flow_msg_task_state {
  flow_task_t *reporter;
  flow_task_id_t task;
  flow_execution_state_t state;
  char *error;                 /* owned, may be NULL: why it FAILED */
  flow_buffer_t *accumulators; /* owned, may be NULL: its encoded accumulators, when FINISHED */
} flow_msg_task_state_t;

typedef struct flow_msg_free_slots {
  flow_endpoint_t *job_master; /* whose slots */
  int n_slots;
  int *slots; /* owned: int[n_slots] (a stale offer given back), or NULL: every slot of job_master */
} flow_msg_free_slots_t;

typedef struct flow_msg_slots_freed {
  flow_endpoint_t *task_executor;
  int n_slots; /* how many it freed */
} flow_msg_slots_freed_t;

/* Asks a source task to inject the barrier of checkpoint_id. With
 * task.vertex == 0 it names no task: the TaskExecutor records dir as the
 * checkpoint's directory for the job's networks (a task learning the id
 * from a barrier writes there). */
typedef struct flow_msg_trigger_checkpoint {
  flow_endpoint_t *job_master;
  flow_task_id_t task;
  int64_t checkpoint_id;
  char *dir; /* owned: the checkpoint's (or savepoint's) directory */
} flow_msg_trigger_checkpoint_t;

/* A task's snapshot for checkpoint_id is written (or it declined). Posted by
 * the task thread with `reporter` set, passed on like TASK_STATE. */
typedef struct flow_msg_ack_checkpoint {
  flow_task_t *reporter;
  flow_task_id_t task;
  int64_t checkpoint_id;
  char *state_file; /* owned: the task's state file, or NULL: it declined */
} flow_msg_ack_checkpoint_t;

/* Checkpoint checkpoint_id completed: the job's tasks here may commit. */
typedef struct flow_msg_notify_checkpoint {
  flow_endpoint_t *job_master;
  int64_t checkpoint_id;
} flow_msg_notify_checkpoint_t;

typedef struct flow_msg_trigger_savepoint {
  char *dir; /* owned */
  int stop;  /* cancel the job once the savepoint completed */
} flow_msg_trigger_savepoint_t;

typedef struct flow_msg_savepoint_done {
  char *result; /* owned: the savepoint's path, or "error: ..." */
} flow_msg_savepoint_done_t;

/* CANCEL_SLOT_REQUEST: a waiting request of job_master is withdrawn (and
 * answered SLOTS_UNAVAILABLE). */
typedef struct flow_msg_cancel_slot_request {
  flow_endpoint_t *job_master;
} flow_msg_cancel_slot_request_t;

/* TE_LOST: a TaskExecutor's process is gone (cluster mode). */
typedef struct flow_msg_te_lost {
  flow_endpoint_t *task_executor;
  char *why; /* owned, may be NULL */
} flow_msg_te_lost_t;

struct flow_msg {
  struct flow_msg *next; /* the rpc queue's */
  flow_msg_type_t type;
  flow_endpoint_t *to;
  flow_endpoint_t *from; /* may be NULL (a task thread, a client) */
  union {                /* the member named after type; CANCEL_JOB has none */
    flow_msg_submit_job_t submit_job;
    flow_msg_job_master_t job_result;
    flow_msg_register_te_t register_te;
    flow_msg_slot_request_t request_slots;
    flow_msg_slot_request_t allocate_slots;
    flow_msg_offer_slots_t offer_slots;
    flow_msg_slots_unavailable_t slots_unavailable;
    flow_msg_submit_task_t submit_task;
    flow_msg_cancel_task_t cancel_task;
    flow_msg_task_state_t task_state;
    flow_msg_free_slots_t free_slots;
    flow_msg_trigger_checkpoint_t trigger_checkpoint;
    flow_msg_ack_checkpoint_t ack_checkpoint;
    flow_msg_notify_checkpoint_t notify_checkpoint;
    flow_msg_trigger_savepoint_t trigger_savepoint;
    flow_msg_savepoint_done_t savepoint_done;
    flow_msg_cancel_slot_request_t cancel_slot_request;
    flow_msg_te_lost_t te_lost;
    flow_msg_job_master_t free_job_master;
    flow_msg_slots_freed_t slots_freed;
  };
};

/* A zeroed message of type from -> to (aborts on out of memory). */
flow_msg_t *flow_msg_new(flow_msg_type_t type, flow_endpoint_t *from, flow_endpoint_t *to);
/* Frees what m's payload owns, not m (for messages on the stack). */
void flow_msg_clear(flow_msg_t *m);
/* flow_msg_clear, then frees m (NULL-safe). */
void flow_msg_free(flow_msg_t *m);
/* A heap copy of *src addressed from -> to that takes everything src owned
 * (src's payload is zeroed). */
flow_msg_t *flow_msg_move(flow_msg_t *src, flow_endpoint_t *from, flow_endpoint_t *to);
/* The JobMaster a message to a TaskExecutor acts for (ALLOCATE_SLOTS,
 * SUBMIT_TASK, CANCEL_TASK, TRIGGER_CHECKPOINT, NOTIFY_CHECKPOINT,
 * FREE_SLOTS), NULL for every other type. */
flow_endpoint_t *flow_msg_job_master(const flow_msg_t *m);
/* Sets it (no-op for the other types). */
void flow_msg_set_job_master(flow_msg_t *m, flow_endpoint_t *job_master);

#endif
