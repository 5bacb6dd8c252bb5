#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordination/dispatcher.h"
#include "coordination/job_master.h"
#include "coordination/messages.h"
#include "util/common.h"

/* JobMaster: owns the ExecutionGraph of one job, asks the ResourceManager for
 * slots, deploys every subtask, follows the task state reports and derives
 * the JobStatus (Flink's JobMaster + scheduler, with a full-restart failover):
 *
 *   CREATED -> RUNNING -> FINISHED
 *   RUNNING -> FAILING (a task failed: cancel the others) -> RESTARTING
 *           (the restart strategy allows it: wait the backoff, deploy new
 *           attempts into the same slots) -> RUNNING ...
 *   FAILING -> FAILED (the strategy refuses: the root cause is the result)
 *   RUNNING -> CANCELLING (cancel()) -> CANCELED
 *
 * Every transition waits until all executions of the current attempt are
 * terminal, so no two attempts of a subtask ever run at once. */

static void jm_handle(flow_endpoint_t *self, flow_msg_t *m);

static void set_status(flow_job_master_t *jm, flow_job_status_t s) {
  jm->status = s;
  if (jm->status_out != NULL) *jm->status_out = (int)s;
}

static void free_list(flow_buffer_t *b) {
  while (b != NULL) {
    flow_buffer_t *next = b->next;
    flow_buffer_free(b);
    b = next;
  }
}

static void on_timer_closed(uv_handle_t *h) { free(h); }

void flow_new_job_id(char out[33]) {
  static const char hex[] = "0123456789abcdef";
  static _Atomic uint64_t counter;
  uint64_t seed = uv_hrtime() ^ ((uint64_t)(uintptr_t)out << 16) ^ (atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15ull);
  if (seed == 0) seed = 1;
  for (int i = 0; i < 32; i++) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    out[i] = hex[seed & 15];
  }
  out[32] = '\0';
}

flow_job_master_t *flow_job_master_new(flow_dispatcher_t *d, const flow_job_graph_t *jg) {
  flow_job_master_t *jm = flow_xcalloc(1, sizeof(*jm));
  jm->ep.name = "JobMaster";
  jm->ep.rpc = d->ep.rpc;
  jm->ep.handle = jm_handle;
  jm->ep.id = jm->job_id;
  jm->dispatcher = d;
  jm->rm = d->rm;
  jm->jg = jg;
  jm->status_out = d->status_out;
  set_status(jm, FLOW_JOB_INITIALIZING);
  jm->restart = d->restart;
  jm->metrics = d->metrics;
  jm->remote_executors = d->remote_executors;
  jm->start_ns = uv_hrtime();
  if (d->job_id[0] != '\0') memcpy(jm->job_id, d->job_id, sizeof(jm->job_id));
  else flow_new_job_id(jm->job_id);
  flow_cc_init(jm, &d->checkpoint);
  return jm;
}

static void retired_handle(flow_endpoint_t *self, flow_msg_t *m) { (void)self, (void)m; }

void flow_job_master_retire(flow_job_master_t *jm) {
  jm->ep.handle = retired_handle;
  flow_rm_forget(jm->rm, &jm->ep);
}

void flow_job_master_free(flow_job_master_t *jm) {
  if (jm == NULL) return;
  flow_rm_forget(jm->rm, &jm->ep); /* no waiting request may name a freed JobMaster */
  flow_cc_free(jm); /* first: it reads the execution graph */
  flow_eg_free(jm->eg);
  flow_network_free(jm->net);
  free(jm->slots);
  free(jm->slot_te);
  free(jm->exec_te);
  free(jm->slot_base);
  free(jm->failure);
  free_list(jm->accumulators);
  if (jm->restart_timer != NULL) uv_close((uv_handle_t *)jm->restart_timer, on_timer_closed);
  free(jm);
}

