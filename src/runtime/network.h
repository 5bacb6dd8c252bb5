/* The network stack of one job run (one attempt of the whole job): an
 * InputGate per consuming subtask, and the mapping from a producer's
 * (output edge, target subtask) to (gate, channel). Flink: the
 * ShuffleEnvironment's ResultPartitions and InputGates; here in-process.
 *
 * Channel layout: the gate of subtask s of vertex v has, for each job edge
 * into v in job-graph order, one channel per producer subtask:
 * channel = offset(edge) + producer subtask. Every producer sends
 * end-of-partition on every channel of every output edge when it finishes,
 * also on channels a pointwise partitioner (forward, rescale) never uses.
 *
 * Thread safety: immutable after creation except the gates (own locks) and
 * the collect list (collect_mu, a leaf lock). */
#ifndef FLOW_RUNTIME_NETWORK_H
#define FLOW_RUNTIME_NETWORK_H

#include <stdatomic.h>
#include <uv.h>

#include "graph/job_graph.h"
#include "runtime/input_gate.h"

typedef struct flow_job_network {
  const flow_job_graph_t *jg; /* borrowed */
  flow_input_gate_t ***gates; /* [vertex id - 1][subtask], NULL for vertices without inputs */
  int *edge_offset;           /* [job edge index]: first channel in the target's gate */
  int *n_channels;            /* [vertex id - 1] */
  uv_mutex_t collect_mu;
  flow_buffer_t *collect_head, *collect_tail; /* execute_and_collect results */
  size_t collect_bytes;
  _Atomic int64_t collect_count; /* records collected, over all subtasks */
  /* [vertex id - 1]: the next input split of a file source whose subtasks
   * take splits on request (Flink's InputSplitAssigner, in-process only) */
  _Atomic int64_t *split_next;
  /* the pending checkpoint's directory, for tasks that learn its id from a
   * barrier (checkpoint_mu is a leaf lock) */
  uv_mutex_t checkpoint_mu;
  int64_t checkpoint_id;
  char *checkpoint_dir;
} flow_job_network_t;

flow_job_network_t *flow_network_new(const flow_job_graph_t *jg);
void flow_network_free(flow_job_network_t *net);
flow_input_gate_t *flow_network_gate(flow_job_network_t *net, int vertex, int subtask);
/* Cancels every gate: blocked producers and consumers return FLOW_ECANCELED. */
void flow_network_cancel(flow_job_network_t *net);
/* Appends b (ownership passes) to the collected results. */
void flow_network_collect(flow_job_network_t *net, flow_buffer_t *b);
/* The same, unless the results would exceed max_bytes: then FLOW_EFULL and
 * b stays the caller's. */
int flow_network_collect_bounded(flow_job_network_t *net, flow_buffer_t *b, size_t max_bytes);
/* Takes the collected buffers (a list linked by ->next); the caller frees them. */
flow_buffer_t *flow_network_take_collected(flow_job_network_t *net);

#endif
