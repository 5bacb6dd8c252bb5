/* The jobmanager process of a standalone cluster (Flink's
 * StandaloneSessionClusterEntrypoint): the Dispatcher's job table, the
 * ResourceManager, a JobMaster per running job, the REST endpoint and the
 * BlobServer, on one libuv loop in the calling thread. TaskExecutors live in
 * taskmanager processes: each is represented here by a proxy endpoint that
 * encodes the messages sent to it (cluster/protocol.h) onto its
 * connection, so the JobMaster and ResourceManager are the MiniCluster's
 * code, unchanged. */
#ifndef FLOW_CLUSTER_JOBMANAGER_H
#define FLOW_CLUSTER_JOBMANAGER_H

#include <stddef.h>
#include <stdint.h>

typedef struct flow_jobmanager_options {
  const char *bind_host;   /* RPC; NULL = 127.0.0.1 */
  int bind_port;           /* 0 = ephemeral */
  const char *rest_host;   /* NULL = 127.0.0.1 */
  int rest_port;           /* -1: no REST endpoint; 0 = ephemeral */
  const char *prom_ports;  /* metrics.reporter.prom.port ("9249", "9250-9260"), NULL: no reporter */
  const char *secret;      /* NULL: none (then only loopback binds are allowed) */
  size_t secret_len;
  int64_t heartbeat_interval_ms; /* Flink's heartbeat.interval (10000) */
  int64_t heartbeat_timeout_ms;  /* Flink's heartbeat.timeout (50000) */
  int64_t slot_timeout_ms;       /* Flink's slot.request.timeout (300000) */
  const char *port_file;   /* if set: "RPC_PORT REST_PORT\n" is written there once listening */
} flow_jobmanager_options_t;

void flow_jobmanager_options_init(flow_jobmanager_options_t *o);
/* Runs until SIGINT or SIGTERM (running jobs are canceled first). Returns
 * the process exit code; errors go to stderr. */
int flow_jobmanager_run(const flow_jobmanager_options_t *o);

/* "host:port" -> host (malloc'd) and port; a bare port means 127.0.0.1.
 * 0 or FLOW_EINVAL (nothing allocated). */
int flow_parse_host_port(const char *s, char **host, int *port);

#endif
