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

#include "coordination/endpoints.h"
#include "util/wire.h"

enum {
  /* taskmanager <-> jobmanager */
  FLOW_CP_REGISTER = 16, /* TM->JM: i32 slots, str data host, i32 data port */
  FLOW_CP_HEARTBEAT = 17, /* both ways, empty */
  FLOW_CP_RPC = 18,       /* both ways: an endpoint message (flow_cp_write_msg) */
  FLOW_CP_JOB = 19,       /* JM->TM before the job's first task there: str job id,
                             bytes stream graph, i32 n, n x (str module path, bytes source) */
  FLOW_CP_JOB_RELEASE = 20, /* JM->TM: str job id: the job ended */
  FLOW_CP_METRICS = 21,   /* TM->JM, every second while it runs tasks of the job, and before
                             each task's terminal state: str job id, i32 n vertices, n x (i64 records in,
                             i64 records out, i64 bytes read, i64 bytes total), cumulative */
  /* client <-> jobmanager: every request starts with u32 request id, the reply
   * repeats it */
  FLOW_CP_SUBMIT = 32,       /* options (flow_cp_write_options), bytes graph, i32 n, blobs */
  FLOW_CP_SUBMIT_REPLY = 33, /* u8 ok, str job id or error */
  FLOW_CP_STATUS = 34,       /* str job id */
  FLOW_CP_STATUS_REPLY = 35, /* u8 known, str status */
  FLOW_CP_RESULT = 36,       /* pushed when a job the client submitted ends: flow_cp_write_result */
  FLOW_CP_LIST = 37,         /* nothing */
  FLOW_CP_LIST_REPLY = 38,   /* i32 n, n x (str id, str name, str status, i64 start ms, i64 duration ms) */
  FLOW_CP_CANCEL = 39,       /* str job id */
  FLOW_CP_CANCEL_REPLY = 40, /* u8 ok, str message */
  FLOW_CP_SAVEPOINT = 41,    /* str job id, str dir, u8 stop */
  FLOW_CP_SAVEPOINT_REPLY = 42, /* u8 ok, str path or error */
  FLOW_CP_PROGRESS = 43,     /* JM -> submitting client every second while the job runs: u32 0,
                                i32 n vertices, n x (i64 records in, out, bytes read, total) */
  /* taskmanager <-> taskmanager */
  FLOW_CP_DATA = 48,   /* channel address, u8 kind, bytes */
  FLOW_CP_CREDIT = 49  /* channel address, i32 credits */
};

/* Where a buffer goes: the consumer's gate (vertex, subtask) and channel in
 * the network of (job, attempt). */
typedef struct flow_cp_channel {
  char job_id[33];
  int32_t attempt, vertex, subtask, channel;
} flow_cp_channel_t;

void flow_cp_write_channel(flow_wbuf_t *w, const flow_cp_channel_t *ch);
int flow_cp_read_channel(flow_rbuf_t *r, flow_cp_channel_t *ch);

/* An endpoint message: u8 type, str job id (nullable), i32 a b c d, str text
 * (nullable), u8 has blob [bytes blob], then by type: OFFER_SLOTS i32 x b
 * slot indices (ptr2); FREE_SLOTS u8 has indices [i32 x b]; SUBMIT_TASK the deployment (i64 buffer timeout, u8
 * exactly once, str restore dir, str checkpoint dir, i32 n addresses, n x str
 * "host:port", i32 n executions, n x i32 address index). `addr_of` maps a
 * location endpoint to its data address (NULL: unknown). */
int flow_cp_write_msg(flow_wbuf_t *w, const flow_msg_t *m, const char *job_id,
                      const char *(*addr_of)(flow_endpoint_t *te));

/* A decoded endpoint message: the message (ptr/ptr2/to/from unset, except
 * ptr2 = int[b] for OFFER_SLOTS and FREE_SLOTS with indices), the job id, and for SUBMIT_TASK the
 * deployment fields below. flow_cp_msg_clear frees what is left. */
typedef struct flow_cp_msg {
  flow_msg_t m;
  char job_id[33];
  int64_t buffer_timeout_ms;
  int exactly_once;
  char *restore_dir, *checkpoint_dir;
  char **addrs; /* distinct data addresses */
  int n_addrs;
  int32_t *exec_addr; /* per execution vertex: index into addrs */
  int n_exec;
} flow_cp_msg_t;

int flow_cp_read_msg(flow_rbuf_t *r, flow_cp_msg_t *out);
void flow_cp_msg_clear(flow_cp_msg_t *cm);

/* Job options a client submits with the graph. */
typedef struct flow_cp_options {
  int64_t buffer_timeout_ms;
  flow_restart_strategy_t restart;     /* parameters only */
  flow_checkpoint_config_t checkpoint; /* strings owned after read */
} flow_cp_options_t;

void flow_cp_write_options(flow_wbuf_t *w, const flow_cp_options_t *o);
int flow_cp_read_options(flow_rbuf_t *r, flow_cp_options_t *o);
void flow_cp_options_clear(flow_cp_options_t *o);

/* A submission (the FLOW_CP_SUBMIT payload after its request id, also the
 * body of REST POST /jobs): options, the graph's bytes and the blobs
 * (borrowed from the reader's bytes), their shape and paths checked. */
typedef struct flow_cp_submission {
  flow_cp_options_t opt; /* owned: flow_cp_options_clear */
  const uint8_t *graph;
  uint32_t graph_len;
  const uint8_t *blobs;  /* n_blobs x (str path, bytes file), as a JOB frame carries them */
  size_t blobs_len;
  int32_t n_blobs;
} flow_cp_submission_t;

/* 0, or FLOW_EINVAL with *why saying what was malformed (nothing to clear). */
int flow_cp_read_submission(flow_rbuf_t *r, flow_cp_submission_t *s, const char **why);

/* A job result: str id, str status, str failure (nullable), i64 runtime,
 * i32 restarts, i32 n accumulator tables, n x bytes. */
void flow_cp_write_result(flow_wbuf_t *w, const flow_job_result_t *r);
int flow_cp_read_result(flow_rbuf_t *r, flow_job_result_t *out);

/* A blob's path (module file relative to the script's directory): letters,
 * digits, _ - . and /, no absolute path, no component starting with '.'. */
int flow_cp_blob_path_ok(const char *path);

/* A job id on the wire: exactly 32 hex digits. */
int flow_cp_read_job_id(flow_rbuf_t *r, char out[33]);

#endif
