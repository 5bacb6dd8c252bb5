/* Endpoints and their mailboxes: the Dispatcher, ResourceManager, JobMaster
 * and TaskExecutor talk only by messages (Flink: RPC gateways over Pekko;
 * the messages are in messages.h). In the MiniCluster a message is a heap
 * struct posted to a mutex-guarded queue and delivered on the libuv loop
 * thread by a uv_async handle, so every endpoint runs single-threaded on the
 * loop; cluster mode swaps in proxy endpoints that encode what they are sent
 * (src/cluster/protocol.h).
 *
 * Lock order: rpc->mu is a leaf lock. */
#ifndef FLOW_COORDINATION_RPC_H
#define FLOW_COORDINATION_RPC_H

#include <uv.h>

typedef struct flow_msg flow_msg_t;
typedef struct flow_endpoint flow_endpoint_t;

typedef struct flow_rpc {
  uv_loop_t *loop;
  uv_async_t async;
  uv_mutex_t mu;
  flow_msg_t *head, *tail;
  int closed;
} flow_rpc_t;

struct flow_endpoint {
  const char *name;
  flow_rpc_t *rpc;
  /* On the loop thread. The message is freed after it returns
   * (flow_msg_free): the handler takes an owned field by setting it NULL. */
  void (*handle)(flow_endpoint_t *self, flow_msg_t *m);
  const char *id;   /* JobMasters: the job id, so a remote proxy can name the job; else NULL */
  int lost;         /* a remote endpoint whose process is gone (cluster mode); loop thread */
};

/* 0, or FLOW_EIO when the mutex or the async handle cannot be created. */
int flow_rpc_init(flow_rpc_t *rpc, uv_loop_t *loop);
/* Closes the async handle; undelivered messages are dropped, later sends are
 * freed. Loop thread only. Every thread that may still send must be joined
 * before the loop is closed (the MiniCluster joins all task threads first);
 * the owner destroys rpc->mu after uv_run has returned. */
void flow_rpc_close(flow_rpc_t *rpc);
/* Any thread. Takes ownership of m (m->to must be set). */
void flow_rpc_send(flow_rpc_t *rpc, flow_msg_t *m);

#endif
