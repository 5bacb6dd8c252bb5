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
  m->task_state.reporter = t;
  m->task_state.state = state;
  m->task_state.error = err;
  m->task_state.accumulators = accumulators;
  flow_rpc_send(te->ep.rpc, m);
}

/* Runs on the task thread: the task's snapshot for checkpoint id is written
 * (path NULL: it declined). */
static void task_ack_checkpoint(flow_task_t *t, int64_t id, char *path) {
  flow_task_executor_t *te = t->owner;
  flow_msg_t *m = flow_msg_new(FLOW_MSG_ACK_CHECKPOINT, NULL, &te->ep);
  m->ack_checkpoint.reporter = t;
  m->ack_checkpoint.checkpoint_id = id;
  m->ack_checkpoint.state_file = path;
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

static flow_task_id_t task_id(const flow_task_t *t) {
  return (flow_task_id_t){.vertex = t->vertex, .subtask = t->subtask, .attempt = t->attempt};
}

/* The running task (vertex, subtask) of job_master, any attempt. */
static flow_te_task_t *find_task(flow_task_executor_t *te, const flow_endpoint_t *job_master, int vertex,
                                 int subtask) {
  for (flow_te_task_t *e = te->tasks; e != NULL; e = e->next)
    if (e->jm == job_master && e->task->vertex == vertex && e->task->subtask == subtask) return e;
  return NULL;
}

static void submit_task(flow_task_executor_t *te, flow_msg_submit_task_t *p) {
  flow_task_deployment_t *d = p->deployment;
  if (d == NULL) return;
  const flow_job_graph_t *jg = d->jg;
  const flow_job_vertex_t *jv = &jg->vertices[p->task.vertex - 1];
  char name[512];
  snprintf(name, sizeof(name), "%s (%d/%d)", jv->name, p->task.subtask + 1, jv->parallelism);
  flow_task_t *t = flow_task_new(jg, d->net, p->task.vertex, p->task.subtask, p->task.attempt, name);
  t->owner = te;
  t->slot = p->slot;
  t->report = task_report;
  t->body = te->task_body;
  t->cancel_job = task_cancel_job;
  t->ack_checkpoint = task_ack_checkpoint;
  t->job_endpoint = d->job;
  flow_task_metrics_t *io = flow_job_metrics_subtask(d->metrics, t->vertex, t->subtask);
  if (io != NULL) { /* the job's owner keeps this attempt's counters */
    flow_task_metrics_reset(io, t->attempt);
    t->io = io;
  }
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

/* A task's state change (from its thread), passed on to its JobMaster with
 * the task named by its id; takes the error and the accumulators. */
static void task_state(flow_task_executor_t *te, flow_msg_task_state_t *p) {
  flow_task_t *t = p->reporter;
  flow_te_task_t **pp = &te->tasks;
  while (*pp != NULL && (*pp)->task != t) pp = &(*pp)->next;
  flow_te_task_t *e = *pp;
  if (e == NULL) return;
  flow_msg_t *r = flow_msg_new(FLOW_MSG_TASK_STATE, &te->ep, e->jm);
  r->task_state.task = task_id(t);
  r->task_state.state = p->state;
  r->task_state.error = p->error;
  r->task_state.accumulators = p->accumulators;
  p->error = NULL;
  p->accumulators = NULL;
  if (flow_execution_state_is_terminal(p->state)) {
    *pp = e->next;
    flow_slot_table_remove_task(&te->slots, t->slot);
    flow_task_join_and_free(t); /* the thread has reported its last word */
    free(e);
  }
  flow_rpc_send(te->ep.rpc, r);
}

/* A task's checkpoint acknowledgement (from its thread), passed on to its
 * JobMaster likewise; takes the state file. */
static void ack_checkpoint(flow_task_executor_t *te, flow_msg_ack_checkpoint_t *p) {
  flow_te_task_t *e = te->tasks;
  while (e != NULL && e->task != p->reporter) e = e->next;
  if (e == NULL) return;
  flow_msg_t *r = flow_msg_new(FLOW_MSG_ACK_CHECKPOINT, &te->ep, e->jm);
  r->ack_checkpoint.task = task_id(e->task);
  r->ack_checkpoint.checkpoint_id = p->checkpoint_id;
  r->ack_checkpoint.state_file = p->state_file;
  p->state_file = NULL;
  flow_rpc_send(te->ep.rpc, r);
}

static void set_checkpoint_dir(flow_job_network_t *net, int64_t id, const char *dir) {
  uv_mutex_lock(&net->checkpoint_mu);
  if (net->checkpoint_id != id) {
    net->checkpoint_id = id;
    free(net->checkpoint_dir);
    net->checkpoint_dir = flow_strdup(dir);
  }
  uv_mutex_unlock(&net->checkpoint_mu);
}

static void trigger_checkpoint(flow_task_executor_t *te, const flow_msg_trigger_checkpoint_t *p) {
  if (p->task.vertex == 0) { /* no task: the checkpoint's directory, for the job's networks here */
    for (flow_te_task_t *e = te->tasks; e != NULL; e = e->next)
      if (e->jm == p->job_master) set_checkpoint_dir(e->task->net, p->checkpoint_id, p->dir);
    return;
  }
  flow_te_task_t *e = find_task(te, p->job_master, p->task.vertex, p->task.subtask);
  if (e == NULL || e->task->attempt != p->task.attempt) return;
  set_checkpoint_dir(e->task->net, p->checkpoint_id, p->dir);
  atomic_store(&e->task->checkpoint_request, p->checkpoint_id);
}

static void allocate_slots(flow_task_executor_t *te, const flow_msg_slot_request_t *p) {
  int *idx = flow_xcalloc((size_t)p->n_slots, sizeof(int));
  flow_msg_t *r;
  if (flow_slot_table_allocate(&te->slots, p->job_master, p->n_slots, idx) == 0) {
    r = flow_msg_new(FLOW_MSG_OFFER_SLOTS, &te->ep, p->job_master);
    r->offer_slots.task_executor = &te->ep;
    r->offer_slots.generation = p->generation;
    r->offer_slots.n_slots = p->n_slots;
    r->offer_slots.slots = idx; /* the JobMaster takes the array */
  } else {
    free(idx);
    r = flow_msg_new(FLOW_MSG_SLOTS_UNAVAILABLE, &te->ep, p->job_master);
    r->slots_unavailable.generation = p->generation;
    r->slots_unavailable.reason = flow_strdup("the task executor has not enough free slots");
  }
  flow_rpc_send(te->ep.rpc, r);
}

static void free_slots(flow_task_executor_t *te, const flow_msg_free_slots_t *p) {
  int n = p->slots != NULL ? flow_slot_table_free_slots(&te->slots, p->job_master, p->slots, p->n_slots)
                           : flow_slot_table_free_owner(&te->slots, p->job_master);
  flow_msg_t *r = flow_msg_new(FLOW_MSG_SLOTS_FREED, &te->ep, &te->rm->ep);
  r->slots_freed.task_executor = &te->ep;
  r->slots_freed.n_slots = n;
  flow_rpc_send(te->ep.rpc, r);
}

static void te_handle(flow_endpoint_t *self, flow_msg_t *m) {
  flow_task_executor_t *te = (flow_task_executor_t *)self;
  switch (m->type) {
  case FLOW_MSG_ALLOCATE_SLOTS: allocate_slots(te, &m->allocate_slots); break;
  case FLOW_MSG_SUBMIT_TASK: submit_task(te, &m->submit_task); break;
  case FLOW_MSG_CANCEL_TASK: {
    const flow_msg_cancel_task_t *p = &m->cancel_task;
    flow_te_task_t *e = find_task(te, p->job_master, p->task.vertex, p->task.subtask);
    if (e != NULL && e->task->attempt == p->task.attempt) flow_task_cancel(e->task);
    break;
  }
  case FLOW_MSG_TASK_STATE: task_state(te, &m->task_state); break;
  case FLOW_MSG_TRIGGER_CHECKPOINT: trigger_checkpoint(te, &m->trigger_checkpoint); break;
  case FLOW_MSG_ACK_CHECKPOINT: ack_checkpoint(te, &m->ack_checkpoint); break;
  case FLOW_MSG_NOTIFY_CHECKPOINT:
    for (flow_te_task_t *e = te->tasks; e != NULL; e = e->next)
      if (e->jm == m->notify_checkpoint.job_master)
        atomic_store(&e->task->checkpoint_complete, m->notify_checkpoint.checkpoint_id);
    break;
  case FLOW_MSG_FREE_SLOTS: free_slots(te, &m->free_slots); break;
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
  m->register_te.task_executor = &te->ep;
  m->register_te.n_slots = n_slots;
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
