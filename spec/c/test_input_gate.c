/* InputGate tests: per-channel FIFO, round-robin fairness, end of partition,
 * timeouts, credit-based backpressure, cancellation, a multi-producer stress
 * run, and freeing a gate that still holds buffers. */
#include "util/common.h"
#include "runtime/buffer.h"
#include "runtime/input_gate.h"

#include "ctest_assert.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* ------------------------------------------------------------ helpers --- */

/* A data buffer carrying (tag, seq) as two uint32 in its payload. */
static flow_buffer_t *data_buf(uint32_t tag, uint32_t seq) {
  flow_buffer_t *b = flow_buffer_new(16);
  if (b == NULL) abort();
  memcpy(b->data, &tag, 4);
  memcpy(b->data + 4, &seq, 4);
  b->size = 8;
  b->kind = FLOW_BUF_DATA;
  return b;
}

static flow_buffer_t *eop_buf(void) {
  flow_buffer_t *b = flow_buffer_new(16);
  if (b == NULL) abort();
  b->size = 0;
  b->kind = FLOW_BUF_END_OF_PARTITION;
  return b;
}

static uint32_t buf_tag(const flow_buffer_t *b) {
  uint32_t v;
  memcpy(&v, b->data, 4);
  return v;
}
static uint32_t buf_seq(const flow_buffer_t *b) {
  uint32_t v;
  memcpy(&v, b->data + 4, 4);
  return v;
}

/* Polls one data buffer (expects one), returns its channel and seq; -1 on failure. */
static int poll_one(flow_input_gate_t *g, int64_t timeout_ms, uint32_t *seq) {
  flow_buffer_t *b = NULL;
  int rc = flow_gate_poll(g, timeout_ms, &b);
  CHECK_EQ_INT(rc, 1);
  if (rc != 1 || b == NULL) return -1;
  int ch = b->channel;
  CHECK_EQ_INT(buf_tag(b), (uint32_t)ch); /* tests tag buffers with their channel */
  if (seq) *seq = buf_seq(b);
  flow_buffer_free(b);
  return ch;
}

static void sleep_ms(unsigned ms) { uv_sleep(ms); }

/* ----------------------------------------------------- single thread --- */

static void test_fifo_per_channel(void) {
  CTEST_CASE("FIFO per channel");
  flow_input_gate_t *g = flow_gate_new(2);
  CHECK_NOT_NULL(g);
  for (uint32_t i = 0; i < 3; i++) CHECK_EQ_INT(flow_gate_push(g, 0, data_buf(0, i)), 0);
  for (uint32_t i = 0; i < 2; i++) CHECK_EQ_INT(flow_gate_push(g, 1, data_buf(1, 100 + i)), 0);
  uint32_t next0 = 0, next1 = 100;
  for (int k = 0; k < 5; k++) {
    uint32_t seq = 0;
    int ch = poll_one(g, 0, &seq);
    if (ch == 0) CHECK_EQ_INT(seq, next0++);
    else if (ch == 1) CHECK_EQ_INT(seq, next1++);
    else CHECK(0);
  }
  CHECK_EQ_INT(next0, 3);
  CHECK_EQ_INT(next1, 102);
  flow_buffer_t *b = NULL;
  CHECK_EQ_INT(flow_gate_poll(g, 0, &b), FLOW_ETIMEDOUT);
  CHECK_EQ_INT(g->queued, 0);
  flow_gate_free(g);
}

static void test_round_robin(void) {
  CTEST_CASE("round robin across channels");
  flow_input_gate_t *g = flow_gate_new(3);
  for (int ch = 0; ch < 3; ch++)
    for (uint32_t i = 0; i < 3; i++) CHECK_EQ_INT(flow_gate_push(g, ch, data_buf((uint32_t)ch, i)), 0);
  int order[9];
  for (int k = 0; k < 9; k++) order[k] = poll_one(g, 0, NULL);
  CHECK_INTS(order, 9, 0, 1, 2, 0, 1, 2, 0, 1, 2);

  /* Uneven: a busy channel does not starve the others. */
  for (uint32_t i = 0; i < 4; i++) CHECK_EQ_INT(flow_gate_push(g, 0, data_buf(0, i)), 0);
  CHECK_EQ_INT(flow_gate_push(g, 2, data_buf(2, 0)), 0);
  CHECK_EQ_INT(flow_gate_push(g, 1, data_buf(1, 0)), 0);
  int order2[6];
  for (int k = 0; k < 6; k++) order2[k] = poll_one(g, 0, NULL);
  /* cursor is at 0 after the last take from channel 2 */
  CHECK_INTS(order2, 6, 0, 1, 2, 0, 0, 0);
  flow_gate_free(g);
}

