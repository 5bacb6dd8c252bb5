/* The RPC client of a standalone cluster (Flink's ClusterClient over the
 * cluster's RPC transport, net/transport.h): submits a job to a jobmanager's
 * Dispatcher gateway (coordination/dispatcher_gateway.h) and follows it on
 * a thread of its own as a JobClient (job_client.h); and one-shot requests
 * (list, cancel, savepoint) for the command line.
 *
 * Threads: the client's thread calls every function below; the follower
 * thread runs a libuv loop with the connection and posts status, progress
 * counters and the result to the JobClient. */
#ifndef FLOW_CLIENT_REMOTE_CLIENT_H
#define FLOW_CLIENT_REMOTE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "client/job_client.h"
#include "util/wire.h"

typedef struct flow_remote_target {
  const char *host; /* NULL = 127.0.0.1 */
  int port;
  const char *secret; /* NULL: none */
  size_t secret_len;
} flow_remote_target_t;

/* Connects, submits (payload: a FLOW_GATEWAY_SUBMIT body without the
 * request id) and waits for the jobmanager to accept it. NULL with a message
 * in err. A lost connection later ends the job's wait with a FAILED result
 * naming the cause (the job may still run in the cluster); freeing the
 * client closes the connection, the job goes on. */
flow_job_client_t *flow_remote_client_submit(const flow_remote_target_t *t, const uint8_t *payload, size_t len,
                                             char *err, size_t errlen);

/* One request (type and payload after the request id) and its reply: 0 and
 * the reply's bytes after the request id in *reply (flow_wbuf_free it), or
 * FLOW_EINVAL (bad address) / FLOW_EIO (unreachable, no reply in time) with
 * a message in err. */
int flow_remote_request(const flow_remote_target_t *t, uint8_t type, const void *payload, size_t len,
                        uint8_t reply_type, int64_t timeout_ms, flow_wbuf_t *reply, char *err, size_t errlen);

#endif
