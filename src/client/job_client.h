/* JobClient (Flink's JobClient): a submitted job, whatever runs it — a
 * MiniCluster in this process (minicluster_client.c), a jobmanager over the
 * cluster's RPC transport (remote_client.c) or over its REST endpoint
 * (rest_client.c). The script's thread asks for the status, cancels, takes
 * savepoints and waits for the result through this one interface.
 *
 * Each implementation follows its job on a thread of its own and posts what
 * it learns here (flow_job_client_set_status, flow_job_client_complete); the
 * result hand-off — wait with a timeout, the result handed over once — is
 * this file's, shared by all three.
 *
 * Threads: the client's thread calls the public functions; the follower
 * thread posts. `mu` guards status, done, taken and result (leaf lock). */
#ifndef FLOW_CLIENT_JOB_CLIENT_H
#define FLOW_CLIENT_JOB_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "coordination/job_result.h"
#include "coordination/minicluster.h" /* flow_vertex_metrics_t */

typedef struct flow_job_client flow_job_client_t;

/* What an implementation provides; every function runs on the client's thread. */
typedef struct flow_job_client_ops {
  /* The job's status when the implementation knows it better than what it
   * posted (a MiniCluster reads its JobMaster's); NULL: the posted one. */
  flow_job_status_t (*status)(flow_job_client_t *c);
  /* Asks for the job's cancellation (returns at once; the result follows). */
  void (*cancel)(flow_job_client_t *c);
  /* A savepoint into dir (stop: cancel the job once it completed), waiting at
   * most timeout_ms: 0 with the path in out, or a FLOW_E* code with a message
   * (prefix "error: ") in out. */
  int (*savepoint)(flow_job_client_t *c, const char *dir, int stop, int64_t timeout_ms, char *out, size_t cap);
  /* Live per-vertex counters, or NULL (not known yet, or not n_vertices). */
  const flow_vertex_metrics_t *(*metrics)(flow_job_client_t *c, int n_vertices);
  /* Stops following and joins the follower thread (a MiniCluster job still
   * running is canceled first; a cluster job goes on), then frees the
   * implementation (which embeds the flow_job_client_t) after calling
   * flow_job_client_destroy. */
  void (*free)(flow_job_client_t *c);
} flow_job_client_ops_t;

struct flow_job_client {
  const flow_job_client_ops_t *ops;
  char job_id[33];          /* set before the client is handed out, then constant */
  uv_mutex_t mu;
  uv_cond_t cond;
  flow_job_status_t status; /* latest known */
  int done;                 /* the result is final */
  int taken;                /* flow_job_client_wait handed it over */
  flow_job_result_t result;
};

/* --- the interface (client's thread) ------------------------------------- */
const char *flow_job_client_job_id(flow_job_client_t *c);
flow_job_status_t flow_job_client_status(flow_job_client_t *c);
void flow_job_client_cancel(flow_job_client_t *c);
int flow_job_client_savepoint(flow_job_client_t *c, const char *dir, int stop, int64_t timeout_ms, char *out,
                              size_t cap);
const flow_vertex_metrics_t *flow_job_client_metrics(flow_job_client_t *c, int n_vertices);
/* Waits for a globally terminal job status (timeout_ms < 0: forever).
 * Returns 1 and fills *out when the job ended — the whole result the first
 * time (clear it with flow_job_result_clear), only id and status after —
 * or 0 on timeout. */
int flow_job_client_wait(flow_job_client_t *c, int64_t timeout_ms, flow_job_result_t *out);
/* NULL-safe. */
void flow_job_client_free(flow_job_client_t *c);

/* --- for implementations ---------------------------------------------------- */
void flow_job_client_init(flow_job_client_t *c, const flow_job_client_ops_t *ops);
void flow_job_client_destroy(flow_job_client_t *c);
/* Any thread: the latest status (ignored once done). */
void flow_job_client_set_status(flow_job_client_t *c, flow_job_status_t s);
/* Any thread: the job ended; takes *r (zeroed). The first result wins; a
 * later one is cleared. Wakes every waiter. */
void flow_job_client_complete(flow_job_client_t *c, flow_job_result_t *r);
/* Any thread: ends the job with status FAILED and this message (a lost
 * connection), unless a result came first. */
void flow_job_client_fail(flow_job_client_t *c, const char *failure);

#endif
