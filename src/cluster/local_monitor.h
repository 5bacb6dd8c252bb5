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

typedef struct flow_local_monitor_opts {
  const char *host;       /* NULL: 127.0.0.1 */
  int rest_port;          /* 0: ephemeral, < 0: no REST */
  const char *prom_ports; /* metrics.reporter.prom.port ("9249", "9250-9260"), NULL: none */
  const char *secret;     /* may be NULL */
  size_t secret_len;
} flow_local_monitor_opts_t;

/* Starts serving REST and/or the Prometheus reporter; once per process.
 * With a secret, REST requests other than GET must be signed
 * (docs/rest.md); without one, host must be a loopback address. 0, or an
 * error code with a message in err. */
int flow_local_monitor_start(const flow_local_monitor_opts_t *o, char *err, size_t errlen);
/* The bound REST / Prometheus port, 0 if not serving. */
int flow_local_monitor_port(void);
int flow_local_monitor_prom_port(void);
/* Serving anything (jobs then publish views). */
int flow_local_monitor_on(void);
/* A job started on mc (which publishes views): shown live until removed. */
void flow_local_monitor_add(flow_minicluster_t *mc);
/* mc is about to be freed: its last view is kept (the latest finished jobs). */
void flow_local_monitor_remove(flow_minicluster_t *mc);
/* Stops serving and forgets every job (at exit). */
void flow_local_monitor_stop(void);

#endif