/* Sends FREE_SLOTS to every TaskExecutor holding slots of ours (once each). */
static void free_all_slots(flow_job_master_t *jm) {
  for (int i = 0; i < jm->n_offered; i++) {
    flow_endpoint_t *te = jm->slot_te[i];
    int seen = 0;
    for (int k = 0; k < i && !seen; k++) seen = jm->slot_te[k] == te;
    if (seen || te->lost) continue;
    flow_msg_t *m = flow_msg_new(FLOW_MSG_FREE_SLOTS, &jm->ep, te);
    m->free_slots.job_master = &jm->ep; /* every slot of ours */
    flow_rpc_send(jm->ep.rpc, m);
  }
  jm->n_offered = 0;
}

static void finish_job(flow_job_master_t *jm, flow_job_status_t final) {
  set_status(jm, final);
  if (jm->eg != NULL) flow_cc_abort(jm, "the job ended");
  flow_cc_stop(jm);
  free_all_slots(jm);
  flow_msg_t *m = flow_msg_new(FLOW_MSG_JOB_RESULT, &jm->ep, &jm->dispatcher->ep);
  m->job_result.job_master = jm;
  flow_rpc_send(jm->ep.rpc, m);
}

static void fail_before_deploy(flow_job_master_t *jm, const char *why) {
  free(jm->failure);
  jm->failure = flow_strdup(why);
  finish_job(jm, FLOW_JOB_FAILED);
}

/* Slot sharing: each sharing group gets as many shared slots as its largest
 * vertex parallelism; subtask i of a vertex goes to its group's slot i. */
static int plan_slots(flow_job_master_t *jm) {
  const flow_job_graph_t *jg = jm->jg;
  jm->slot_base = flow_xcalloc((size_t)jg->n_vertices, sizeof(int));
  int total = 0;
  for (int v = 0; v < jg->n_vertices; v++) {
    int first = -1;
    for (int u = 0; u < v && first < 0; u++)
      if (strcmp(jg->vertices[u].slot_sharing_group, jg->vertices[v].slot_sharing_group) == 0)
        first = u;
    if (first >= 0) {
      jm->slot_base[v] = jm->slot_base[first];
      continue;
    }
    int width = 0;
    for (int u = v; u < jg->n_vertices; u++)
      if (strcmp(jg->vertices[u].slot_sharing_group, jg->vertices[v].slot_sharing_group) == 0 &&
          jg->vertices[u].parallelism > width)
        width = jg->vertices[u].parallelism;
    jm->slot_base[v] = total;
    total += width;
  }
  return total;
}

static void request_slots(flow_job_master_t *jm) {
  jm->n_offered = 0;
  jm->awaiting_slots = 1;
  jm->slot_gen++;
  flow_msg_t *m = flow_msg_new(FLOW_MSG_REQUEST_SLOTS, &jm->ep, &jm->rm->ep);
  m->request_slots.job_master = &jm->ep;
  m->request_slots.n_slots = jm->n_slots;
  m->request_slots.generation = jm->slot_gen;
  flow_rpc_send(jm->ep.rpc, m);
}

void flow_job_master_start(flow_job_master_t *jm) {
  jm->eg = flow_eg_build(jm->jg);
  if (jm->eg == NULL) {
    fail_before_deploy(jm, "could not build the execution graph");
    return;
  }
  set_status(jm, FLOW_JOB_CREATED);
  jm->n_slots = plan_slots(jm);
  jm->slot_te = flow_xcalloc((size_t)(jm->n_slots > 0 ? jm->n_slots : 1), sizeof(*jm->slot_te));
  jm->slots = flow_xcalloc((size_t)(jm->n_slots > 0 ? jm->n_slots : 1), sizeof(int));
  jm->exec_te = flow_xcalloc((size_t)(jm->eg->n_subtasks_total > 0 ? jm->eg->n_subtasks_total : 1),
                             sizeof(*jm->exec_te));
  request_slots(jm);
}

