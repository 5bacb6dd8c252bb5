/* RPC tests: messages posted from several threads are delivered on the loop
 * thread, per sender in FIFO order; the handler can close the rpc, which
 * ends uv_run; messages sent after close are dropped and freed. */
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
  if (m->to != self || m->type != FLOW_MSG_TASK_STATE || m->a < 0 || m->a >= SENDERS) {
    wrong_fields++;
    return;
  }
  if (m->b != next_seq[m->a]) order_errors++;
  next_seq[m->a] = m->b + 1;
  /* every 10th message carries text: freed after delivery unless taken */
  if (m->b % 10 == 0) {
    if (m->text == NULL || atoi(m->text) != m->b) text_errors++;
    if (m->b % 20 == 0) { /* take it */
      free(m->text);
      m->text = NULL;
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
    m->a = s->id;
    m->b = i;
    if (i % 10 == 0) {
      m->text = malloc(16);
      snprintf(m->text, 16, "%d", i);
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

  /* after close: dropped and freed (text too), never delivered */
  for (int i = 0; i < 5; i++) {
    flow_msg_t *m = flow_msg_new(FLOW_MSG_CANCEL_JOB, &from, &ep);
    m->text = strdup("late");
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
  CHECK(m->ptr == NULL && m->ptr2 == NULL && m->text == NULL && m->next == NULL);
  CHECK(m->a == 0 && m->b == 0 && m->c == 0 && m->d == 0);
  m->text = strdup("pending");
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
