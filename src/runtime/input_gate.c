#include "runtime/input_gate.h"

#include <stdlib.h>

#include "runtime/task_metrics.h"
#include "util/common.h"

flow_input_gate_t *flow_gate_new(int n_channels) {
  flow_input_gate_t *g = calloc(1, sizeof(*g));
  if (g == NULL) return NULL;
  g->channels = calloc(n_channels > 0 ? (size_t)n_channels : 1, sizeof(*g->channels));
  if (g->channels == NULL || uv_mutex_init(&g->mu) != 0) {
    free(g->channels);
    free(g);
    return NULL;
  }
  uv_cond_init(&g->readable);
  uv_cond_init(&g->writable);
  g->n_channels = n_channels;
  return g;
}

void flow_gate_free(flow_input_gate_t *g) {
  if (g == NULL) return;
  for (int i = 0; i < g->n_channels; i++) {
    flow_buffer_t *b = g->channels[i].head;
    while (b != NULL) {
      flow_buffer_t *next = b->next;
      flow_buffer_free(b);
      b = next;
    }
  }
  uv_cond_destroy(&g->readable);
  uv_cond_destroy(&g->writable);
  uv_mutex_destroy(&g->mu);
  free(g->channels);
  free(g);
}

void flow_gate_set_input(flow_input_gate_t *g, int channel, int input) {
  g->channels[channel].input = input;
}

/* With g->mu held: appends b to channel's queue and wakes the consumer. */
static void enqueue(flow_input_gate_t *g, int channel, flow_buffer_t *b) {
  flow_input_channel_t *ch = &g->channels[channel];
  b->next = NULL;
  b->channel = channel;
  if (ch->tail != NULL) ch->tail->next = b;
  else ch->head = b;
  ch->tail = b;
  ch->queued++;
  g->queued++;
  uv_cond_signal(&g->readable);
}

int flow_gate_push(flow_input_gate_t *g, int channel, flow_buffer_t *b) {
  return flow_gate_push_timed(g, channel, b, NULL, NULL);
}

int flow_gate_push_timed(flow_input_gate_t *g, int channel, flow_buffer_t *b, int64_t *since_ns, int64_t *total_ns) {
  flow_input_channel_t *ch = &g->channels[channel];
  uv_mutex_lock(&g->mu);
  /* Events are never refused for lack of credit: a producer must always be
   * able to say it finished, or shutdown could deadlock. */
  if (since_ns != NULL && !g->canceled && ch->queued >= FLOW_CHANNEL_CREDITS && b->kind == FLOW_BUF_DATA)
    flow_task_metrics_wait_begin(since_ns); /* backpressured from here */
  while (!g->canceled && ch->queued >= FLOW_CHANNEL_CREDITS && b->kind == FLOW_BUF_DATA)
    uv_cond_wait(&g->writable, &g->mu);
  if (since_ns != NULL) flow_task_metrics_wait_end(since_ns, total_ns);
  if (g->canceled) {
    uv_mutex_unlock(&g->mu);
    return FLOW_ECANCELED;
  }
  enqueue(g, channel, b);
  uv_mutex_unlock(&g->mu);
  if (g->on_push != NULL) g->on_push(g, channel, g->hook_data);
  return 0;
}

int flow_gate_offer(flow_input_gate_t *g, int channel, flow_buffer_t *b) {
  flow_input_channel_t *ch = &g->channels[channel];
  uv_mutex_lock(&g->mu);
  int rc = g->canceled ? FLOW_ECANCELED
           : b->kind == FLOW_BUF_DATA ? (ch->eop_offered ? FLOW_EINVAL : ch->queued >= FLOW_CHANNEL_CREDITS ? FLOW_EFULL : 0)
           : ch->eop_offered ? FLOW_EINVAL
                             : 0;
  if (rc == 0) {
    if (b->kind != FLOW_BUF_DATA) ch->eop_offered = 1;
    enqueue(g, channel, b);
  }
  uv_mutex_unlock(&g->mu);
  return rc;
}

int flow_gate_take_channel(flow_input_gate_t *g, int channel, flow_buffer_t **out) {
  flow_input_channel_t *ch = &g->channels[channel];
  uv_mutex_lock(&g->mu);
  if (g->canceled) {
    uv_mutex_unlock(&g->mu);
    return FLOW_ECANCELED;
  }
  flow_buffer_t *b = ch->head;
  if (b != NULL) {
    ch->head = b->next;
    if (ch->head == NULL) ch->tail = NULL;
    b->next = NULL;
    ch->queued--;
    g->queued--;
    uv_cond_broadcast(&g->writable);
  }
  uv_mutex_unlock(&g->mu);
  if (b == NULL) return 0;
  *out = b;
  return 1;
}

