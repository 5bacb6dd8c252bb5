#include "coordination/minicluster.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordination/messages.h"
#include "util/clock.h"
#include "util/common.h"

struct flow_minicluster {
  uv_loop_t loop;
  flow_rpc_t rpc;
  uv_async_t cancel_async; /* cancel() from any thread or a signal handler */
  flow_dispatcher_t dispatcher;
  flow_resource_manager_t rm;
  flow_task_executor_t te;
  const flow_job_graph_t *jg;
  int slots;
  uv_thread_t thread;
  _Atomic int status;
  uv_mutex_t mu;
  uv_cond_t cond;
  int done;         /* the loop returned; result is final */
  char *savepoint;  /* the last savepoint result (guarded by mu) */
  flow_job_metrics_t *metrics;    /* every subtask's counters: tasks write, the loop and clients read */
  flow_vertex_metrics_t *sums;    /* per job vertex: the client's progress (client thread) */
  int savepoint_seq;
  flow_job_result_t result; /* filled by the Dispatcher, handed to on_result */
  /* REST views (publish_views): the loop samples and builds, any thread
   * takes a reference to the latest (view guarded by mu) */
  int publish;
  flow_job_sampler_t *sampler;
  uv_timer_t view_timer;
  flow_job_view_t *view;
  int64_t start_ms;
  void (*on_result)(void *data, flow_job_result_t *r);
  void *data;
};

void flow_minicluster_options_init(flow_minicluster_options_t *opt) {
  memset(opt, 0, sizeof(*opt));
  opt->buffer_timeout_ms = 100;
  flow_restart_init(&opt->restart, FLOW_RESTART_NONE);
}

/* ---- job views ---------------------------------------------------------- */

static void te_name(const void *te, char *name, size_t cap, char *id, size_t idcap, void *data) {
  (void)te;
  (void)data;
  snprintf(name, cap, "localhost");
  snprintf(id, idcap, "local");
}

/* Loop thread: samples the counters and publishes a new view. */
static void publish_view(flow_minicluster_t *mc, const flow_job_master_t *jm, int status, int64_t end_ms) {
  flow_job_sampler_sample(mc->sampler, mc->metrics);
  uv_mutex_lock(&mc->mu);
  flow_job_view_t *prev = flow_job_view_ref(mc->view);
  uv_mutex_unlock(&mc->mu);
  flow_job_view_source_t src = {
      .id = mc->dispatcher.job_id,
      .name = mc->jg->sg->job_name,
      .jg = mc->jg,
      .d = &mc->dispatcher,
      .jm = jm,
      .prev = prev,
      .status = status,
      .start_ms = mc->start_ms,
      .end_ms = end_ms,
      .restarts = mc->result.restarts,
      .failure = mc->result.failure,
      .sampler = mc->sampler,
      .accumulators = mc->result.accumulators, /* (the result took them at the end) */
      .te_name = te_name,
  };
  flow_job_view_t *v = flow_job_view_build(&src);
  int used = 0;
  for (int i = 0; i < mc->te.slots.n_slots; i++) used += mc->te.slots.slots[i].state != FLOW_SLOT_FREE;
  v->slots_total = mc->te.slots.n_slots;
  v->slots_free = mc->te.slots.n_slots - used;
  uv_mutex_lock(&mc->mu);
  flow_job_view_t *old = mc->view;
  mc->view = v;
  uv_mutex_unlock(&mc->mu);
  flow_job_view_unref(old);
  flow_job_view_unref(prev);
}

static void on_view_timer(uv_timer_t *h) {
  flow_minicluster_t *mc = h->data;
  publish_view(mc, mc->dispatcher.jm, atomic_load(&mc->status), -1);
}

/* the job ended: its last view, with the JobMaster still there */
static void on_archive(flow_dispatcher_t *d, const flow_job_master_t *jm) {
  flow_minicluster_t *mc = d->data;
  if (mc->publish) publish_view(mc, jm, (int)jm->status, flow_now_ms());
}

flow_job_view_t *flow_minicluster_view(flow_minicluster_t *mc) {
  uv_mutex_lock(&mc->mu);
  flow_job_view_t *v = flow_job_view_ref(mc->view);
  uv_mutex_unlock(&mc->mu);
  return v;
}

static void on_done(flow_dispatcher_t *d) {
  flow_minicluster_t *mc = d->data;
  if (mc->publish && !uv_is_closing((uv_handle_t *)&mc->view_timer))
    uv_close((uv_handle_t *)&mc->view_timer, NULL);
  flow_rpc_close(&mc->rpc); /* nothing referenced is left: uv_run returns */
}