flow_endpoint_t *flow_job_master_task_te(flow_job_master_t *jm, int ejv_index, int subtask) {
  int idx = 0;
  for (int v = 0; v < ejv_index; v++) idx += jm->eg->ejv[v].parallelism;
  return jm->exec_te[idx + subtask];
}

static int any_slot_lost(flow_job_master_t *jm) {
  for (int i = 0; i < jm->n_offered; i++)
    if (jm->slot_te[i]->lost) return 1;
  return 0;
}

static void deploy(flow_job_master_t *jm) {
  const flow_job_graph_t *jg = jm->jg;
  flow_network_free(jm->net); /* the previous attempt's: every task of it is terminal */
  jm->net = jm->remote_executors ? NULL : flow_network_new(jg);
  jm->n_terminal = jm->n_failed = jm->n_canceled = 0;
  set_status(jm, FLOW_JOB_RUNNING);
  int idx = 0;
  for (int v = 0; v < jm->eg->n_ejv; v++) {
    flow_execution_job_vertex_t *ejv = &jm->eg->ejv[v];
    for (int s = 0; s < ejv->parallelism; s++, idx++) jm->exec_te[idx] = jm->slot_te[jm->slot_base[v] + s];
  }
  const char *restore = flow_cc_restore_dir(jm);
  for (int v = 0; v < jm->eg->n_ejv; v++) {
    flow_execution_job_vertex_t *ejv = &jm->eg->ejv[v];
    for (int s = 0; s < ejv->parallelism; s++) {
      flow_execution_vertex_t *ev = &ejv->subtasks[s];
      ev->current.slot = jm->slots[jm->slot_base[v] + s];
      flow_execution_transition(&ev->current, FLOW_EXEC_SCHEDULED);
      flow_execution_transition(&ev->current, FLOW_EXEC_DEPLOYING);
      flow_task_deployment_t *d = flow_xcalloc(1, sizeof(*d));
      d->job = &jm->ep;
      d->jg = jg;
      d->net = jm->net;
      d->metrics = jm->metrics;
      d->buffer_timeout_ms = jm->buffer_timeout_ms;
      d->exactly_once = jm->cc.cfg.exactly_once;
      d->restore_dir = flow_strdup(restore);
      /* splits on request need one shared assigner and no checkpointed
       * positions: the MiniCluster, without checkpoints or a restore */
      d->lazy_splits = !jm->remote_executors && jm->cc.cfg.interval_ms == 0 && restore == NULL;
      d->checkpoint_dir = flow_strdup(jm->cc.cfg.dir);
      d->locations = jm->exec_te;
      flow_msg_t *m = flow_msg_new(FLOW_MSG_SUBMIT_TASK, &jm->ep, jm->slot_te[jm->slot_base[v] + s]);
      m->submit_task.job_master = &jm->ep;
      m->submit_task.task = (flow_task_id_t){ejv->job_vertex, s, ev->current.attempt};
      m->submit_task.slot = ev->current.slot;
      m->submit_task.deployment = d;
      flow_rpc_send(jm->ep.rpc, m);
    }
  }
  flow_cc_on_deployed(jm);
}

static void cancel_all(flow_job_master_t *jm) {
  for (int v = 0; v < jm->eg->n_ejv; v++) {
    flow_execution_job_vertex_t *ejv = &jm->eg->ejv[v];
    for (int s = 0; s < ejv->parallelism; s++) {
      flow_execution_t *ex = &ejv->subtasks[s].current;
      if (flow_execution_state_is_terminal(ex->state)) continue;
      flow_execution_transition(ex, FLOW_EXEC_CANCELING);
      flow_msg_t *m = flow_msg_new(FLOW_MSG_CANCEL_TASK, &jm->ep, flow_job_master_task_te(jm, v, s));
      m->cancel_task.job_master = &jm->ep;
      m->cancel_task.task = (flow_task_id_t){ejv->job_vertex, s, ex->attempt};
      flow_rpc_send(jm->ep.rpc, m);
    }
  }
}

