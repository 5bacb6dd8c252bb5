/* Cluster mode's application frames (over net/transport.h): the endpoint
 * messages of coordination/messages.h between a jobmanager and its
 * taskmanagers and the data plane between taskmanagers (buffers + credits);
 * the client protocol's frames are coordination/dispatcher_gateway.h's. Payloads are written with
 * wire.h; docs/wire.md has the layouts.
 *
 * Endpoint messages carry no pointers on the wire: a JobMaster is named by
 * its job id, a TaskExecutor by the connection it came from, a network by
 * (job id, attempt). Plain data: no libuv, no threads. */
#ifndef FLOW_CLUSTER_PROTOCOL_H
#define FLOW_CLUSTER_PROTOCOL_H

#include "coordination/dispatcher_gateway.h"
#include "coordination/messages.h"
#include "runtime/task_metrics.h"
#include "util/wire.h"

enum {
  /* taskmanager <-> jobmanager */
  FLOW_PROTO_REGISTER = 16, /* TM->JM: i32 slots, str data host, i32 data port */
  FLOW_PROTO_HEARTBEAT = 17, /* both ways, empty */
  FLOW_PROTO_RPC = 18,       /* both ways: an endpoint message (flow_proto_write_msg) */
  FLOW_PROTO_JOB = 19,       /* JM->TM before the job's first task there: str job id,
                             bytes stream graph, i32 n, n x (str module path, bytes source) */
  FLOW_PROTO_JOB_RELEASE = 20, /* JM->TM: str job id: the job ended */
  FLOW_PROTO_METRICS = 21,   /* TM->JM, every second while it runs tasks of the job, and before
                             each task's terminal state: str job id, i32 n vertices, n x (i64 records in,
                             i64 records out, i64 bytes read, i64 bytes total), cumulative */
  /* taskmanager <-> taskmanager */
  FLOW_PROTO_DATA = 48,   /* channel address, u8 kind, bytes */
  FLOW_PROTO_CREDIT = 49  /* channel address, i32 credits */
};

/* FLOW_PROTO_METRICS: a taskmanager's readings of its subtasks of one job
 * (runtime/task_metrics.h), docs/wire.md. */
#define FLOW_PROTO_METRICS_VERSION 2
#define FLOW_PROTO_MAX_OPS 4096 /* operators per chain a reading may carry */
void flow_proto_write_reading(flow_wbuf_t *w, int vertex, int subtask, const flow_task_reading_t *r);
/* 0, FLOW_EINVAL (malformed) or FLOW_ENOMEM; r->ops allocated on success. */
int flow_proto_read_reading(flow_rbuf_t *r, int *vertex, int *subtask, flow_task_reading_t *out);

/* Where a buffer goes: the consumer's gate (vertex, subtask) and channel in
 * the network of (job, attempt). */
typedef struct flow_proto_channel {
  char job_id[33];
  int32_t attempt, vertex, subtask, channel;
} flow_proto_channel_t;

void flow_proto_write_channel(flow_wbuf_t *w, const flow_proto_channel_t *ch);
/* 0 or FLOW_EINVAL (truncated, or not a job id). */
int flow_proto_read_channel(flow_rbuf_t *r, flow_proto_channel_t *ch);

/* An endpoint message (coordination/messages.h) on the wire: u8 type, str
 * job id (nullable), i32 a b c d, str text (nullable), u8 has blob [bytes
 * blob], then by type: OFFER_SLOTS i32 x b slot indices; FREE_SLOTS u8 has
 * indices [i32 x b]; SUBMIT_TASK the deployment (i64 buffer timeout, u8
 * exactly once, str restore dir, str checkpoint dir, i32 n addresses, n x str
 * "host:port", i32 n executions, n x i32 address index).
 *
 * What a, b, c, d and the text carry, by type (task = vertex, subtask,
 * attempt):
 *   from a JobMaster (the jobmanager) to a TaskExecutor:
 *     ALLOCATE_SLOTS      a n_slots, c generation
 *     SUBMIT_TASK         a b c task, d slot
 *     CANCEL_TASK         a b c task
 *     TRIGGER_CHECKPOINT  a b c task (all 0: no task), d checkpoint id, text dir
 *     NOTIFY_CHECKPOINT   d checkpoint id
 *     FREE_SLOTS          b n_slots (with indices)
 *   from a TaskExecutor (a taskmanager):
 *     OFFER_SLOTS         b n_slots, c generation
 *     SLOTS_UNAVAILABLE   c generation, text reason
 *     TASK_STATE          a b c task, d state, text error, blob accumulators
 *     ACK_CHECKPOINT      a b c task, d checkpoint id, text state file (NULL: declined)
 *     CANCEL_JOB          nothing
 *     SLOTS_FREED         type FREE_SLOTS, no job id, a n_slots
 * Checkpoint ids are int64_t in the messages and i32 on the wire: the
 * encoder refuses an id outside 0..INT32_MAX (FLOW_EINVAL) rather than
 * narrowing it; the decoder widens what it reads.
 *
 * Writes m as job job_id (NULL: none; the JobMaster's id, or the job proxy's
 * on a taskmanager). `addr_of` maps a SUBMIT_TASK location endpoint to its
 * data address (NULL: unknown). 0, FLOW_EINVAL for a type that does not
 * cross the wire or a checkpoint id the wire cannot carry (nothing written),
 * or the writer's error. */
int flow_proto_write_msg(flow_wbuf_t *w, const flow_msg_t *m, const char *job_id,
                         const char *(*addr_of)(flow_endpoint_t *te));

/* Who wrote an endpoint message: the wire's FREE_SLOTS is FREE_SLOTS from a
 * jobmanager and SLOTS_FREED from a taskmanager. */
typedef enum { FLOW_PROTO_FROM_JOBMANAGER, FLOW_PROTO_FROM_TASKMANAGER } flow_proto_sender_t;

/* A decoded endpoint message: the typed message, its endpoint pointers
 * (to, from, job_master, task_executor) unset for the receiver to fill; the
 * job id ("" when none); for SUBMIT_TASK, m.submit_task.deployment holds
 * the wire's fields (buffer timeout, exactly once, restore and checkpoint
 * directories) and the location map is below. A message of a type its
 * sender never sends comes back with that type and an empty payload (the
 * receiver refuses it). flow_proto_msg_clear frees what is left. */
typedef struct flow_proto_msg {
  flow_msg_t m;
  char job_id[33];
  char **addrs; /* distinct data addresses */
  int n_addrs;
  int32_t *exec_addr; /* per execution vertex: index into addrs */
  int n_exec;
} flow_proto_msg_t;

/* 0, or FLOW_EINVAL (malformed) / FLOW_ENOMEM with nothing to clear. */
int flow_proto_read_msg(flow_rbuf_t *r, flow_proto_sender_t from, flow_proto_msg_t *out);
void flow_proto_msg_clear(flow_proto_msg_t *cm);

#endif
