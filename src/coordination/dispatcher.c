#include <stdlib.h>
#include <string.h>

#include "coordination/dispatcher.h"
#include "coordination/messages.h"
#include "util/common.h"

static void dispatcher_handle(flow_endpoint_t *self, flow_msg_t *m) {
  flow_dispatcher_t *d = (flow_dispatcher_t *)self;
  switch (m->type) {
  case FLOW_MSG_SUBMIT_JOB: {
    if (d->jm != NULL) break; /* one job at a time; the client never sends two */
    d->jm = flow_job_master_new(d, m->submit_job.job_graph);
    d->jm->buffer_timeout_ms = d->buffer_timeout_ms;
    flow_job_master_start(d->jm);
    break;
  }
  case FLOW_MSG_JOB_RESULT: {
    flow_job_master_t *jm = m->job_result.job_master;
    flow_job_result_t *r = d->result;
    memcpy(r->job_id, jm->job_id, sizeof(r->job_id));
    r->status = jm->status;
    r->failure = jm->failure;
    jm->failure = NULL;
    r->net_runtime_ms = (int64_t)((uv_hrtime() - jm->start_ns) / 1000000u);
    r->collected = jm->net != NULL ? flow_network_take_collected(jm->net) : NULL;
    r->restarts = jm->restarts;
    r->accumulators = jm->accumulators;
    jm->accumulators = NULL;
    if (d->on_archive) d->on_archive(d, jm);
    /* freed one queue round later: messages already queued to it (a late
     * answer of the ResourceManager, a lost TaskExecutor's) reach a
     * JobMaster that ignores them, not freed memory */
    flow_job_master_retire(jm);
    d->jm = NULL;
    flow_msg_t *f = flow_msg_new(FLOW_MSG_FREE_JOB_MASTER, self, self);
    f->free_job_master.job_master = jm;
    flow_rpc_send(self->rpc, f);
    break;
  }
  case FLOW_MSG_FREE_JOB_MASTER:
    flow_job_master_free(m->free_job_master.job_master);
    if (d->on_done) d->on_done(d);
    break;
  case FLOW_MSG_TRIGGER_SAVEPOINT:
    if (d->jm != NULL) {
      flow_msg_t *f = flow_msg_new(FLOW_MSG_TRIGGER_SAVEPOINT, self, &d->jm->ep);
      f->trigger_savepoint = m->trigger_savepoint; /* takes dir */
      m->trigger_savepoint.dir = NULL;
      flow_rpc_send(self->rpc, f);
    } else if (d->on_savepoint) {
      d->on_savepoint(d, "error: no job is running");
    }
    break;
  case FLOW_MSG_SAVEPOINT_DONE:
    if (d->on_savepoint) d->on_savepoint(d, m->savepoint_done.result ? m->savepoint_done.result : "error: unknown");
    break;
  case FLOW_MSG_CANCEL_JOB:
    if (d->jm != NULL) flow_rpc_send(self->rpc, flow_msg_new(FLOW_MSG_CANCEL_JOB, self, &d->jm->ep));
    break;
  default: break;
  }
}

void flow_dispatcher_init(flow_dispatcher_t *d, flow_rpc_t *rpc, flow_resource_manager_t *rm) {
  memset(d, 0, sizeof(*d));
  d->ep.name = "Dispatcher";
  d->ep.rpc = rpc;
  d->ep.handle = dispatcher_handle;
  d->rm = rm;
  d->buffer_timeout_ms = 100;
  flow_restart_init(&d->restart, FLOW_RESTART_NONE);
}

void flow_dispatcher_configure(flow_dispatcher_t *d, int64_t buffer_timeout_ms, const flow_restart_strategy_t *restart,
                               const flow_checkpoint_config_t *checkpoint) {
  d->buffer_timeout_ms = buffer_timeout_ms;
  d->restart = *restart;
  d->checkpoint = *checkpoint;
  d->checkpoint.dir = flow_strdup(checkpoint->dir);
  d->checkpoint.restore_dir = flow_strdup(checkpoint->restore_dir);
}

void flow_dispatcher_clear(flow_dispatcher_t *d) {
  free(d->checkpoint.dir);
  free(d->checkpoint.restore_dir);
  d->checkpoint.dir = d->checkpoint.restore_dir = NULL;
}