static void test_end_of_partition(void) {
  CTEST_CASE("end of partition on every channel");
  flow_input_gate_t *g = flow_gate_new(3);
  flow_buffer_t *b = NULL;
  CHECK_EQ_INT(flow_gate_push(g, 0, data_buf(0, 7)), 0);
  CHECK_EQ_INT(flow_gate_push(g, 0, eop_buf()), 0);
  CHECK_EQ_INT(flow_gate_push(g, 1, eop_buf()), 0);
  uint32_t seq = 0;
  CHECK_EQ_INT(poll_one(g, 0, &seq), 0);
  CHECK_EQ_INT(seq, 7);
  /* channel 2 still open: nothing to read, not finished */
  CHECK_EQ_INT(flow_gate_poll(g, 0, &b), FLOW_ETIMEDOUT);
  CHECK_EQ_INT(g->n_finished, 2);
  CHECK(g->channels[0].finished && g->channels[1].finished && !g->channels[2].finished);
  CHECK_EQ_INT(flow_gate_push(g, 2, data_buf(2, 9)), 0);
  CHECK_EQ_INT(flow_gate_push(g, 2, eop_buf()), 0);
  CHECK_EQ_INT(poll_one(g, 0, &seq), 2);
  CHECK_EQ_INT(seq, 9);
  CHECK_EQ_INT(flow_gate_poll(g, 0, &b), 0);
  CHECK_EQ_INT(flow_gate_poll(g, -1, &b), 0); /* stays finished, never blocks */
  CHECK_EQ_INT(g->n_finished, 3);
  flow_gate_free(g);
}

static void test_timeout(void) {
  CTEST_CASE("poll timeout");
  flow_input_gate_t *g = flow_gate_new(2);
  flow_buffer_t *b = NULL;
  CHECK_EQ_INT(flow_gate_poll(g, 0, &b), FLOW_ETIMEDOUT);
  CHECK_NULL(b);
  uint64_t t0 = uv_hrtime();
  CHECK_EQ_INT(flow_gate_poll(g, 20, &b), FLOW_ETIMEDOUT);
  uint64_t el_ms = (uv_hrtime() - t0) / 1000000u;
  CHECK(el_ms >= 19);
  CHECK(el_ms < 1000);
  CHECK_NULL(b);
  flow_gate_free(g);
}

static void test_eop_when_full(void) {
  CTEST_CASE("end of partition accepted on a full channel");
  flow_input_gate_t *g = flow_gate_new(1);
  for (uint32_t i = 0; i < FLOW_CHANNEL_CREDITS; i++)
    CHECK_EQ_INT(flow_gate_push(g, 0, data_buf(0, i)), 0);
  CHECK_EQ_INT(g->channels[0].queued, FLOW_CHANNEL_CREDITS);
  /* Would block forever (single thread) if events needed credit. */
  CHECK_EQ_INT(flow_gate_push(g, 0, eop_buf()), 0);
  CHECK_EQ_INT(g->channels[0].queued, FLOW_CHANNEL_CREDITS + 1);
  for (uint32_t i = 0; i < FLOW_CHANNEL_CREDITS; i++) {
    uint32_t seq = 99;
    CHECK_EQ_INT(poll_one(g, 0, &seq), 0);
    CHECK_EQ_INT(seq, i);
  }
  flow_buffer_t *b = NULL;
  CHECK_EQ_INT(flow_gate_poll(g, 0, &b), 0);
  flow_gate_free(g);
}

static void test_free_with_queued(void) {
  CTEST_CASE("free with queued buffers");
  flow_input_gate_t *g = flow_gate_new(3);
  for (int ch = 0; ch < 3; ch++)
    for (uint32_t i = 0; i < 3; i++) CHECK_EQ_INT(flow_gate_push(g, ch, data_buf((uint32_t)ch, i)), 0);
  CHECK_EQ_INT(flow_gate_push(g, 1, eop_buf()), 0);
  CHECK_EQ_INT(g->queued, 10);
  flow_gate_free(g); /* ASan reports a leak if queued buffers are not freed */
  flow_gate_free(NULL);
  CHECK(1);
}

