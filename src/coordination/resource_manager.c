#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordination/messages.h"
#include "coordination/resource_manager.h"
#include "util/common.h"

/* ResourceManager: knows how many free slots each registered TaskExecutor
 * has and serves a JobMaster's slot request as a whole, spread over the
 * TaskExecutors one slot at a time to the one with the most free slots
 * (Flink's cluster.evenly-spread-out-slots). A request that cannot be served
 * fails at once (slot_timeout_ms == 0, the MiniCluster) or waits, FIFO, for
 * taskmanagers to register or free slots until slot_timeout_ms passed
 * (Flink's slot.request.timeout). Loop thread only. */

static int total_free(const flow_resource_manager_t *rm) {
  int total = 0;
  for (int i = 0; i < rm->n_tes; i++) total += rm->te_slots[i];
  return total;
}

static void unavailable(flow_resource_manager_t *rm, flow_endpoint_t *jm, int want, int gen, const char *why) {
  flow_msg_t *r = flow_msg_new(FLOW_MSG_SLOTS_UNAVAILABLE, &rm->ep, jm);
  r->slots_unavailable.generation = gen;
  char buf[256];
  if (why != NULL) {
    snprintf(buf, sizeof(buf), "%s", why);
  } else {
    snprintf(buf, sizeof(buf),
             "could not acquire the minimum required resources: the job needs %d task slots, "
             "%d are free",
             want, total_free(rm));
  }
  r->slots_unavailable.reason = flow_strdup(buf);
  flow_rpc_send(rm->ep.rpc, r);
}

/* Serves the request if the free slots suffice: 1, else 0. */
static int try_allocate(flow_resource_manager_t *rm, flow_endpoint_t *jm, int want, int gen) {
  if (total_free(rm) < want || rm->n_tes == 0) return 0;
  int *take = flow_xcalloc((size_t)rm->n_tes, sizeof(int));
  for (int k = 0; k < want; k++) {
    int best = 0;
    for (int i = 1; i < rm->n_tes; i++)
      if (rm->te_slots[i] > rm->te_slots[best]) best = i;
    rm->te_slots[best]--;
    take[best]++;
  }
  for (int i = 0; i < rm->n_tes; i++) {
    if (take[i] == 0) continue;
    flow_msg_t *r = flow_msg_new(FLOW_MSG_ALLOCATE_SLOTS, &rm->ep, rm->tes[i]);
    r->allocate_slots.job_master = jm;
    r->allocate_slots.n_slots = take[i];
    r->allocate_slots.generation = gen;
    flow_rpc_send(rm->ep.rpc, r);
  }
  free(take);
  return 1;
}

/* Serves waiting requests in order while they fit. */
static void serve_pending(flow_resource_manager_t *rm) {
  while (rm->pending != NULL && try_allocate(rm, rm->pending->jm, rm->pending->slots, rm->pending->gen)) {
    flow_slot_request_t *q = rm->pending;
    rm->pending = q->next;
    free(q);
  }
}

static void on_timer_closed(uv_handle_t *h) { free(h); }

static void expire_pending(uv_timer_t *h) {
  flow_resource_manager_t *rm = h->data;
  uint64_t now = uv_hrtime();
  flow_slot_request_t **pp = &rm->pending;
  while (*pp != NULL) {
    flow_slot_request_t *q = *pp;
    if (q->deadline_ns > now) {
      pp = &q->next;
      continue;
    }
    *pp = q->next;
    char why[256];
    snprintf(why, sizeof(why),
             "could not acquire the minimum required resources within %lld ms: the job needs %d "
             "task slots, %d are free",
             (long long)rm->slot_timeout_ms, q->slots, total_free(rm));
    unavailable(rm, q->jm, q->slots, q->gen, why);
    free(q);
  }
  if (rm->pending == NULL) uv_timer_stop(h);
}

static void add_te(flow_resource_manager_t *rm, flow_endpoint_t *te, int slots) {
  if (rm->n_tes == rm->cap_tes) {
    rm->cap_tes = rm->cap_tes ? rm->cap_tes * 2 : 8;
    rm->tes = flow_xrealloc(rm->tes, (size_t)rm->cap_tes * sizeof(*rm->tes));
    rm->te_slots = flow_xrealloc(rm->te_slots, (size_t)rm->cap_tes * sizeof(int));
  }
  rm->tes[rm->n_tes] = te;
  rm->te_slots[rm->n_tes] = slots;
  rm->n_tes++;
}

