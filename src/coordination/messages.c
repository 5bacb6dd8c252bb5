#include "coordination/messages.h"

#include <stdlib.h>
#include <string.h>

#include "util/common.h"

void flow_task_deployment_free(flow_task_deployment_t *d) {
  if (d == NULL) return;
  free(d->restore_dir);
  free(d->checkpoint_dir);
  free(d->blob_dir);
  free(d);
}

flow_msg_t *flow_msg_new(flow_msg_type_t type, flow_endpoint_t *from, flow_endpoint_t *to) {
  flow_msg_t *m = flow_xcalloc(1, sizeof(*m));
  m->type = type;
  m->from = from;
  m->to = to;
  return m;
}

void flow_msg_clear(flow_msg_t *m) {
  switch (m->type) {
  case FLOW_MSG_OFFER_SLOTS: free(m->offer_slots.slots); break;
  case FLOW_MSG_SLOTS_UNAVAILABLE: free(m->slots_unavailable.reason); break;
  case FLOW_MSG_SUBMIT_TASK: flow_task_deployment_free(m->submit_task.deployment); break;
  case FLOW_MSG_TASK_STATE:
    free(m->task_state.error);
    flow_buffer_free(m->task_state.accumulators);
    break;
  case FLOW_MSG_FREE_SLOTS: free(m->free_slots.slots); break;
  case FLOW_MSG_TRIGGER_CHECKPOINT: free(m->trigger_checkpoint.dir); break;
  case FLOW_MSG_ACK_CHECKPOINT: free(m->ack_checkpoint.state_file); break;
  case FLOW_MSG_TRIGGER_SAVEPOINT: free(m->trigger_savepoint.dir); break;
  case FLOW_MSG_SAVEPOINT_DONE: free(m->savepoint_done.result); break;
  case FLOW_MSG_TE_LOST: free(m->te_lost.why); break;
  default: break; /* nothing owned */
  }
  flow_msg_type_t type = m->type;
  flow_msg_t *next = m->next;
  flow_endpoint_t *to = m->to, *from = m->from;
  memset(m, 0, sizeof(*m));
  m->type = type, m->next = next, m->to = to, m->from = from;
}

void flow_msg_free(flow_msg_t *m) {
  if (m == NULL) return;
  flow_msg_clear(m);
  free(m);
}

flow_msg_t *flow_msg_move(flow_msg_t *src, flow_endpoint_t *from, flow_endpoint_t *to) {
  flow_msg_t *m = flow_xmalloc(sizeof(*m));
  *m = *src;
  m->next = NULL;
  m->from = from;
  m->to = to;
  flow_msg_type_t type = src->type;
  memset(src, 0, sizeof(*src));
  src->type = type;
  return m;
}

flow_endpoint_t *flow_msg_job_master(const flow_msg_t *m) {
  switch (m->type) {
  case FLOW_MSG_ALLOCATE_SLOTS: return m->allocate_slots.job_master;
  case FLOW_MSG_SUBMIT_TASK: return m->submit_task.job_master;
  case FLOW_MSG_CANCEL_TASK: return m->cancel_task.job_master;
  case FLOW_MSG_TRIGGER_CHECKPOINT: return m->trigger_checkpoint.job_master;
  case FLOW_MSG_NOTIFY_CHECKPOINT: return m->notify_checkpoint.job_master;
  case FLOW_MSG_FREE_SLOTS: return m->free_slots.job_master;
  default: return NULL;
  }
}

void flow_msg_set_job_master(flow_msg_t *m, flow_endpoint_t *job_master) {
  switch (m->type) {
  case FLOW_MSG_ALLOCATE_SLOTS: m->allocate_slots.job_master = job_master; break;
  case FLOW_MSG_SUBMIT_TASK: m->submit_task.job_master = job_master; break;
  case FLOW_MSG_CANCEL_TASK: m->cancel_task.job_master = job_master; break;
  case FLOW_MSG_TRIGGER_CHECKPOINT: m->trigger_checkpoint.job_master = job_master; break;
  case FLOW_MSG_NOTIFY_CHECKPOINT: m->notify_checkpoint.job_master = job_master; break;
  case FLOW_MSG_FREE_SLOTS: m->free_slots.job_master = job_master; break;
  default: break;
  }
}
