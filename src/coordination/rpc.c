#include "coordination/rpc.h"

#include "coordination/messages.h"
#include "util/common.h"

static void on_async(uv_async_t *h) {
  flow_rpc_t *rpc = h->data;
  for (;;) {
    uv_mutex_lock(&rpc->mu);
    flow_msg_t *m = rpc->head;
    if (m != NULL) {
      rpc->head = m->next;
      if (rpc->head == NULL) rpc->tail = NULL;
    }
    uv_mutex_unlock(&rpc->mu);
    if (m == NULL) return;
    m->next = NULL;
    m->to->handle(m->to, m);
    flow_msg_free(m);
  }
}

int flow_rpc_init(flow_rpc_t *rpc, uv_loop_t *loop) {
  rpc->loop = loop;
  rpc->head = rpc->tail = NULL;
  rpc->closed = 0;
  if (uv_mutex_init(&rpc->mu) != 0) return FLOW_EIO;
  rpc->async.data = rpc;
  if (uv_async_init(loop, &rpc->async, on_async) != 0) {
    uv_mutex_destroy(&rpc->mu);
    return FLOW_EIO;
  }
  return 0;
}

void flow_rpc_close(flow_rpc_t *rpc) {
  uv_mutex_lock(&rpc->mu);
  rpc->closed = 1;
  flow_msg_t *m = rpc->head;
  rpc->head = rpc->tail = NULL;
  uv_mutex_unlock(&rpc->mu);
  while (m != NULL) {
    flow_msg_t *next = m->next;
    flow_msg_free(m);
    m = next;
  }
  uv_close((uv_handle_t *)&rpc->async, NULL);
}

void flow_rpc_send(flow_rpc_t *rpc, flow_msg_t *m) {
  m->next = NULL;
  uv_mutex_lock(&rpc->mu);
  if (rpc->closed) {
    uv_mutex_unlock(&rpc->mu);
    flow_msg_free(m);
    return;
  }
  if (rpc->tail != NULL) rpc->tail->next = m;
  else rpc->head = m;
  rpc->tail = m;
  uv_mutex_unlock(&rpc->mu);
  uv_async_send(&rpc->async);
}