static void restart_now(uv_timer_t *h) {
  flow_job_master_t *jm = h->data;
  if (jm->status != FLOW_JOB_RESTARTING) return;
  jm->restarts++;
  free_list(jm->accumulators); /* a new attempt counts from zero */
  jm->accumulators = NULL;
  for (int v = 0; v < jm->eg->n_ejv; v++) {
    flow_execution_job_vertex_t *ejv = &jm->eg->ejv[v];
    for (int s = 0; s < ejv->parallelism; s++) flow_execution_reset_for_new_attempt(&ejv->subtasks[s].current);
  }
  if (any_slot_lost(jm)) { /* a taskmanager is gone: new slots, wherever they are */
    free_all_slots(jm);
    request_slots(jm);
    return;
  }
  deploy(jm);
}

/* Every execution of the current attempt is terminal: finish, fail, or restart. */
static void attempt_ended(flow_job_master_t *jm) {
  if (jm->status == FLOW_JOB_CANCELLING) {
    finish_job(jm, jm->stopping ? FLOW_JOB_FINISHED : FLOW_JOB_CANCELED);
  } else if (jm->status == FLOW_JOB_FAILING) {
    int64_t now = (int64_t)(uv_hrtime() / 1000000u);
    if (!flow_restart_can_restart(&jm->restart, now)) {
      if (jm->restart.kind != FLOW_RESTART_NONE) {
        const char *cause = jm->failure ? jm->failure : "unknown";
        size_t n = strlen(cause) + 200;
        char *msg = flow_xmalloc(n);
        snprintf(msg, n, "recovery is suppressed by the %s restart strategy after %d restart%s: %s",
                 flow_restart_kind_name(jm->restart.kind), jm->restarts, jm->restarts == 1 ? "" : "s",
                 cause);
        free(jm->failure);
        jm->failure = msg;
      }
      finish_job(jm, FLOW_JOB_FAILED);
      return;
    }
    set_status(jm, FLOW_JOB_RESTARTING);
    if (jm->restart_timer == NULL) {
      jm->restart_timer = flow_xcalloc(1, sizeof(uv_timer_t));
      uv_timer_init(jm->ep.rpc->loop, jm->restart_timer);
      jm->restart_timer->data = jm;
    }
    uv_timer_start(jm->restart_timer, restart_now, (uint64_t)flow_restart_backoff_ms(&jm->restart), 0);
  } else if (jm->n_failed > 0) {
    finish_job(jm, FLOW_JOB_FAILED);
  } else if (jm->n_canceled > 0) {
    finish_job(jm, FLOW_JOB_CANCELED);
  } else {
    finish_job(jm, FLOW_JOB_FINISHED);
  }
}

/* A task's state change, reported by the TaskExecutor `from` (NULL: on its
 * behalf); takes p's error and accumulators when it uses them. */