static void on_savepoint(flow_dispatcher_t *d, const char *result) {
  flow_minicluster_t *mc = d->data;
  uv_mutex_lock(&mc->mu);
  free(mc->savepoint);
  mc->savepoint = flow_strdup(result);
  mc->savepoint_seq++;
  uv_cond_broadcast(&mc->cond);
  uv_mutex_unlock(&mc->mu);
}

static void on_cancel(uv_async_t *h) {
  flow_minicluster_t *mc = h->data;
  flow_rpc_send(&mc->rpc, flow_msg_new(FLOW_MSG_CANCEL_JOB, NULL, &mc->dispatcher.ep));
}

/* After the loop returned (no thread runs it any more). */
static void close_loop(flow_minicluster_t *mc) {
  uv_close((uv_handle_t *)&mc->cancel_async, NULL);
  uv_run(&mc->loop, UV_RUN_NOWAIT); /* close callbacks */
  uv_loop_close(&mc->loop);
}

static void cluster_main(void *arg) {
  flow_minicluster_t *mc = arg;
  uv_run(&mc->loop, UV_RUN_DEFAULT);
  flow_task_executor_destroy(&mc->te);
  flow_resource_manager_destroy(&mc->rm);
  if (mc->dispatcher.jm != NULL) { /* the loop ended without a result */
    flow_job_master_free(mc->dispatcher.jm);
    mc->dispatcher.jm = NULL;
    mc->result.status = FLOW_JOB_FAILED;
  }
  atomic_store(&mc->status, (int)mc->result.status);
  if (mc->on_result != NULL) mc->on_result(mc->data, &mc->result);
  uv_mutex_lock(&mc->mu);
  mc->done = 1;
  uv_cond_broadcast(&mc->cond);
  uv_mutex_unlock(&mc->mu);
}

flow_minicluster_t *flow_minicluster_start(const flow_job_graph_t *jg, const flow_minicluster_options_t *opt,
                                           char *err, size_t errlen) {
  flow_minicluster_t *mc = flow_xcalloc(1, sizeof(*mc));
  mc->jg = jg;
  mc->on_result = opt->on_result;
  mc->data = opt->data;
  atomic_init(&mc->status, FLOW_JOB_INITIALIZING);
  if (uv_loop_init(&mc->loop) != 0) goto fail_loop;
  if (flow_rpc_init(&mc->rpc, &mc->loop) != 0) goto fail_rpc;
  mc->cancel_async.data = mc;
  uv_async_init(&mc->loop, &mc->cancel_async, on_cancel);
  /* unreferenced: it does not keep the loop alive, and stays open (so
   * cancel() is safe at any time) until flow_minicluster_free closes it */
  uv_unref((uv_handle_t *)&mc->cancel_async);
  uv_mutex_init(&mc->mu);
  uv_cond_init(&mc->cond);
  flow_resource_manager_init(&mc->rm, &mc->rpc);
  flow_dispatcher_init(&mc->dispatcher, &mc->rpc, &mc->rm);
  mc->dispatcher.result = &mc->result;
  mc->dispatcher.on_done = on_done;
  mc->dispatcher.on_archive = on_archive;
  mc->dispatcher.on_savepoint = on_savepoint;
  mc->dispatcher.data = mc;
  flow_dispatcher_configure(&mc->dispatcher, opt->buffer_timeout_ms, &opt->restart, &opt->checkpoint);
  mc->dispatcher.status_out = &mc->status;
  mc->metrics = flow_job_metrics_new(jg);
  mc->sums = flow_xcalloc((size_t)jg->n_vertices, sizeof(*mc->sums));
  mc->dispatcher.metrics = mc->metrics;
  flow_new_job_id(mc->dispatcher.job_id);
  int slots = opt->slots > 0 ? opt->slots : jg->slots_required;
  if (flow_task_executor_init(&mc->te, &mc->rpc, &mc->rm, slots, opt->task_body) != 0) goto fail_te;
  mc->start_ms = flow_now_ms();
  mc->publish = opt->publish_views;
  if (mc->publish) {
    mc->sampler = flow_job_sampler_new(mc->metrics->n_subtasks);
    uv_timer_init(&mc->loop, &mc->view_timer);
    mc->view_timer.data = mc;
    uv_timer_start(&mc->view_timer, on_view_timer, 0, 1000);
  }
  flow_msg_t *m = flow_msg_new(FLOW_MSG_SUBMIT_JOB, NULL, &mc->dispatcher.ep);
  m->submit_job.job_graph = jg;
  flow_rpc_send(&mc->rpc, m);
  if (uv_thread_create(&mc->thread, cluster_main, mc) != 0) {
    snprintf(err, errlen, "could not start the cluster thread");
    /* nothing ran: tear down on this thread */
    on_done(&mc->dispatcher);
    uv_run(&mc->loop, UV_RUN_DEFAULT);
    flow_task_executor_destroy(&mc->te);
    flow_resource_manager_destroy(&mc->rm);
    close_loop(mc);
    goto fail_thread;
  }
  return mc;
fail_te:
  snprintf(err, errlen, "could not create the task executor");
  on_done(&mc->dispatcher);
  uv_run(&mc->loop, UV_RUN_DEFAULT);
  flow_resource_manager_destroy(&mc->rm);
  close_loop(mc);
fail_thread:
  flow_job_metrics_free(mc->metrics);
  free(mc->sums);
  flow_dispatcher_clear(&mc->dispatcher);
  uv_cond_destroy(&mc->cond);
  uv_mutex_destroy(&mc->mu);
  uv_mutex_destroy(&mc->rpc.mu);
  free(mc);
  return NULL;
fail_rpc:
  uv_loop_close(&mc->loop);
fail_loop:
  snprintf(err, errlen, "could not start the cluster's event loop");
  free(mc);
  return NULL;
}

