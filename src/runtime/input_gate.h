/* InputGate: the receiving side of every channel into one subtask.
 *
 * Each input channel (one per upstream subtask per input edge) is a bounded
 * FIFO of buffers: a producer that finds its channel full blocks until the
 * consumer took a buffer (credit-based backpressure, as Flink's exclusive
 * buffers). The consumer polls all channels round-robin.
 *
 * Locking: one mutex per gate guards every field below; it is a leaf lock
 * (nothing else is locked while holding it). */
#ifndef FLOW_RUNTIME_INPUT_GATE_H
#define FLOW_RUNTIME_INPUT_GATE_H

#include <uv.h>

#include "runtime/buffer.h"

#define FLOW_CHANNEL_CREDITS 4 /* buffers a channel may hold */

typedef struct flow_input_channel {
  flow_buffer_t *head, *tail;
  int queued;   /* buffers in the queue */
  int input;    /* which logical input (0, or 1 for a two-input operator's second) */
  int finished; /* end of partition was consumed */
  int blocked;  /* checkpoint alignment: not read until unblocked */
  int eop_offered; /* flow_gate_offer queued its end of partition */
} flow_input_channel_t;

typedef struct flow_input_gate {
  uv_mutex_t mu;
  uv_cond_t readable; /* signalled when a buffer is queued or the gate is canceled */
  uv_cond_t writable; /* signalled when a buffer is taken or the gate is canceled */
  flow_input_channel_t *channels;
  int n_channels;
  int n_finished;
  int queued;   /* sum over channels */
  int cursor;   /* next channel to look at (fairness) */
  int canceled;
  /* cluster mode (set before any thread uses the gate, then immutable):
   * on_push after a buffer was queued, on_take after one was dequeued by
   * poll (the channel's credit is free again); both called without mu held,
   * from whichever thread pushed or polled */
  void (*on_push)(struct flow_input_gate *g, int channel, void *ud);
  void (*on_take)(struct flow_input_gate *g, int channel, void *ud);
  void *hook_data;
} flow_input_gate_t;

flow_input_gate_t *flow_gate_new(int n_channels);
/* Frees queued buffers too. No thread may use the gate any more. */
void flow_gate_free(flow_input_gate_t *g);
void flow_gate_set_input(flow_input_gate_t *g, int channel, int input);
/* Producer side: queues b on channel, blocking while the channel holds
 * FLOW_CHANNEL_CREDITS buffers. Takes ownership of b on success. Returns 0,
 * or FLOW_ECANCELED (b still owned by the caller) once the gate is canceled. */
int flow_gate_push(flow_input_gate_t *g, int channel, flow_buffer_t *b);
/* flow_gate_push that counts a wait for credit as backpressure: *since_ns
 * is set while it waits (readers see isBackPressured), the wait is added
 * to *total_ns after (task thread alone writes both). */
int flow_gate_push_timed(flow_input_gate_t *g, int channel, flow_buffer_t *b, int64_t *since_ns, int64_t *total_ns);
/* Consumer side: the next data buffer, with b->channel set, blocking until
 * one is there. End-of-partition events are consumed here. timeout_ms < 0
 * waits forever. Returns 1 and *out, 0 when every channel has finished,
 * FLOW_ECANCELED when canceled, or FLOW_ETIMEDOUT when
 * timeout_ms passed with nothing to read. */
int flow_gate_poll(flow_input_gate_t *g, int64_t timeout_ms, flow_buffer_t **out);
/* flow_gate_poll that counts a wait for input as idle time, as
 * flow_gate_push_timed counts backpressure. */
int flow_gate_poll_timed(flow_input_gate_t *g, int64_t timeout_ms, flow_buffer_t **out, int64_t *since_ns,
                         int64_t *total_ns);
/* Checkpoint barrier alignment (consumer thread): a blocked channel is not
 * read; poll returns FLOW_EBLOCKED when every channel still open is blocked. */
void flow_gate_block(flow_input_gate_t *g, int channel);
void flow_gate_unblock_all(flow_input_gate_t *g);
int flow_gate_channel_finished(flow_input_gate_t *g, int channel);
/* Its end of partition has arrived (consumed, or queued by flow_gate_offer). */
int flow_gate_channel_complete(flow_input_gate_t *g, int channel);
/* Cluster mode: a gate standing for a remote consumer is drained channel by
 * channel by the network thread: the next buffer of channel (events
 * included) without blocking. 1 and *out, 0 when empty, FLOW_ECANCELED. */
int flow_gate_take_channel(flow_input_gate_t *g, int channel, flow_buffer_t **out);
/* Cluster mode, receiving side: queues b without blocking. FLOW_EFULL when
 * a data buffer finds the channel at its credit (the sender overran the
 * credits it was granted), FLOW_EINVAL for anything after the channel's end
 * of partition, FLOW_ECANCELED; b stays the caller's on error. */
int flow_gate_offer(flow_input_gate_t *g, int channel, flow_buffer_t *b);

/* Wakes every waiter; later pushes and polls return FLOW_ECANCELED. */
void flow_gate_cancel(flow_input_gate_t *g);

#endif