static void task_state(flow_job_master_t *jm, flow_endpoint_t *from, flow_msg_task_state_t *p) {
  const flow_task_id_t *id = &p->task;
  flow_execution_vertex_t *ev = flow_eg_vertex(jm->eg, id->vertex, id->subtask);
  if (ev == NULL || ev->current.attempt != id->attempt) return; /* a stale attempt */
  flow_execution_state_t to = p->state;
  flow_execution_state_t prev = ev->current.state;
  if (flow_execution_state_is_terminal(prev)) return;
  if (prev == FLOW_EXEC_CANCELING && !flow_execution_state_is_terminal(to)) return;
  if (flow_execution_transition(&ev->current, to) != 0) {
    if (!flow_execution_state_is_terminal(to)) return;
    flow_execution_set_state(&ev->current, to); /* CANCELING -> FINISHED/FAILED: what the task says wins */
  }
  if (!flow_execution_state_is_terminal(to)) return;
  jm->n_terminal++;
  flow_endpoint_t *runs_on = flow_job_master_task_te(jm, id->vertex - 1, id->subtask);
  if (to == FLOW_EXEC_FAILED && from != NULL && runs_on != NULL && from != runs_on && !runs_on->lost) {
    /* reported failed by another taskmanager (its data connection to the one
     * running it broke): that attempt must not go on unseen */
    flow_msg_t *c = flow_msg_new(FLOW_MSG_CANCEL_TASK, &jm->ep, runs_on);
    c->cancel_task.job_master = &jm->ep;
    c->cancel_task.task = *id;
    flow_rpc_send(jm->ep.rpc, c);
  }
  if (to == FLOW_EXEC_FAILED) {
    jm->n_failed++;
    if (jm->status == FLOW_JOB_RUNNING) { /* the first failure of this attempt is the root cause */
      free(jm->failure);
      jm->failure = p->error;
      p->error = NULL;
      flow_restart_notify_failure(&jm->restart, (int64_t)(uv_hrtime() / 1000000u));
      flow_cc_abort(jm, "a task failed");
      set_status(jm, FLOW_JOB_FAILING);
      cancel_all(jm);
    }
  } else if (to == FLOW_EXEC_CANCELED) {
    jm->n_canceled++;
  } else if (to == FLOW_EXEC_FINISHED) {
    if (p->accumulators != NULL) {
      p->accumulators->next = jm->accumulators;
      jm->accumulators = p->accumulators;
      p->accumulators = NULL;
    }
    flow_cc_on_task_finished(jm, id->vertex, id->subtask);
  }
  if (jm->n_terminal == jm->eg->n_subtasks_total) attempt_ended(jm);
}

/* Offers came, but one of them from a TaskExecutor lost meanwhile. */
static void request_slots_again(flow_job_master_t *jm) {
  free_all_slots(jm);
  request_slots(jm);
}

/* A TaskExecutor's process is gone (cluster mode): every execution of the
 * current attempt there failed with that cause (Flink: the heartbeat
 * timeout's TaskManager-lost failure), which starts the failover. */
static void te_lost(flow_job_master_t *jm, flow_endpoint_t *te, const char *why) {
  if (jm->eg == NULL) return;
  if (jm->awaiting_slots) {
    /* its offer may never come: a canceled job ends now; otherwise ask again
     * (the new request replaces a waiting one; late offers go back) */
    free_all_slots(jm);
    if (jm->cancel_requested) {
      jm->awaiting_slots = 0;
      flow_rm_forget(jm->rm, &jm->ep); /* a withdrawn request must not answer later */
      finish_job(jm, FLOW_JOB_CANCELED);
    } else {
      request_slots(jm);
    }
    return;
  }
  int idx = 0;
  for (int v = 0; v < jm->eg->n_ejv; v++) {
    flow_execution_job_vertex_t *ejv = &jm->eg->ejv[v];
    for (int s = 0; s < ejv->parallelism; s++, idx++) {
      flow_execution_t *ex = &ejv->subtasks[s].current;
      if (jm->exec_te[idx] != te || flow_execution_state_is_terminal(ex->state) ||
          ex->state == FLOW_EXEC_CREATED)
        continue;
      flow_msg_task_state_t f = {.task = {ejv->job_vertex, s, ex->attempt}, .state = FLOW_EXEC_FAILED};
      size_t n = strlen(ejv->subtasks[s].name) + strlen(why ? why : "") + 96;
      f.error = flow_xmalloc(n);
      snprintf(f.error, n, "%s (attempt %d): the TaskManager running it is lost: %s", ejv->subtasks[s].name,
               ex->attempt, why ? why : "unknown");
      task_state(jm, NULL, &f);
      free(f.error);
    }
  }
}

/* Offered slots: kept while a request of this generation waits for them,
 * else given back. */
