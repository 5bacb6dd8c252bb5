/* JobMaster / ResourceManager races of cluster mode, driven message by
 * message on a loop (no threads, no tasks): a job waiting for slots that is
 * canceled while a TaskExecutor is lost, and late answers to a finished
 * JobMaster. Under the ASan build a message delivered to a freed JobMaster
 * is a heap-use-after-free report, so these fail loudly if the two-phase
 * retire/free of the Dispatcher or the ResourceManager's purge breaks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordination/dispatcher.h"
#include "coordination/job_master.h"
#include "coordination/messages.h"
#include "coordination/resource_manager.h"
#include "util/common.h"
#include "ctest_assert.h"
#include "graph/job_graph.h"
#include "graph/stream_graph.h"

static int done;
static void on_done(flow_dispatcher_t *d) {
  (void)d;
  done++;
}

static int te_msgs;
static void te_handle(flow_endpoint_t *self, flow_msg_t *m) {
  (void)self, (void)m;
  te_msgs++;
}

typedef struct world {
  uv_loop_t loop;
  flow_rpc_t rpc;
  flow_resource_manager_t rm;
  flow_dispatcher_t d;
  flow_job_result_t res;
  flow_stream_graph_t *sg;
  flow_job_graph_t *jg;
} world_t;

static void setup(world_t *w, int64_t slot_timeout_ms) {
  memset(w, 0, sizeof(*w));
  done = 0;
  uv_loop_init(&w->loop);
  flow_rpc_init(&w->rpc, &w->loop);
  flow_resource_manager_init(&w->rm, &w->rpc);
  w->rm.slot_timeout_ms = slot_timeout_ms;
  flow_dispatcher_init(&w->d, &w->rpc, &w->rm);
  w->d.result = &w->res;
  w->d.on_done = on_done;
  w->d.remote_executors = 1;
  w->sg = flow_sg_new("j");
  flow_stream_node_desc_t nd;
  memset(&nd, 0, sizeof nd);
  nd.name = "Source: S";
  nd.kind = "source";
  nd.parallelism = 2;
  nd.chaining = FLOW_CHAIN_HEAD;
  nd.is_source = 1;
  int a = flow_sg_add_node(w->sg, &nd);
  nd.name = "Sink: K";
  nd.kind = "sink";
  nd.chaining = FLOW_CHAIN_ALWAYS;
  nd.is_source = 0;
  int b = flow_sg_add_node(w->sg, &nd);
  CHECK_EQ_INT(flow_sg_add_edge(w->sg, a, b, FLOW_PART_FORWARD, 0, 0), 0);
  char err[256];
  w->jg = flow_jg_build(w->sg, err, sizeof err);
  CHECK_NOT_NULL(w->jg);
  flow_msg_t *m = flow_msg_new(FLOW_MSG_SUBMIT_JOB, NULL, &w->d.ep);
  m->submit_job.job_graph = w->jg;
  flow_rpc_send(&w->rpc, m);
  uv_run(&w->loop, UV_RUN_NOWAIT);
}

static void drain(world_t *w) {
  for (int i = 0; i < 4; i++) uv_run(&w->loop, UV_RUN_NOWAIT);
}

static void teardown(world_t *w) {
  if (w->d.jm != NULL) flow_job_master_free(w->d.jm);
  flow_resource_manager_destroy(&w->rm);
  flow_rpc_close(&w->rpc);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  uv_loop_close(&w->loop);
  uv_mutex_destroy(&w->rpc.mu);
  flow_job_result_clear(&w->res);
  flow_jg_free(w->jg);
  flow_sg_free(w->sg);
}

/* No TaskExecutor registered: the request waits; a cancel and a lost
 * TaskExecutor arrive together. The job ends CANCELED once; no late answer
 * of the ResourceManager reaches the freed JobMaster. */
static void test_cancel_while_waiting_and_lost(void) {
  CTEST_CASE("cancel while waiting for slots, then a TaskExecutor is lost");
  world_t w;
  setup(&w, 100000);
  CHECK_NOT_NULL(w.rm.pending);
  CHECK(w.d.jm != NULL && w.d.jm->awaiting_slots);
  flow_endpoint_t te = {.name = "TE", .rpc = &w.rpc, .handle = te_handle};
  flow_rpc_send(&w.rpc, flow_msg_new(FLOW_MSG_CANCEL_JOB, NULL, &w.d.jm->ep));
  flow_msg_t *m = flow_msg_new(FLOW_MSG_TE_LOST, NULL, &w.d.jm->ep);
  m->te_lost.task_executor = &te;
  m->te_lost.why = flow_strdup("gone");
  flow_rpc_send(&w.rpc, m);
  drain(&w);
  CHECK_EQ_INT(done, 1);
  CHECK_EQ_INT(w.res.status, FLOW_JOB_CANCELED);
  CHECK_NULL(w.rm.pending);
  CHECK_NULL(w.d.jm);
  teardown(&w);
}

/* A request that cannot be served, a TaskExecutor lost meanwhile (the
 * JobMaster asks again), then the request expires: exactly one answer
 * fails the job, and the replaced request does not answer later. */
static void test_rerequest_then_expiry(void) {
  CTEST_CASE("re-request after a lost TaskExecutor, then expiry");
  world_t w;
  setup(&w, 50);
  flow_endpoint_t te = {.name = "TE", .rpc = &w.rpc, .handle = te_handle};
  flow_msg_t *m = flow_msg_new(FLOW_MSG_TE_LOST, NULL, &w.d.jm->ep);
  m->te_lost.task_executor = &te;
  m->te_lost.why = flow_strdup("gone");
  flow_rpc_send(&w.rpc, m);
  drain(&w);
  int n = 0;
  for (flow_slot_request_t *q = w.rm.pending; q != NULL; q = q->next) n++;
  CHECK_EQ_INT(n, 1); /* replaced, not added */
  uint64_t until = uv_hrtime() + 2000000000ull;
  while (!done && uv_hrtime() < until) uv_run(&w.loop, UV_RUN_ONCE);
  drain(&w);
  CHECK_EQ_INT(done, 1);
  CHECK_EQ_INT(w.res.status, FLOW_JOB_FAILED);
  CHECK_CONTAINS(w.res.failure, "could not acquire the minimum required resources");
  teardown(&w);
}

/* Offers of a finished job's stale generation go back to the TaskExecutor. */
static void test_stale_offer_given_back(void) {
  CTEST_CASE("stale offers are given back");
  world_t w;
  setup(&w, 100000);
  flow_endpoint_t te = {.name = "TE", .rpc = &w.rpc, .handle = te_handle};
  int gen = w.d.jm->slot_gen;
  flow_msg_t *m = flow_msg_new(FLOW_MSG_OFFER_SLOTS, &te, &w.d.jm->ep);
  int *idx = malloc(2 * sizeof(int));
  idx[0] = 0, idx[1] = 1;
  m->offer_slots.task_executor = &te;
  m->offer_slots.slots = idx;
  m->offer_slots.n_slots = 2;
  m->offer_slots.generation = gen + 7; /* not the current request */
  te_msgs = 0;
  flow_rpc_send(&w.rpc, m);
  drain(&w);
  CHECK_EQ_INT(te_msgs, 1); /* the FREE_SLOTS of exactly those slots */
  CHECK(w.d.jm != NULL && w.d.jm->awaiting_slots && w.d.jm->n_offered == 0);
  teardown(&w);
}

int main(void) {
  test_cancel_while_waiting_and_lost();
  test_rerequest_then_expiry();
  test_stale_offer_given_back();
  return CTEST_SUMMARY();
}