const char *flow_minicluster_job_id(flow_minicluster_t *mc) { return mc->dispatcher.job_id; }

flow_job_status_t flow_minicluster_status(flow_minicluster_t *mc) {
  return (flow_job_status_t)atomic_load(&mc->status);
}

void flow_minicluster_cancel(flow_minicluster_t *mc) {
  /* the async handle stays open until flow_minicluster_free */
  uv_async_send(&mc->cancel_async);
}

void flow_minicluster_wait_ended(flow_minicluster_t *mc) {
  uv_mutex_lock(&mc->mu);
  while (!mc->done) uv_cond_wait(&mc->cond, &mc->mu);
  uv_mutex_unlock(&mc->mu);
}

void flow_minicluster_free(flow_minicluster_t *mc) {
  if (mc == NULL) return;
  uv_mutex_lock(&mc->mu);
  int done = mc->done;
  uv_mutex_unlock(&mc->mu);
  if (!done) flow_minicluster_cancel(mc);
  uv_thread_join(&mc->thread);
  close_loop(mc);
  flow_job_result_clear(&mc->result);
  flow_dispatcher_clear(&mc->dispatcher);
  flow_job_view_unref(mc->view);
  flow_job_sampler_free(mc->sampler);
  free(mc->savepoint);
  flow_job_metrics_free(mc->metrics);
  free(mc->sums);
  uv_cond_destroy(&mc->cond);
  uv_mutex_destroy(&mc->mu);
  uv_mutex_destroy(&mc->rpc.mu);
  free(mc);
}

const flow_vertex_metrics_t *flow_minicluster_metrics(flow_minicluster_t *mc) {
  for (int v = 0; v < mc->metrics->n_vertices; v++) {
    int64_t s[4];
    flow_job_metrics_vertex_sums(mc->metrics, v, s);
    atomic_store_explicit(&mc->sums[v].records_in, s[0], memory_order_relaxed);
    atomic_store_explicit(&mc->sums[v].records_out, s[1], memory_order_relaxed);
    atomic_store_explicit(&mc->sums[v].bytes_read, s[2], memory_order_relaxed);
    atomic_store_explicit(&mc->sums[v].bytes_total, s[3], memory_order_relaxed);
  }
  return mc->sums;
}

int flow_minicluster_savepoint(flow_minicluster_t *mc, const char *dir, int stop, int64_t timeout_ms, char *out,
                               size_t cap) {
  uv_mutex_lock(&mc->mu);
  int seq = mc->savepoint_seq;
  int done = mc->done;
  uv_mutex_unlock(&mc->mu);
  if (done) {
    snprintf(out, cap, "error: the job has ended");
    return FLOW_ESTATE;
  }
  flow_msg_t *m = flow_msg_new(FLOW_MSG_TRIGGER_SAVEPOINT, NULL, &mc->dispatcher.ep);
  m->trigger_savepoint.dir = flow_strdup(dir);
  m->trigger_savepoint.stop = stop;
  flow_rpc_send(&mc->rpc, m);
  uint64_t deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
  uv_mutex_lock(&mc->mu);
  while (mc->savepoint_seq == seq && !mc->done) {
    uint64_t now = uv_hrtime();
    if (now >= deadline) break;
    (void)uv_cond_timedwait(&mc->cond, &mc->mu, deadline - now);
  }
  int rc;
  if (mc->savepoint_seq != seq) {
    snprintf(out, cap, "%s", mc->savepoint);
    rc = strncmp(mc->savepoint, "error: ", 7) == 0 ? FLOW_EIO : 0;
  } else {
    snprintf(out, cap, mc->done ? "error: the job ended before the savepoint completed" : "error: timed out");
    rc = mc->done ? FLOW_ESTATE : FLOW_ETIMEDOUT;
  }
  uv_mutex_unlock(&mc->mu);
  return rc;
}