static void offer_slots(flow_job_master_t *jm, flow_msg_offer_slots_t *p) {
  if (p->generation != jm->slot_gen || !jm->awaiting_slots) { /* a stale offer: give the slots back */
    if (p->task_executor->lost) return;
    flow_msg_t *f = flow_msg_new(FLOW_MSG_FREE_SLOTS, &jm->ep, p->task_executor);
    f->free_slots.job_master = &jm->ep;
    f->free_slots.n_slots = p->n_slots;
    f->free_slots.slots = p->slots; /* taken */
    p->slots = NULL;
    flow_rpc_send(jm->ep.rpc, f);
    return;
  }
  for (int i = 0; i < p->n_slots && jm->n_offered < jm->n_slots; i++) {
    jm->slot_te[jm->n_offered] = p->task_executor;
    jm->slots[jm->n_offered] = p->slots[i];
    jm->n_offered++;
  }
  if (jm->n_offered < jm->n_slots || !jm->awaiting_slots) return;
  jm->awaiting_slots = 0;
  if (jm->cancel_requested) finish_job(jm, FLOW_JOB_CANCELED);
  else if (any_slot_lost(jm)) request_slots_again(jm);
  else deploy(jm);
}

static void jm_handle(flow_endpoint_t *self, flow_msg_t *m) {
  flow_job_master_t *jm = (flow_job_master_t *)self;
  switch (m->type) {
  case FLOW_MSG_OFFER_SLOTS: offer_slots(jm, &m->offer_slots); break;
  case FLOW_MSG_SLOTS_UNAVAILABLE: {
    const flow_msg_slots_unavailable_t *p = &m->slots_unavailable;
    if (!jm->awaiting_slots || p->generation != jm->slot_gen) break; /* a stale answer */
    jm->awaiting_slots = 0;
    if (jm->cancel_requested) finish_job(jm, FLOW_JOB_CANCELED);
    else fail_before_deploy(jm, p->reason ? p->reason : "no slots");
    break;
  }
  case FLOW_MSG_TE_LOST: te_lost(jm, m->te_lost.task_executor, m->te_lost.why); break;
  case FLOW_MSG_TASK_STATE: task_state(jm, m->from, &m->task_state); break;
  case FLOW_MSG_ACK_CHECKPOINT: flow_cc_on_ack(jm, &m->ack_checkpoint); break;
  case FLOW_MSG_TRIGGER_SAVEPOINT:
    if (flow_cc_trigger_savepoint(jm, m->trigger_savepoint.dir, m->trigger_savepoint.stop) != 0) {
      free(jm->cc.savepoint_result);
      jm->cc.savepoint_result = flow_strdup("error: the job is not running, or a checkpoint is in progress");
      flow_cc_report_savepoint(jm);
    }
    break;
  case FLOW_MSG_CANCEL_JOB:
    if (jm->status == FLOW_JOB_RUNNING || jm->status == FLOW_JOB_FAILING) {
      set_status(jm, FLOW_JOB_CANCELLING);
      cancel_all(jm);
      if (jm->n_terminal == jm->eg->n_subtasks_total) attempt_ended(jm);
    } else if (jm->awaiting_slots) {
      /* not deployed: end when the slots come, or withdraw a waiting request */
      jm->cancel_requested = 1;
      flow_msg_t *w = flow_msg_new(FLOW_MSG_CANCEL_SLOT_REQUEST, &jm->ep, &jm->rm->ep);
      w->cancel_slot_request.job_master = &jm->ep;
      flow_rpc_send(jm->ep.rpc, w);
    } else if (jm->status == FLOW_JOB_RESTARTING) {
      uv_timer_stop(jm->restart_timer);
      finish_job(jm, FLOW_JOB_CANCELED);
    } else if (jm->status == FLOW_JOB_CREATED || jm->status == FLOW_JOB_INITIALIZING) {
      jm->cancel_requested = 1; /* not deployed yet: end when the slots come */
    }
    break;
  default: break;
  }
}
