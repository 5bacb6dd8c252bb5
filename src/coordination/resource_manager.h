/* ResourceManager (Flink's): knows the TaskExecutors and their free slots
 * and serves the JobMasters' slot requests (resource_manager.c). An
 * endpoint: loop thread only, driven by messages (messages.h). */
#ifndef FLOW_COORDINATION_RESOURCE_MANAGER_H
#define FLOW_COORDINATION_RESOURCE_MANAGER_H

#include <stdint.h>
#include <uv.h>

#include "coordination/rpc.h"

/* A slot request the ResourceManager could not serve yet (cluster mode
 * waits for taskmanagers up to slot_timeout_ms). */
typedef struct flow_slot_request {
  flow_endpoint_t *jm;
  int slots;
  int gen;
  uint64_t deadline_ns;
  struct flow_slot_request *next;
} flow_slot_request_t;

typedef struct flow_resource_manager {
  flow_endpoint_t ep;
  flow_endpoint_t **tes;   /* registered task executors */
  int *te_slots;           /* free slots of each */
  int n_tes, cap_tes;
  int64_t slot_timeout_ms; /* 0: a request that cannot be served fails at once (MiniCluster) */
  flow_slot_request_t *pending; /* FIFO */
  uv_timer_t *timer;       /* heap: expires pending requests; freed by its close callback */
} flow_resource_manager_t;

void flow_resource_manager_init(flow_resource_manager_t *rm, flow_rpc_t *rpc);
void flow_resource_manager_destroy(flow_resource_manager_t *rm);
/* Drops every waiting slot request of jm (loop thread: a JobMaster being freed). */
void flow_rm_forget(flow_resource_manager_t *rm, const flow_endpoint_t *jm);

#endif
