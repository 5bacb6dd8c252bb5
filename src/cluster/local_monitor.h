/* The local web monitor: REST (cluster/rest_routes.h) and the dashboard for
 * the jobs of this process (`flowlua --set rest.port=N`, `--web`), Flink's
 * WebMonitorEndpoint of a MiniCluster. One per process, on a thread and a
 * libuv loop of its own, so it outlives each job's MiniCluster (whose loop
 * ends with the job) and keeps finished jobs for inspection.
 *
 * Threads: start/add/remove/stop from the script's thread; the monitor's
 * thread answers requests. `mu` guards the job table; a MiniCluster is only
 * touched (view, cancel) under it, and removed under it before it is freed.
 * Lock order: mu, then a MiniCluster's own mu. */
#ifndef FLOW_CLUSTER_LOCAL_MONITOR_H
#define FLOW_CLUSTER_LOCAL_MONITOR_H

#include <stddef.h>

#include "coordination/minicluster.h"

/* Starts serving on host:port (0: ephemeral); idempotent. With a secret,
 * requests other than GET must be signed (docs/rest.md); without one, host
 * must be a loopback address. 0, or an error code with a message in err. */
int flow_local_monitor_start(const char *host, int port, const char *secret, size_t secret_len, char *err,
                             size_t errlen);
/* The bound port, 0 if not serving. */
int flow_local_monitor_port(void);
/* A job started on mc (which publishes views): shown live until removed. */
void flow_local_monitor_add(flow_minicluster_t *mc);
/* mc is about to be freed: its last view is kept (the latest finished jobs). */
void flow_local_monitor_remove(flow_minicluster_t *mc);
/* Stops serving and forgets every job (at exit). */
void flow_local_monitor_stop(void);

#endif
