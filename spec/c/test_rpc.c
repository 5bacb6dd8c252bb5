/* RPC tests: messages posted from several threads are delivered on the loop
 * thread, per sender in FIFO order; the handler can close the rpc, which
 * ends uv_run; messages sent after close are dropped and freed. */
#include "coordination/messages.h"
#include "coordination/rpc.h"
#include "util/common.h"

#include "ctest_assert.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define SENDERS 4
#define PER_SENDER 1000

static flow_rpc_t rpc;
static uv_thread_t loop_thread;
static uv_timer_t watchdog;
static int delivered, order_errors, wrong_thread, wrong_fields, text_errors;
static int next_seq[SENDERS];
static int closed_by_handler, watchdog_fired;

static void handle(flow_endpoint_t *self, flow_msg_t *m) {
  uv_thread_t me = uv_thread_self();
  if (!uv_thread_equal(&me, &loop_thread)) wrong_thread++;
  /* the sender in task.vertex, its sequence number in task.subtask */
  const flow_task_id_t *id = &m->task_state.task;
  if (m->to != self || m->type != FLOW_MSG_TASK_STATE || id->vertex < 0 || id->vertex >= SENDERS) {
    wrong_fields++;
    return;
  }
  if (id->subtask != next_seq[id->vertex]) order_errors++;
  next_seq[id->vertex] = id->subtask + 1;
  /* every 10th message carries an error text: freed after delivery unless taken */
  if (id->subtask % 10 == 0) {
    char *text = m->task_state.error;
    if (text == NULL || atoi(text) != id->subtask) text_errors++;
    if (id->subtask % 20 == 0) { /* take it */
      free(text);
      m->task_state.error = NULL;
    }
  }
  if (++delivered == SENDERS * PER_SENDER) {
    flow_rpc_close(&rpc);
    uv_close((uv_handle_t *)&watchdog, NULL);
    closed_by_handler = 1;
  }
}

static void on_watchdog(uv_timer_t *t) {
  (void)t;
  watchdog_fired = 1;
  flow_rpc_close(&rpc);
  uv_close((uv_handle_t *)&watchdog, NULL);
}

typedef struct {
  int id;
  flow_endpoint_t *from, *to;
} sender_t;

static void sender_main(void *arg) {
  sender_t *s = arg;
  for (int i = 0; i < PER_SENDER; i++) {
    flow_msg_t *m = flow_msg_new(FLOW_MSG_TASK_STATE, s->from, s->to);
    m->task_state.task.vertex = s->id;
    m->task_state.task.subtask = i;
    if (i % 10 == 0) {
      m->task_state.error = malloc(16);
      snprintf(m->task_state.error, 16, "%d", i);
    }
    flow_rpc_send(&rpc, m);
  }
}

static void test_multi_sender(void) {
  CTEST_CASE("multi-sender FIFO delivery");
  uv_loop_t loop;
  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  CHECK_EQ_INT(flow_rpc_init(&rpc, &loop), 0);
  loop_thread = uv_thread_self();
  /* safety net: a broken rpc must fail the test, not hang it */
  uv_timer_init(&loop, &watchdog);
  uv_timer_start(&watchdog, on_watchdog, 10000, 0);
  uv_unref((uv_handle_t *)&watchdog);

  flow_endpoint_t ep = {.name = "test-endpoint", .rpc = &rpc, .handle = handle};
  flow_endpoint_t from = {.name = "senders", .rpc = &rpc};
  sender_t ss[SENDERS];
  uv_thread_t ts[SENDERS];
  for (int i = 0; i < SENDERS; i++) {
    ss[i].id = i;
    ss[i].from = &from;
    ss[i].to = &ep;
    CHECK_EQ_INT(uv_thread_create(&ts[i], sender_main, &ss[i]), 0);
  }
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0); /* returns once the handler closed the rpc */
  for (int i = 0; i < SENDERS; i++) uv_thread_join(&ts[i]);

  CHECK_EQ_INT(watchdog_fired, 0);
  CHECK_EQ_INT(closed_by_handler, 1);
  CHECK_EQ_INT(delivered, SENDERS * PER_SENDER);
  CHECK_EQ_INT(order_errors, 0);
  CHECK_EQ_INT(wrong_thread, 0);
  CHECK_EQ_INT(wrong_fields, 0);
  CHECK_EQ_INT(text_errors, 0);
  for (int i = 0; i < SENDERS; i++) CHECK_EQ_INT(next_seq[i], PER_SENDER);
  CHECK_EQ_INT(rpc.closed, 1);
  CHECK_NULL(rpc.head);

  /* after close: dropped and freed (what they own too), never delivered */
  for (int i = 0; i < 5; i++) {
    flow_msg_t *m = flow_msg_new(FLOW_MSG_SAVEPOINT_DONE, &from, &ep);
    m->savepoint_done.result = strdup("late");
    flow_rpc_send(&rpc, m);
  }
  CHECK_NULL(rpc.head);
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_NOWAIT), 0);
  CHECK_EQ_INT(delivered, SENDERS * PER_SENDER);
  CHECK_EQ_INT(uv_loop_close(&loop), 0);
  uv_mutex_destroy(&rpc.mu); /* close leaves it to the owner (as minicluster does) */
}

/* Undelivered messages are dropped by close (no leak), msg_new zeroes fields. */
static int undelivered_calls;
static void count_handle(flow_endpoint_t *self, flow_msg_t *m) {
  (void)self;
  (void)m;
  undelivered_calls++;
}

static void test_close_drops_pending(void) {
  CTEST_CASE("close drops pending messages");
  uv_loop_t loop;
  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  flow_rpc_t r;
  CHECK_EQ_INT(flow_rpc_init(&r, &loop), 0);
  flow_endpoint_t ep = {.name = "e", .rpc = &r, .handle = count_handle};
  flow_msg_t *m = flow_msg_new(FLOW_MSG_SUBMIT_JOB, NULL, &ep);
  CHECK_NOT_NULL(m);
  CHECK(m->type == FLOW_MSG_SUBMIT_JOB && m->to == &ep && m->from == NULL);
  CHECK(m->submit_job.job_graph == NULL && m->next == NULL);
  flow_msg_free(m);
  m = flow_msg_new(FLOW_MSG_SUBMIT_TASK, NULL, &ep);
  CHECK(m->submit_task.job_master == NULL && m->submit_task.deployment == NULL && m->submit_task.slot == 0);
  CHECK(m->submit_task.task.vertex == 0 && m->submit_task.task.subtask == 0 && m->submit_task.task.attempt == 0);
  m->submit_task.deployment = calloc(1, sizeof(flow_task_deployment_t));
  m->submit_task.deployment->restore_dir = strdup("pending");
  flow_rpc_send(&r, m);
  flow_rpc_send(&r, flow_msg_new(FLOW_MSG_CANCEL_JOB, NULL, &ep));
  CHECK_NOT_NULL(r.head);
  flow_rpc_close(&r); /* before the loop ran: both dropped */
  CHECK_NULL(r.head);
  CHECK_NULL(r.tail);
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ_INT(undelivered_calls, 0);
  CHECK_EQ_INT(uv_loop_close(&loop), 0);
  uv_mutex_destroy(&r.mu);
}

int main(void) {
  test_multi_sender();
  test_close_drops_pending();
  return CTEST_SUMMARY();
}
