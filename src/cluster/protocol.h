/* Cluster mode's application frames (over net/transport.h): the
 * endpoint messages of rpc.h between a jobmanager and its taskmanagers, the
 * client protocol (submit, status, list, cancel, savepoint), and the data
 * plane between taskmanagers (buffers + credits). Payloads are written with
 * wire.h; docs/wire.md has the layouts.
 *
 * Endpoint messages carry no pointers on the wire: a JobMaster is named by
 * its job id, a TaskExecutor by the connection it came from, a network by
 * (job id, attempt). Plain data: no libuv, no threads. */
#ifndef FLOW_CLUSTER_CLUSTER_PROTO_H
#define FLOW_CLUSTER_CLUSTER_PROTO_H

#include "coordination/dispatcher_gateway.h"
#include "coordination/rpc.h"
#include "coordination/task_executor.h"
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

/* Where a buffer goes: the consumer's gate (vertex, subtask) and channel in
 * the network of (job, attempt). */
typedef struct flow_proto_channel {
  char job_id[33];
  int32_t attempt, vertex, subtask, channel;
} flow_proto_channel_t;

void flow_proto_write_channel(flow_wbuf_t *w, const flow_proto_channel_t *ch);
int flow_proto_read_channel(flow_rbuf_t *r, flow_proto_channel_t *ch);

/* An endpoint message: u8 type, str job id (nullable), i32 a b c d, str text
 * (nullable), u8 has blob [bytes blob], then by type: OFFER_SLOTS i32 x b
 * slot indices (ptr2); FREE_SLOTS u8 has indices [i32 x b]; SUBMIT_TASK the deployment (i64 buffer timeout, u8
 * exactly once, str restore dir, str checkpoint dir, i32 n addresses, n x str
 * "host:port", i32 n executions, n x i32 address index). `addr_of` maps a
 * location endpoint to its data address (NULL: unknown). */
int flow_proto_write_msg(flow_wbuf_t *w, const flow_msg_t *m, const char *job_id,
                      const char *(*addr_of)(flow_endpoint_t *te));

/* A decoded endpoint message: the message (ptr/ptr2/to/from unset, except
 * ptr2 = int[b] for OFFER_SLOTS and FREE_SLOTS with indices), the job id, and for SUBMIT_TASK the
 * deployment fields below. flow_proto_msg_clear frees what is left. */
typedef struct flow_proto_msg {
  flow_msg_t m;
  char job_id[33];
  int64_t buffer_timeout_ms;
  int exactly_once;
  char *restore_dir, *checkpoint_dir;
  char **addrs; /* distinct data addresses */
  int n_addrs;
  int32_t *exec_addr; /* per execution vertex: index into addrs */
  int n_exec;
} flow_proto_msg_t;

int flow_proto_read_msg(flow_rbuf_t *r, flow_proto_msg_t *out);
void flow_proto_msg_clear(flow_proto_msg_t *cm);

#endif