static void remove_te(flow_resource_manager_t *rm, flow_endpoint_t *te) {
  for (int i = 0; i < rm->n_tes; i++) {
    if (rm->tes[i] != te) continue;
    rm->n_tes--;
    rm->tes[i] = rm->tes[rm->n_tes];
    rm->te_slots[i] = rm->te_slots[rm->n_tes];
    return;
  }
}

static void rm_handle(flow_endpoint_t *self, flow_msg_t *m) {
  flow_resource_manager_t *rm = (flow_resource_manager_t *)self;
  switch (m->type) {
  case FLOW_MSG_REGISTER_TE:
    add_te(rm, m->register_te.task_executor, m->register_te.n_slots);
    serve_pending(rm);
    break;
  case FLOW_MSG_TE_LOST: remove_te(rm, m->te_lost.task_executor); break;
  case FLOW_MSG_REQUEST_SLOTS: {
    const flow_msg_slot_request_t *p = &m->request_slots;
    flow_endpoint_t *jm = p->job_master;
    flow_rm_forget(rm, jm); /* a new request replaces a waiting one of the same JobMaster */
    if (rm->pending == NULL && try_allocate(rm, jm, p->n_slots, p->generation)) break;
    if (rm->slot_timeout_ms <= 0) {
      unavailable(rm, jm, p->n_slots, p->generation, NULL);
      break;
    }
    flow_slot_request_t *q = flow_xcalloc(1, sizeof(*q));
    q->jm = jm;
    q->slots = p->n_slots;
    q->gen = p->generation;
    q->deadline_ns = uv_hrtime() + (uint64_t)rm->slot_timeout_ms * 1000000u;
    flow_slot_request_t **pp = &rm->pending;
    while (*pp != NULL) pp = &(*pp)->next;
    *pp = q;
    if (rm->timer == NULL) {
      rm->timer = flow_xcalloc(1, sizeof(uv_timer_t));
      uv_timer_init(rm->ep.rpc->loop, rm->timer);
      rm->timer->data = rm;
    }
    uint64_t tick = (uint64_t)rm->slot_timeout_ms < 1000 ? (uint64_t)rm->slot_timeout_ms : 1000;
    if (!uv_is_active((uv_handle_t *)rm->timer)) uv_timer_start(rm->timer, expire_pending, tick, tick);
    break;
  }
  case FLOW_MSG_CANCEL_SLOT_REQUEST: {
    flow_endpoint_t *jm = m->cancel_slot_request.job_master;
    int gen = 0, slots = 0, found = 0;
    for (flow_slot_request_t *q = rm->pending; q != NULL; q = q->next)
      if (q->jm == jm) gen = q->gen, slots = q->slots, found = 1;
    if (found) {
      flow_rm_forget(rm, jm);
      unavailable(rm, jm, slots, gen, "the slot request was withdrawn");
    }
    break;
  }
  case FLOW_MSG_SLOTS_FREED:
    for (int i = 0; i < rm->n_tes; i++)
      if (rm->tes[i] == m->slots_freed.task_executor) rm->te_slots[i] += m->slots_freed.n_slots;
    serve_pending(rm);
    break;
  default: break;
  }
}

void flow_rm_forget(flow_resource_manager_t *rm, const flow_endpoint_t *jm) {
  flow_slot_request_t **pp = &rm->pending;
  while (*pp != NULL) {
    flow_slot_request_t *q = *pp;
    if (q->jm == jm) {
      *pp = q->next;
      free(q);
    } else {
      pp = &q->next;
    }
  }
}

void flow_resource_manager_init(flow_resource_manager_t *rm, flow_rpc_t *rpc) {
  memset(rm, 0, sizeof(*rm));
  rm->ep.name = "ResourceManager";
  rm->ep.rpc = rpc;
  rm->ep.handle = rm_handle;
}

void flow_resource_manager_destroy(flow_resource_manager_t *rm) {
  while (rm->pending != NULL) {
    flow_slot_request_t *q = rm->pending;
    rm->pending = q->next;
    free(q);
  }
  if (rm->timer != NULL) uv_close((uv_handle_t *)rm->timer, on_timer_closed);
  rm->timer = NULL;
  free(rm->tes);
  free(rm->te_slots);
  rm->tes = NULL;
  rm->te_slots = NULL;
  rm->n_tes = rm->cap_tes = 0;
}