/* ------------------------------------------------------ backpressure --- */

typedef struct {
  flow_input_gate_t *g;
  int channel;
  int n;
  atomic_int done; /* pushes that returned 0 */
  atomic_int rc;   /* first non-zero push result */
  atomic_int finished;
} producer_t;

static void producer_main(void *arg) {
  producer_t *p = arg;
  for (int i = 0; i < p->n; i++) {
    flow_buffer_t *b = data_buf((uint32_t)p->channel, (uint32_t)i);
    int rc = flow_gate_push(p->g, p->channel, b);
    if (rc != 0) {
      flow_buffer_free(b); /* still ours on failure */
      atomic_store(&p->rc, rc);
      break;
    }
    atomic_fetch_add(&p->done, 1);
  }
  atomic_store(&p->finished, 1);
}

static void test_backpressure(void) {
  CTEST_CASE("backpressure");
  flow_input_gate_t *g = flow_gate_new(2);
  producer_t p;
  memset(&p, 0, sizeof p);
  p.g = g;
  p.channel = 1;
  p.n = FLOW_CHANNEL_CREDITS + 3;
  uv_thread_t t;
  CHECK_EQ_INT(uv_thread_create(&t, producer_main, &p), 0);
  sleep_ms(50);
  CHECK_EQ_INT(atomic_load(&p.done), FLOW_CHANNEL_CREDITS);
  CHECK_EQ_INT(atomic_load(&p.finished), 0);
  /* Each poll frees one credit: the producer makes progress. */
  for (int i = 0; i < p.n; i++) {
    uint32_t seq = 99;
    CHECK_EQ_INT(poll_one(g, 2000, &seq), 1);
    CHECK_EQ_INT(seq, (uint32_t)i);
    if (i == 0) {
      /* exactly one more push may complete after one take */
      uint64_t until = uv_hrtime() + 2000u * 1000000u;
      while (atomic_load(&p.done) < FLOW_CHANNEL_CREDITS + 1 && uv_hrtime() < until) sleep_ms(1);
      CHECK_EQ_INT(atomic_load(&p.done), FLOW_CHANNEL_CREDITS + 1);
      sleep_ms(20);
      CHECK_EQ_INT(atomic_load(&p.done), FLOW_CHANNEL_CREDITS + 1);
    }
  }
  uv_thread_join(&t);
  CHECK_EQ_INT(atomic_load(&p.done), p.n);
  CHECK_EQ_INT(atomic_load(&p.rc), 0);
  CHECK(g->channels[1].queued <= FLOW_CHANNEL_CREDITS);
  CHECK_EQ_INT(g->queued, 0);
  /* other channel is unaffected by channel 1's backpressure */
  CHECK_EQ_INT(g->channels[0].queued, 0);
  flow_gate_free(g);
}

/* ------------------------------------------------------ cancellation --- */

typedef struct {
  flow_input_gate_t *g;
  atomic_int started, rc, finished;
} consumer_t;

static void consumer_main(void *arg) {
  consumer_t *c = arg;
  atomic_store(&c->started, 1);
  flow_buffer_t *b = NULL;
  int rc = flow_gate_poll(c->g, -1, &b);
  if (rc == 1) flow_buffer_free(b);
  atomic_store(&c->rc, rc);
  atomic_store(&c->finished, 1);
}

