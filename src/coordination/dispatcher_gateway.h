/* The Dispatcher's gateway as bytes (Flink: DispatcherGateway and the
 * REST client's messages): what a client sends a jobmanager and what it
 * answers — submit, status, list, cancel, savepoint, the pushed result and
 * progress — as frame types and payloads written with util/wire.h
 * (docs/wire.md has the layouts). Shared by the jobmanager (src/cluster) and
 * the RPC and REST clients (src/client). Plain data: no libuv, no threads. */
#ifndef FLOW_COORDINATION_DISPATCHER_GATEWAY_H
#define FLOW_COORDINATION_DISPATCHER_GATEWAY_H

#include "coordination/checkpoint_config.h"
#include "coordination/job_result.h"
#include "runtime/restart_strategy.h"
#include "util/wire.h"

/* Frame types of the client protocol (one number space with the cluster's
 * own, src/cluster/protocol.h: 16..31 taskmanagers, 32..47 clients, 48..
 * data). */
enum {
  /* every request starts with u32 request id, the reply repeats it */
  FLOW_GATEWAY_SUBMIT = 32,       /* options (flow_gateway_write_options), bytes graph, i32 n, blobs */
  FLOW_GATEWAY_SUBMIT_REPLY = 33, /* u8 ok, str job id or error */
  FLOW_GATEWAY_STATUS = 34,       /* str job id */
  FLOW_GATEWAY_STATUS_REPLY = 35, /* u8 known, str status */
  FLOW_GATEWAY_RESULT = 36,       /* pushed when a job the client submitted ends: flow_gateway_write_result */
  FLOW_GATEWAY_LIST = 37,         /* nothing */
  FLOW_GATEWAY_LIST_REPLY = 38,   /* i32 n, n x (str id, str name, str status, i64 start ms, i64 duration ms) */
  FLOW_GATEWAY_CANCEL = 39,       /* str job id */
  FLOW_GATEWAY_CANCEL_REPLY = 40, /* u8 ok, str message */
  FLOW_GATEWAY_SAVEPOINT = 41,    /* str job id, str dir, u8 stop */
  FLOW_GATEWAY_SAVEPOINT_REPLY = 42, /* u8 ok, str path or error */
  FLOW_GATEWAY_PROGRESS = 43,     /* JM -> submitting client every second while the job runs: u32 0,
                                     i32 n vertices, n x (i64 records in, out, bytes read, total) */
};

/* Job options a client submits with the graph. */
typedef struct flow_gateway_options {
  int64_t buffer_timeout_ms;
  flow_restart_strategy_t restart;     /* parameters only */
  flow_checkpoint_config_t checkpoint; /* strings owned after read */
} flow_gateway_options_t;

void flow_gateway_write_options(flow_wbuf_t *w, const flow_gateway_options_t *o);
int flow_gateway_read_options(flow_rbuf_t *r, flow_gateway_options_t *o);
void flow_gateway_options_clear(flow_gateway_options_t *o);

/* A submission (the FLOW_GATEWAY_SUBMIT payload after its request id, also the
 * body of REST POST /jobs): options, the graph's bytes and the blobs
 * (borrowed from the reader's bytes), their shape and paths checked. */
typedef struct flow_gateway_submission {
  flow_gateway_options_t opt; /* owned: flow_gateway_options_clear */
  const uint8_t *graph;
  uint32_t graph_len;
  const uint8_t *blobs;  /* n_blobs x (str path, bytes file), as a JOB frame carries them */
  size_t blobs_len;
  int32_t n_blobs;
} flow_gateway_submission_t;

/* 0, or FLOW_EINVAL with *why saying what was malformed (nothing to clear). */
int flow_gateway_read_submission(flow_rbuf_t *r, flow_gateway_submission_t *s, const char **why);

/* A job result: str id, str status, str failure (nullable), i64 runtime,
 * i32 restarts, i32 n accumulator tables, n x bytes. */
void flow_gateway_write_result(flow_wbuf_t *w, const flow_job_result_t *r);
int flow_gateway_read_result(flow_rbuf_t *r, flow_job_result_t *out);

/* A blob's path (module file relative to the script's directory): letters,
 * digits, _ - . and /, no absolute path, no component starting with '.'. */
int flow_gateway_blob_path_ok(const char *path);


/* A job id on the wire: exactly 32 lower-case hex digits. */
int flow_gateway_is_job_id(const char *s);
int flow_gateway_read_job_id(flow_rbuf_t *r, char out[33]);

#endif
