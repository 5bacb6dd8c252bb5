/* The MiniCluster as a JobClient: the job runs in this process; the
 * MiniCluster's cluster thread hands the result over when the job ends. */
#include "client/minicluster_client.h"

#include <stdlib.h>
#include <string.h>

#include "util/common.h"

typedef struct minicluster_client {
  flow_job_client_t base; /* first: the client is freed through it */
  flow_minicluster_t *mc;
} minicluster_client_t;

static flow_minicluster_t *mc_of(flow_job_client_t *c) { return ((minicluster_client_t *)c)->mc; }

/* The cluster thread, once. */
static void on_result(void *data, flow_job_result_t *r) { flow_job_client_complete(data, r); }

static flow_job_status_t mcc_status(flow_job_client_t *c) { return flow_minicluster_status(mc_of(c)); }

static void mcc_cancel(flow_job_client_t *c) { flow_minicluster_cancel(mc_of(c)); }

static int mcc_savepoint(flow_job_client_t *c, const char *dir, int stop, int64_t timeout_ms, char *out,
                         size_t cap) {
  return flow_minicluster_savepoint(mc_of(c), dir, stop, timeout_ms, out, cap);
}

static const flow_vertex_metrics_t *mcc_metrics(flow_job_client_t *c, int n_vertices) {
  (void)n_vertices; /* the MiniCluster runs exactly the client's graph */
  return flow_minicluster_metrics(mc_of(c));
}

static void mcc_free(flow_job_client_t *c) {
  minicluster_client_t *x = (minicluster_client_t *)c;
  flow_minicluster_free(x->mc); /* cancels a job still running, joins every thread */
  flow_job_client_destroy(c);
  free(x);
}

static const flow_job_client_ops_t minicluster_ops = {
    .status = mcc_status,
    .cancel = mcc_cancel,
    .savepoint = mcc_savepoint,
    .metrics = mcc_metrics,
    .free = mcc_free,
};

flow_job_client_t *flow_minicluster_client_start(const flow_job_graph_t *jg, const flow_minicluster_options_t *opt,
                                                 char *err, size_t errlen) {
  minicluster_client_t *x = flow_xcalloc(1, sizeof(*x));
  flow_job_client_init(&x->base, &minicluster_ops);
  flow_minicluster_options_t o = *opt;
  o.on_result = on_result;
  o.data = &x->base;
  x->mc = flow_minicluster_start(jg, &o, err, errlen);
  if (x->mc == NULL) {
    flow_job_client_destroy(&x->base);
    free(x);
    return NULL;
  }
  memcpy(x->base.job_id, flow_minicluster_job_id(x->mc), sizeof(x->base.job_id));
  return &x->base;
}

flow_minicluster_t *flow_minicluster_client_cluster(flow_job_client_t *c) { return c != NULL ? mc_of(c) : NULL; }