static void test_cancel(void) {
  CTEST_CASE("cancel wakes producer and consumer");
  /* producer blocked on a full channel */
  flow_input_gate_t *gp = flow_gate_new(1);
  producer_t p;
  memset(&p, 0, sizeof p);
  p.g = gp;
  p.channel = 0;
  p.n = FLOW_CHANNEL_CREDITS + 1;
  /* consumer blocked on an empty gate */
  flow_input_gate_t *gc = flow_gate_new(2);
  consumer_t c;
  memset(&c, 0, sizeof c);
  c.g = gc;
  atomic_store(&c.rc, 12345);

  uv_thread_t tp, tc;
  CHECK_EQ_INT(uv_thread_create(&tp, producer_main, &p), 0);
  CHECK_EQ_INT(uv_thread_create(&tc, consumer_main, &c), 0);
  sleep_ms(50);
  CHECK_EQ_INT(atomic_load(&p.done), FLOW_CHANNEL_CREDITS);
  CHECK_EQ_INT(atomic_load(&p.finished), 0);
  CHECK_EQ_INT(atomic_load(&c.started), 1);
  CHECK_EQ_INT(atomic_load(&c.finished), 0);

  flow_gate_cancel(gp);
  flow_gate_cancel(gc);
  uv_thread_join(&tp);
  uv_thread_join(&tc);
  CHECK_EQ_INT(atomic_load(&p.rc), FLOW_ECANCELED);
  CHECK_EQ_INT(atomic_load(&p.done), FLOW_CHANNEL_CREDITS);
  CHECK_EQ_INT(atomic_load(&c.rc), FLOW_ECANCELED);

  /* later pushes and polls fail; the buffer stays the caller's */
  flow_buffer_t *b = data_buf(0, 0);
  CHECK_EQ_INT(flow_gate_push(gc, 0, b), FLOW_ECANCELED);
  flow_buffer_free(b);
  b = eop_buf();
  CHECK_EQ_INT(flow_gate_push(gc, 1, b), FLOW_ECANCELED);
  flow_buffer_free(b);
  flow_buffer_t *out = NULL;
  CHECK_EQ_INT(flow_gate_poll(gp, 0, &out), FLOW_ECANCELED); /* even with data queued */
  CHECK_EQ_INT(flow_gate_poll(gc, -1, &out), FLOW_ECANCELED);
  CHECK_NULL(out);
  flow_gate_free(gp); /* still holds FLOW_CHANNEL_CREDITS buffers */
  flow_gate_free(gc);
}

/* ------------------------------------------------------------ stress --- */

#define STRESS_PRODUCERS 4
#define STRESS_N 2000

typedef struct {
  flow_input_gate_t *g;
  int channel;
  atomic_int rc;
} stress_producer_t;

static void stress_main(void *arg) {
  stress_producer_t *p = arg;
  for (int i = 0; i < STRESS_N; i++) {
    flow_buffer_t *b = data_buf((uint32_t)p->channel, (uint32_t)i);
    int rc = flow_gate_push(p->g, p->channel, b);
    if (rc != 0) {
      flow_buffer_free(b);
      atomic_store(&p->rc, rc);
      return;
    }
  }
  flow_buffer_t *e = eop_buf();
  int rc = flow_gate_push(p->g, p->channel, e);
  if (rc != 0) {
    flow_buffer_free(e);
    atomic_store(&p->rc, rc);
  }
}

static void test_stress(void) {
  CTEST_CASE("stress 4 producers");
  flow_input_gate_t *g = flow_gate_new(STRESS_PRODUCERS);
  stress_producer_t ps[STRESS_PRODUCERS];
  uv_thread_t ts[STRESS_PRODUCERS];
  for (int i = 0; i < STRESS_PRODUCERS; i++) {
    ps[i].g = g;
    ps[i].channel = i;
    atomic_store(&ps[i].rc, 0);
    CHECK_EQ_INT(uv_thread_create(&ts[i], stress_main, &ps[i]), 0);
  }
  uint32_t next[STRESS_PRODUCERS] = {0};
  int total = 0, order_errors = 0, tag_errors = 0, rc;
  flow_buffer_t *b = NULL;
  while ((rc = flow_gate_poll(g, 5000, &b)) == 1) {
    int ch = b->channel;
    if (ch < 0 || ch >= STRESS_PRODUCERS || buf_tag(b) != (uint32_t)ch) {
      tag_errors++;
    } else {
      if (buf_seq(b) != next[ch]) order_errors++;
      next[ch] = buf_seq(b) + 1;
    }
    total++;
    flow_buffer_free(b);
    b = NULL;
  }
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(total, STRESS_PRODUCERS * STRESS_N);
  CHECK_EQ_INT(order_errors, 0);
  CHECK_EQ_INT(tag_errors, 0);
  for (int i = 0; i < STRESS_PRODUCERS; i++) {
    uv_thread_join(&ts[i]);
    CHECK_EQ_INT(next[i], STRESS_N);
    CHECK_EQ_INT(atomic_load(&ps[i].rc), 0);
  }
  CHECK_EQ_INT(g->n_finished, STRESS_PRODUCERS);
  CHECK_EQ_INT(flow_gate_poll(g, 0, &b), 0);
  flow_gate_free(g);
}

int main(void) {
  test_fifo_per_channel();
  test_round_robin();
  test_end_of_partition();
  test_timeout();
  test_eop_when_full();
  test_free_with_queued();
  test_backpressure();
  test_cancel();
  test_stress();
  return CTEST_SUMMARY();
}
