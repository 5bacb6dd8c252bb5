#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordination/task_executor.h"
#include "util/common.h"

/* Runs on the task thread: posts the state change to our TaskExecutor. */
static void task_report(flow_task_t *t, flow_execution_state_t state, char *err,
                        flow_buffer_t *accumulators) {
  flow_task_executor_t *te = t->owner;
  flow_msg_t *m = flow_msg_new(FLOW_MSG_TASK_STATE, NULL, &te->ep);
  m->ptr = t;
  m->d = (int)state;
  m->text = err;
  m->blob = accumulators;
  flow_rpc_send(te->ep.rpc, m);
}

/* Runs on the task thread: the task's snapshot for checkpoint id is written. */
static void task_ack_checkpoint(flow_task_t *t, int64_t id, char *path) {
  flow_task_executor_t *te = t->owner;
  flow_msg_t *m = flow_msg_new(FLOW_MSG_ACK_CHECKPOINT, NULL, &te->ep);
  m->ptr = t;
  m->d = (int)id;
  m->text = path;
  flow_rpc_send(te->ep.rpc, m);
}

/* Runs on the task thread: a task asks for the whole job to be canceled. */
static void task_cancel_job(flow_task_t *t) {
  flow_task_executor_t *te = t->owner;
  /* the JobMaster outlives this message: it is freed only after this
   * task's terminal report, which is queued behind it */
  flow_msg_t *m = flow_msg_new(FLOW_MSG_CANCEL_JOB, NULL, t->job_endpoint);
  flow_rpc_send(te->ep.rpc, m);
}

static flow_te_task_t *find_task(flow_task_executor_t *te, const void *jm, int vertex, int subtask) {
  for (flow_te_task_t *e = te->tasks; e != NULL; e = e->next)
    if (e->jm == jm && e->task->vertex == vertex && e->task->subtask == subtask) return e;
  return NULL;
}

void flow_task_deployment_free(void *p) {
  flow_task_deployment_t *d = p;
  if (d == NULL) return;
  free(d->restore_dir);
  free(d->checkpoint_dir);
  free(d->blob_dir);
  free(d);
}

static void submit_task(flow_task_executor_t *te, flow_msg_t *m) {
  flow_task_deployment_t *d = m->ptr2;
  if (d == NULL) return;
  const flow_job_graph_t *jg = d->jg;
  const flow_job_vertex_t *jv = &jg->vertices[m->a - 1];
  char name[512];
  snprintf(name, sizeof(name), "%s (%d/%d)", jv->name, m->b + 1, jv->parallelism);
  flow_task_t *t = flow_task_new(jg, d->net, m->a, m->b, m->c, name);
  t->owner = te;
  t->slot = m->d;
  t->report = task_report;
  t->body = te->task_body;
  t->cancel_job = task_cancel_job;
  t->ack_checkpoint = task_ack_checkpoint;
  t->job_endpoint = d->job;
  t->metrics = d->metrics != NULL ? &d->metrics[t->vertex - 1] : NULL;
  t->restore_dir = d->restore_dir;
  t->checkpoint_dir = d->checkpoint_dir;
  t->blob_dir = d->blob_dir;
  d->restore_dir = d->checkpoint_dir = d->blob_dir = NULL;
  t->checkpoint_exactly_once = d->exactly_once;
  t->lazy_splits = d->lazy_splits;
  t->buffer_timeout_ms = d->buffer_timeout_ms;
  flow_te_task_t *e = flow_xcalloc(1, sizeof(*e));
  e->task = t;
  e->jm = d->job;
  e->next = te->tasks;
  te->tasks = e;
  flow_slot_table_add_task(&te->slots, t->slot, d->job);
  if (flow_task_start(t) != 0) {
    /* no thread: report the failure as the thread would have */
    task_report(t, FLOW_EXEC_FAILED, flow_strdup("could not start the task thread"), NULL);
  }
}

/* A message from task e's thread, passed on to its JobMaster (same type and
 * d, the task named by vertex/subtask/attempt in a/b/c); takes m's text and
 * blob. */
static flow_msg_t *forward_to_job_master(flow_task_executor_t *te, flow_te_task_t *e, flow_msg_t *m) {
  flow_msg_t *r = flow_msg_new(m->type, &te->ep, e->jm);
  r->a = e->task->vertex;
  r->b = e->task->subtask;
  r->c = e->task->attempt;
  r->d = m->d;
  r->text = m->text;
  m->text = NULL;
  r->blob = m->blob;
  m->blob = NULL;
  return r;
}

static void task_state(flow_task_executor_t *te, flow_msg_t *m) {
  flow_task_t *t = m->ptr;
  flow_te_task_t **pp = &te->tasks;
  while (*pp != NULL && (*pp)->task != t) pp = &(*pp)->next;
  flow_te_task_t *e = *pp;
  if (e == NULL) return;
  flow_msg_t *r = forward_to_job_master(te, e, m);
  if (flow_execution_state_is_terminal((flow_execution_state_t)m->d)) {
    *pp = e->next;
    flow_slot_table_remove_task(&te->slots, t->slot);
    flow_task_join_and_free(t); /* the thread has reported its last word */
    free(e);
  }
  flow_rpc_send(te->ep.rpc, r);
}

