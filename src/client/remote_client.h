/* The client of a standalone cluster (Flink's RestClusterClient, over the
 * cluster RPC transport): submits a job to a jobmanager and follows it on a
 * thread of its own, so the script's thread can watch, cancel or wait as
 * with the MiniCluster; and one-shot requests (list, cancel, savepoint).
 *
 * Threads: the client calls every function below; the follower thread runs
 * a libuv loop with the connection. `mu` guards the shared state (leaf). */
#ifndef FLOW_CLUSTER_REMOTE_CLIENT_H
#define FLOW_CLUSTER_REMOTE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "coordination/dispatcher_gateway.h"
#include "coordination/endpoints.h"
#include "client/rest_client.h"
#include "util/wire.h"

typedef struct flow_remote_target {
  const char *host; /* NULL = 127.0.0.1 */
  int port;
  const char *secret; /* NULL: none */
  size_t secret_len;
} flow_remote_target_t;

typedef struct flow_remote_client flow_remote_client_t;

/* Connects, submits (payload: a FLOW_GATEWAY_SUBMIT body without the request id)
 * and waits for the jobmanager to accept it. NULL with a message in err. */
flow_remote_client_t *flow_rc_submit(const flow_remote_target_t *t, const uint8_t *payload, size_t len, char *err,
                                     size_t errlen);
/* The same over the REST endpoint (`flowlua run --rest`, as Flink's CLI):
 * POST /jobs, then GET /jobs/:id every 200 ms until the job ended (the
 * result has no accumulators); cancel is PATCH /jobs/:id?mode=cancel;
 * savepoints need the RPC client. */
flow_remote_client_t *flow_rc_submit_rest(const flow_rest_target_t *t, const uint8_t *payload, size_t len,
                                          char *err, size_t errlen);
const char *flow_rc_job_id(flow_remote_client_t *rc);
/* The job's live counters pushed by the jobmanager (RPC mode), NULL before
 * the first push or when the vertex count is not n_vertices. Relaxed
 * atomics: readable from the client thread. */
const flow_vertex_metrics_t *flow_rc_metrics(flow_remote_client_t *rc, int n_vertices);
flow_job_status_t flow_rc_status(flow_remote_client_t *rc);
/* Asks the jobmanager to cancel the job (a request of its own). */
void flow_rc_cancel(flow_remote_client_t *rc);
/* As flow_minicluster_wait. A lost connection ends the wait with a FAILED
 * result naming the cause (the job may still run in the cluster). */
int flow_rc_wait(flow_remote_client_t *rc, int64_t timeout_ms, flow_job_result_t *out);
int flow_rc_savepoint(flow_remote_client_t *rc, const char *dir, int stop, int64_t timeout_ms, char *out, size_t cap);
/* Closes the connection and joins the thread; the job goes on in the cluster. */
void flow_rc_free(flow_remote_client_t *rc);

/* One request (type and payload after the request id) and its reply: 0 and
 * the reply's bytes after the request id in *reply (flow_wbuf_free it), or
 * -1 with a message in err. */
int flow_rc_request(const flow_remote_target_t *t, uint8_t type, const void *payload, size_t len, uint8_t reply_type,
                    int64_t timeout_ms, flow_wbuf_t *reply, char *err, size_t errlen);

#endif
