/* Endpoints and messages: the Dispatcher, ResourceManager, JobMaster and
 * TaskExecutor talk only by messages (Flink: RPC gateways over Pekko). In the
 * MiniCluster a message is a heap struct posted to a mutex-guarded queue and
 * delivered on the libuv loop thread by a uv_async handle, so every endpoint
 * runs single-threaded on the loop; a cluster mode swaps the transport only.
 *
 * Lock order: rpc->mu is a leaf lock. */
#ifndef FLOW_CLUSTER_RPC_H
#define FLOW_CLUSTER_RPC_H

#include <stdint.h>
#include <uv.h>

typedef enum {
  FLOW_MSG_SUBMIT_JOB,        /* client -> Dispatcher: ptr = job graph */
  FLOW_MSG_JOB_RESULT,        /* JobMaster -> Dispatcher: ptr = job master */
  FLOW_MSG_REGISTER_TE,       /* TaskExecutor -> ResourceManager: a = slots, ptr = te */
  FLOW_MSG_REQUEST_SLOTS,     /* JobMaster -> ResourceManager: a = slots, c = request generation,
                                 ptr = jm */
  FLOW_MSG_ALLOCATE_SLOTS,    /* ResourceManager -> TaskExecutor: a = slots, c = generation, ptr = jm
                                 (one request may be spread over several TaskExecutors) */
  FLOW_MSG_OFFER_SLOTS,       /* TaskExecutor -> JobMaster: b = count, c = generation, ptr = te,
                                 ptr2 = int[b] slot indices */
  FLOW_MSG_SLOTS_UNAVAILABLE, /* ResourceManager -> JobMaster: text = reason */
  FLOW_MSG_SUBMIT_TASK,       /* JobMaster -> TaskExecutor: ptr = jm, a = vertex, b = subtask,
                                 c = attempt, d = slot, ptr2 = flow_task_deployment_t */
  FLOW_MSG_CANCEL_TASK,       /* JobMaster -> TaskExecutor: ptr = jm, a/b/c as above */
  FLOW_MSG_TASK_STATE,        /* task thread -> TaskExecutor (ptr = task), then
                                 TaskExecutor -> JobMaster (a/b/c, d = state, text = error) */
  FLOW_MSG_FREE_SLOTS,        /* JobMaster -> TaskExecutor: ptr = jm; every slot of the job, or
                                 only ptr2 = int[b] slot indices (a stale offer given back);
                                 TaskExecutor -> ResourceManager: a = slots freed */
  FLOW_MSG_CANCEL_JOB,        /* client -> JobMaster */
  FLOW_MSG_TRIGGER_CHECKPOINT, /* JobMaster -> TaskExecutor: ptr = jm, a/b/c = vertex/subtask/attempt,
                                  d = checkpoint id */
  FLOW_MSG_ACK_CHECKPOINT,    /* task -> TaskExecutor (ptr = task) -> JobMaster: a/b/c, d = id,
                                 text = state file path, or NULL when the task declined */
  FLOW_MSG_NOTIFY_CHECKPOINT, /* JobMaster -> TaskExecutor: ptr = jm, d = completed checkpoint id */
  FLOW_MSG_TRIGGER_SAVEPOINT, /* client -> Dispatcher -> JobMaster: text = directory, a = stop */
  FLOW_MSG_SAVEPOINT_DONE,    /* JobMaster -> Dispatcher: text = path, or "error: ..." */
  FLOW_MSG_CANCEL_SLOT_REQUEST, /* JobMaster -> ResourceManager: ptr = jm; a pending request is
                                   withdrawn (answered SLOTS_UNAVAILABLE) */
  FLOW_MSG_TE_LOST,           /* jobmanager process -> ResourceManager / JobMaster: ptr = the
                                 TaskExecutor's endpoint, text = why */
  FLOW_MSG_FREE_JOB_MASTER    /* Dispatcher -> itself after JOB_RESULT: ptr = jm; every message
                                 queued to the JobMaster before it has been ignored (local only:
                                 never on the wire) */
} flow_msg_type_t;

typedef struct flow_endpoint flow_endpoint_t;

typedef struct flow_msg {
  struct flow_msg *next;
  flow_msg_type_t type;
  flow_endpoint_t *to;
  flow_endpoint_t *from;
  void *ptr, *ptr2;
  int a, b, c, d;
  char *text; /* malloc'd; freed after delivery unless the handler took it (set NULL) */
  void (*free_ptr2)(void *); /* if set, frees ptr2 after delivery unless the handler took it */
  struct flow_buffer *blob; /* bytes (e.g. encoded accumulators); freed likewise */
} flow_msg_t;

typedef struct flow_rpc {
  uv_loop_t *loop;
  uv_async_t async;
  uv_mutex_t mu;
  flow_msg_t *head, *tail;
  int closed;
} flow_rpc_t;

struct flow_endpoint {
  const char *name;
  flow_rpc_t *rpc;
  void (*handle)(flow_endpoint_t *self, flow_msg_t *m); /* on the loop thread */
  const char *id;   /* JobMasters: the job id, so a remote proxy can name the job; else NULL */
  int lost;         /* a remote endpoint whose process is gone (cluster mode); loop thread */
};

int flow_rpc_init(flow_rpc_t *rpc, uv_loop_t *loop);
/* Closes the async handle; undelivered messages are dropped, later sends are
 * freed. Loop thread only. Every thread that may still send must be joined
 * before the loop is closed (the MiniCluster joins all task threads first);
 * the owner destroys rpc->mu after uv_run has returned. */
void flow_rpc_close(flow_rpc_t *rpc);
/* Any thread. Takes ownership of m. */
void flow_rpc_send(flow_rpc_t *rpc, flow_msg_t *m);
/* Convenience: allocates and sends. */
flow_msg_t *flow_msg_new(flow_msg_type_t type, flow_endpoint_t *from, flow_endpoint_t *to);

#endif
