#include "coordination/rpc.h"

#include <stdlib.h>

#include "util/common.h"
#include "runtime/buffer.h"

static void free_msg(flow_msg_t *m) {
  free(m->text);
  flow_buffer_free(m->blob);
  if (m->ptr2 != NULL && m->free_ptr2 != NULL) m->free_ptr2(m->ptr2);
  free(m);
}

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
    free_msg(m);
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
    free_msg(m);
    m = next;
  }
  uv_close((uv_handle_t *)&rpc->async, NULL);
}

void flow_rpc_send(flow_rpc_t *rpc, flow_msg_t *m) {
  m->next = NULL;
  uv_mutex_lock(&rpc->mu);
  if (rpc->closed) {
    uv_mutex_unlock(&rpc->mu);
    free_msg(m);
    return;
  }
  if (rpc->tail != NULL) rpc->tail->next = m;
  else rpc->head = m;
  rpc->tail = m;
  uv_mutex_unlock(&rpc->mu);
  uv_async_send(&rpc->async);
}

flow_msg_t *flow_msg_new(flow_msg_type_t type, flow_endpoint_t *from, flow_endpoint_t *to) {
  flow_msg_t *m = flow_xcalloc(1, sizeof(*m));
  m->type = type;
  m->from = from;
  m->to = to;
  return m;
}