/* Called with g->mu held and g->queued > 0: dequeues from the next non-empty
 * channel after the cursor. */
static flow_buffer_t *gate_take(flow_input_gate_t *g) {
  for (int k = 0; k < g->n_channels; k++) {
    int i = (g->cursor + k) % g->n_channels;
    flow_input_channel_t *ch = &g->channels[i];
    flow_buffer_t *b = ch->head;
    if (b == NULL || ch->blocked) continue;
    ch->head = b->next;
    if (ch->head == NULL) ch->tail = NULL;
    b->next = NULL;
    ch->queued--;
    g->queued--;
    g->cursor = i + 1;
    return b;
  }
  return NULL;
}

static int gate_poll(flow_input_gate_t *g, int64_t timeout_ms, flow_buffer_t **out, int64_t *since_ns);

int flow_gate_poll(flow_input_gate_t *g, int64_t timeout_ms, flow_buffer_t **out) {
  return flow_gate_poll_timed(g, timeout_ms, out, NULL, NULL);
}

int flow_gate_poll_timed(flow_input_gate_t *g, int64_t timeout_ms, flow_buffer_t **out, int64_t *since_ns,
                         int64_t *total_ns) {
  int rc = gate_poll(g, timeout_ms, out, since_ns);
  if (since_ns != NULL) flow_task_metrics_wait_end(since_ns, total_ns);
  return rc;
}

/* flow_gate_poll; a wait for input marks since_ns (if not NULL) */
static int gate_poll(flow_input_gate_t *g, int64_t timeout_ms, flow_buffer_t **out, int64_t *since_ns) {
  uint64_t deadline = timeout_ms >= 0 ? uv_hrtime() + (uint64_t)timeout_ms * 1000000u : 0;
  uv_mutex_lock(&g->mu);
  for (;;) {
    if (g->canceled) {
      uv_mutex_unlock(&g->mu);
      return FLOW_ECANCELED;
    }
    flow_buffer_t *b = g->queued > 0 ? gate_take(g) : NULL;
    if (b != NULL) {
      uv_cond_broadcast(&g->writable); /* producers of several channels may wait */
      if (b->kind == FLOW_BUF_END_OF_PARTITION) {
        if (!g->channels[b->channel].finished) g->n_finished++; /* at most once per channel */
        g->channels[b->channel].finished = 1;
        flow_buffer_free(b);
        continue;
      }
      uv_mutex_unlock(&g->mu);
      if (g->on_take != NULL) g->on_take(g, b->channel, g->hook_data);
      *out = b;
      return 1;
    }
    if (g->n_finished == g->n_channels) {
      uv_mutex_unlock(&g->mu);
      return 0;
    }
    int open = 0;
    for (int i = 0; i < g->n_channels; i++)
      if (!g->channels[i].finished && !g->channels[i].blocked) open++;
    if (open == 0) { /* alignment waits for channels that will never send */
      uv_mutex_unlock(&g->mu);
      return FLOW_EBLOCKED;
    }
    if (timeout_ms != 0 && since_ns != NULL && *since_ns == 0) flow_task_metrics_wait_begin(since_ns); /* idle */
    if (timeout_ms < 0) {
      uv_cond_wait(&g->readable, &g->mu);
    } else {
      uint64_t now = uv_hrtime();
      if (now >= deadline) {
        uv_mutex_unlock(&g->mu);
        return FLOW_ETIMEDOUT;
      }
      (void)uv_cond_timedwait(&g->readable, &g->mu, deadline - now);
    }
  }
}

void flow_gate_block(flow_input_gate_t *g, int channel) {
  uv_mutex_lock(&g->mu);
  g->channels[channel].blocked = 1;
  uv_mutex_unlock(&g->mu);
}

void flow_gate_unblock_all(flow_input_gate_t *g) {
  uv_mutex_lock(&g->mu);
  for (int i = 0; i < g->n_channels; i++) g->channels[i].blocked = 0;
  uv_cond_broadcast(&g->readable);
  uv_mutex_unlock(&g->mu);
}

int flow_gate_channel_finished(flow_input_gate_t *g, int channel) {
  uv_mutex_lock(&g->mu);
  int f = g->channels[channel].finished;
  uv_mutex_unlock(&g->mu);
  return f;
}

int flow_gate_channel_complete(flow_input_gate_t *g, int channel) {
  uv_mutex_lock(&g->mu);
  int f = g->channels[channel].finished || g->channels[channel].eop_offered;
  uv_mutex_unlock(&g->mu);
  return f;
}

void flow_gate_cancel(flow_input_gate_t *g) {
  uv_mutex_lock(&g->mu);
  g->canceled = 1;
  uv_cond_broadcast(&g->readable);
  uv_cond_broadcast(&g->writable);
  uv_mutex_unlock(&g->mu);
}
