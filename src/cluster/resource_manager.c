#include <stdio.h>
#include <string.h>

#include "cluster/endpoints.h"
#include "common.h"

/* Knows how many free slots each registered TaskExecutor has and routes a
 * JobMaster's slot request to one that can hold the whole request. */
static void rm_handle(flow_endpoint_t *self, flow_msg_t *m) {
  flow_resource_manager_t *rm = (flow_resource_manager_t *)self;
  switch (m->type) {
  case FLOW_MSG_REGISTER_TE:
    if (rm->n_tes < (int)(sizeof(rm->tes) / sizeof(rm->tes[0]))) {
      rm->tes[rm->n_tes] = m->ptr;
      rm->te_slots[rm->n_tes] = m->a;
      rm->n_tes++;
    }
    break;
  case FLOW_MSG_REQUEST_SLOTS: {
    flow_endpoint_t *jm = m->ptr;
    int total = 0;
    for (int i = 0; i < rm->n_tes; i++) {
      total += rm->te_slots[i];
      if (rm->te_slots[i] >= m->a) {
        rm->te_slots[i] -= m->a;
        flow_msg_t *r = flow_msg_new(FLOW_MSG_ALLOCATE_SLOTS, self, rm->tes[i]);
        r->a = m->a;
        r->ptr = jm;
        flow_rpc_send(self->rpc, r);
        return;
      }
    }
    flow_msg_t *r = flow_msg_new(FLOW_MSG_SLOTS_UNAVAILABLE, self, jm);
    char buf[160];
    snprintf(buf, sizeof(buf),
             "could not acquire the minimum required resources: the job needs %d task slots, "
             "%d are free",
             m->a, total);
    r->text = flow_strdup(buf);
    flow_rpc_send(self->rpc, r);
    break;
  }
  case FLOW_MSG_FREE_SLOTS: /* a TaskExecutor reports slots freed: a = count */
    for (int i = 0; i < rm->n_tes; i++)
      if (rm->tes[i] == m->ptr) rm->te_slots[i] += m->a;
    break;
  default: break;
  }
}

void flow_resource_manager_init(flow_resource_manager_t *rm, flow_rpc_t *rpc) {
  memset(rm, 0, sizeof(*rm));
  rm->ep.name = "ResourceManager";
  rm->ep.rpc = rpc;
  rm->ep.handle = rm_handle;
}
