/* The jobmanager process's state, shared by jobmanager.c (the job table,
 * the taskmanager proxies, RPC) and jobmanager_rest.c (the REST endpoint).
 * Loop thread only. */
#ifndef FLOW_CLUSTER_JOBMANAGER_INTERNAL_H
#define FLOW_CLUSTER_JOBMANAGER_INTERNAL_H

#include <stdatomic.h>

#include "cluster/protocol.h"
#include "coordination/dispatcher.h"
#include "coordination/job_master.h"
#include "coordination/job_view.h"
#include "coordination/resource_manager.h"
#include "cluster/jobmanager.h"
#include "net/transport.h"

/* A job: its graphs, its Dispatcher (a JobManagerRunner: one JobMaster) and
 * its result once it ended. */
typedef struct flow_jobmanager_job {
  char id[33];
  char *name;
  flow_stream_graph_t *sg;
  flow_job_graph_t *jg;
  flow_dispatcher_t d;
  flow_job_result_t result;
  _Atomic int status_atomic; /* the JobMaster's status mirror */
  int status;                /* final status once done */
  int status_sent;           /* last status pushed to the client */
  int done;
  int64_t start_ms, end_ms;
  uint8_t *job_frame;        /* the FLOW_PROTO_JOB payload (graph + blobs) */
  size_t job_frame_len;
  flow_transport_conn_t *client;   /* the submitting client while connected */
  uint32_t client_req;
  flow_job_sampler_t *sampler; /* its subtasks' latest readings (FLOW_PROTO_METRICS) */
  flow_job_view_t *final_view; /* once done: the job as it ended (Flink's ArchivedExecutionGraph) */
  flow_transport_conn_t *savepoint_client; /* a savepoint request in progress */
  uint32_t savepoint_req;
  struct flow_jobmanager_job *next;  /* newest first */
} flow_jobmanager_job_t;

/* The proxy of a remote TaskExecutor: its endpoint encodes messages onto conn. */
typedef struct flow_jobmanager_tm {
  flow_endpoint_t ep;        /* first: JobMasters and the ResourceManager hold &ep */
  flow_transport_conn_t *conn;     /* NULL once lost */
  char name[96];
  char id[24];
  char data_addr[80];        /* "host:port" of its data plane */
  int slots;
  int64_t registered_ms;
  uint64_t last_heard_ns;
  /* its hardware and process, as it last reported them (0 / -1: not yet) */
  int hw_cpu_cores, hw_threads;
  int64_t hw_physical_memory, hw_free_memory, hw_rss_bytes;
  char (*jobs_sent)[33];     /* jobs whose FLOW_PROTO_JOB it got */
  int n_jobs_sent;
  struct flow_jobmanager_tm *next;
} flow_jobmanager_tm_t;

typedef struct flow_jobmanager {
  flow_jobmanager_options_t opt;
  uv_loop_t loop;
  flow_rpc_t rpc;
  flow_resource_manager_t rm;
  flow_transport_server_t *server;
  struct flow_http_server *rest;
  struct flow_http_server *prom; /* the Prometheus reporter, or NULL */
  flow_jobmanager_job_t *jobs;
  flow_jobmanager_tm_t *tms;
  int tm_seq;
  uv_check_t check;
  uv_timer_t heartbeat, stop_timer, progress;
  uv_signal_t sigint, sigterm;
  int stopping, stop_polls;
} flow_jobmanager_t;

/* The job of that id, or NULL (unknown or evicted from the history). */
flow_jobmanager_job_t *flow_jobmanager_find_job(flow_jobmanager_t *jmgr, const char *id);
/* Decodes, compiles and starts a submission; the client (may be NULL) gets
 * the status pushes and the result. 0 and the job id in id_out, or the
 * decoder's error / FLOW_EGRAPH / FLOW_ENOMEM with a message in err. */
int flow_jobmanager_submit(flow_jobmanager_t *jmgr, const flow_gateway_submission_t *sub, flow_transport_conn_t *client,
                           uint32_t req, char *id_out, char *err, size_t errlen);
/* Asks the job to cancel: 0, FLOW_EINVAL (no such job) or FLOW_ESTATE (it
 * has ended); what happened in msg either way. */
int flow_jobmanager_cancel(flow_jobmanager_t *jmgr, const char *id, char *msg, size_t cap);
/* The job's view now (live, or as it ended): a reference, or NULL. */
flow_job_view_t *flow_jobmanager_job_view(flow_jobmanager_t *jmgr, flow_jobmanager_job_t *j);

/* jobmanager_rest.c: serves the REST endpoint on host:port (0: ephemeral,
 * the port in *bound_port). 0 or flow_http_listen's error. */
int flow_jobmanager_rest_start(flow_jobmanager_t *jmgr, const char *host, int port, int *bound_port);
void flow_jobmanager_rest_stop(flow_jobmanager_t *jmgr);
/* The Prometheus reporter (job and cluster metrics) on the first free port
 * of ports, on host: 0 and *bound_port, or an error. */
int flow_jobmanager_prom_start(flow_jobmanager_t *jmgr, const char *host, const char *ports, int *bound_port);

#endif
