/* The MiniCluster as a JobClient (flowlua's default: the job runs in this
 * process). */
#ifndef FLOW_CLIENT_MINICLUSTER_CLIENT_H
#define FLOW_CLIENT_MINICLUSTER_CLIENT_H

#include "client/job_client.h"
#include "coordination/minicluster.h"

/* Starts a MiniCluster and submits jg (which must outlive the client); the
 * options' on_result/data are the client's own. NULL with a message in err
 * if it cannot start. */
flow_job_client_t *flow_minicluster_client_start(const flow_job_graph_t *jg, const flow_minicluster_options_t *opt,
                                                 char *err, size_t errlen);

/* The MiniCluster of a client made by flow_minicluster_client_start. */
flow_minicluster_t *flow_minicluster_client_cluster(flow_job_client_t *c);

#endif