static void set_checkpoint_dir(flow_job_network_t *net, int id, const char *dir) {
  uv_mutex_lock(&net->cp_mu);
  if (net->cp_id != id) {
    net->cp_id = id;
    free(net->cp_dir);
    net->cp_dir = flow_strdup(dir);
  }
  uv_mutex_unlock(&net->cp_mu);
}

static void te_handle(flow_endpoint_t *self, flow_msg_t *m) {
  flow_task_executor_t *te = (flow_task_executor_t *)self;
  switch (m->type) {
  case FLOW_MSG_ALLOCATE_SLOTS: {
    int *idx = flow_xcalloc((size_t)m->a, sizeof(int));
    flow_msg_t *r = flow_msg_new(FLOW_MSG_OFFER_SLOTS, self, m->ptr);
    r->ptr = te;
    r->c = m->c;
    if (flow_slot_table_allocate(&te->slots, m->ptr, m->a, idx) == 0) {
      r->ptr2 = idx; /* the JobMaster takes the array */
      r->free_ptr2 = free;
      r->b = m->a;
    } else {
      free(idx);
      r->type = FLOW_MSG_SLOTS_UNAVAILABLE;
      r->text = flow_strdup("the task executor has not enough free slots");
    }
    flow_rpc_send(self->rpc, r);
    break;
  }
  case FLOW_MSG_SUBMIT_TASK: submit_task(te, m); break;
  case FLOW_MSG_CANCEL_TASK: {
    flow_te_task_t *e = find_task(te, m->ptr, m->a, m->b);
    if (e != NULL && e->task->attempt == m->c) flow_task_cancel(e->task);
    break;
  }
  case FLOW_MSG_TASK_STATE: task_state(te, m); break;
  case FLOW_MSG_TRIGGER_CHECKPOINT: {
    if (m->a == 0) { /* the directory of checkpoint d, for the job's networks here */
      for (flow_te_task_t *e = te->tasks; e != NULL; e = e->next)
        if (e->jm == m->ptr) set_checkpoint_dir(e->task->net, m->d, m->text);
      break;
    }
    flow_te_task_t *e = find_task(te, m->ptr, m->a, m->b);
    if (e == NULL || e->task->attempt != m->c) break;
    set_checkpoint_dir(e->task->net, m->d, m->text);
    atomic_store(&e->task->checkpoint_request, (int64_t)m->d);
    break;
  }
  case FLOW_MSG_ACK_CHECKPOINT: {
    flow_task_t *t = m->ptr;
    flow_te_task_t *e = te->tasks;
    while (e != NULL && e->task != t) e = e->next;
    if (e == NULL) break;
    flow_rpc_send(te->ep.rpc, forward_to_job_master(te, e, m));
    break;
  }
  case FLOW_MSG_NOTIFY_CHECKPOINT:
    for (flow_te_task_t *e = te->tasks; e != NULL; e = e->next)
      if (e->jm == m->ptr) atomic_store(&e->task->checkpoint_complete, (int64_t)m->d);
    break;
  case FLOW_MSG_FREE_SLOTS: {
    int n = m->ptr2 != NULL ? flow_slot_table_free_slots(&te->slots, m->ptr, m->ptr2, m->b)
                            : flow_slot_table_free_owner(&te->slots, m->ptr);
    flow_msg_t *r = flow_msg_new(FLOW_MSG_FREE_SLOTS, self, &te->rm->ep);
    r->ptr = te;
    r->a = n;
    flow_rpc_send(self->rpc, r);
    break;
  }
  default: break;
  }
}

int flow_task_executor_init(flow_task_executor_t *te, flow_rpc_t *rpc, flow_resource_manager_t *rm,
                            int n_slots, flow_task_body_fn body) {
  memset(te, 0, sizeof(*te));
  te->task_body = body;
  te->ep.name = "TaskExecutor";
  te->ep.rpc = rpc;
  te->ep.handle = te_handle;
  te->rm = rm;
  int rc = flow_slot_table_init(&te->slots, n_slots);
  if (rc != 0) return rc;
  flow_msg_t *m = flow_msg_new(FLOW_MSG_REGISTER_TE, &te->ep, &rm->ep);
  m->a = n_slots;
  m->ptr = te;
  flow_rpc_send(rpc, m);
  return 0;
}

/* Loop thread, after every job ended: no task may still run here. */
void flow_task_executor_destroy(flow_task_executor_t *te) {
  while (te->tasks != NULL) { /* only after a broken shutdown: cancel and join */
    flow_te_task_t *e = te->tasks;
    te->tasks = e->next;
    flow_task_cancel(e->task);
    flow_task_join_and_free(e->task);
    free(e);
  }
  flow_slot_table_destroy(&te->slots);
}
