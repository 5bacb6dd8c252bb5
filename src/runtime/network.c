#include "runtime/network.h"

#include <stdlib.h>

#include "util/common.h"

flow_job_network_t *flow_network_new(const flow_job_graph_t *jg) {
  flow_job_network_t *net = flow_xcalloc(1, sizeof(*net));
  net->jg = jg;
  net->gates = flow_xcalloc((size_t)jg->n_vertices, sizeof(*net->gates));
  net->n_channels = flow_xcalloc((size_t)jg->n_vertices, sizeof(int));
  net->edge_offset = flow_xcalloc((size_t)jg->n_edges, sizeof(int));
  for (int e = 0; e < jg->n_edges; e++) {
    const flow_job_edge_t *je = &jg->edges[e];
    net->edge_offset[e] = net->n_channels[je->target - 1];
    net->n_channels[je->target - 1] += jg->vertices[je->source - 1].parallelism;
  }
  for (int v = 0; v < jg->n_vertices; v++) {
    if (net->n_channels[v] == 0) continue;
    int p = jg->vertices[v].parallelism;
    net->gates[v] = flow_xcalloc((size_t)p, sizeof(flow_input_gate_t *));
    for (int s = 0; s < p; s++) {
      flow_input_gate_t *g = flow_gate_new(net->n_channels[v]);
      if (g == NULL) abort();
      net->gates[v][s] = g;
    }
  }
  for (int e = 0; e < jg->n_edges; e++) {
    const flow_job_edge_t *je = &jg->edges[e];
    int input = je->type_number > 1 ? je->type_number - 1 : 0;
    int ps = jg->vertices[je->source - 1].parallelism;
    for (int s = 0; s < jg->vertices[je->target - 1].parallelism; s++)
      for (int i = 0; i < ps; i++)
        flow_gate_set_input(net->gates[je->target - 1][s], net->edge_offset[e] + i, input);
  }
  net->split_next = flow_xcalloc((size_t)jg->n_vertices, sizeof(*net->split_next));
  uv_mutex_init(&net->collect_mu);
  uv_mutex_init(&net->checkpoint_mu);
  return net;
}

void flow_network_free(flow_job_network_t *net) {
  if (net == NULL) return;
  for (int v = 0; v < net->jg->n_vertices; v++) {
    if (net->gates[v] == NULL) continue;
    for (int s = 0; s < net->jg->vertices[v].parallelism; s++) flow_gate_free(net->gates[v][s]);
    free(net->gates[v]);
  }
  flow_buffer_t *b = net->collect_head;
  while (b != NULL) {
    flow_buffer_t *next = b->next;
    flow_buffer_free(b);
    b = next;
  }
  uv_mutex_destroy(&net->collect_mu);
  uv_mutex_destroy(&net->checkpoint_mu);
  free(net->checkpoint_dir);
  free((void *)net->split_next);
  free(net->gates);
  free(net->n_channels);
  free(net->edge_offset);
  free(net);
}

flow_input_gate_t *flow_network_gate(flow_job_network_t *net, int vertex, int subtask) {
  flow_input_gate_t **gs = net->gates[vertex - 1];
  return gs != NULL ? gs[subtask] : NULL;
}

void flow_network_cancel(flow_job_network_t *net) {
  for (int v = 0; v < net->jg->n_vertices; v++) {
    if (net->gates[v] == NULL) continue;
    for (int s = 0; s < net->jg->vertices[v].parallelism; s++) flow_gate_cancel(net->gates[v][s]);
  }
}

void flow_network_collect(flow_job_network_t *net, flow_buffer_t *b) {
  (void)flow_network_collect_bounded(net, b, (size_t)-1);
}

int flow_network_collect_bounded(flow_job_network_t *net, flow_buffer_t *b, size_t max_bytes) {
  b->next = NULL;
  uv_mutex_lock(&net->collect_mu);
  if (net->collect_bytes + b->size > max_bytes) {
    uv_mutex_unlock(&net->collect_mu);
    return FLOW_EFULL;
  }
  if (net->collect_tail != NULL) net->collect_tail->next = b;
  else net->collect_head = b;
  net->collect_tail = b;
  net->collect_bytes += b->size;
  uv_mutex_unlock(&net->collect_mu);
  return 0;
}

flow_buffer_t *flow_network_take_collected(flow_job_network_t *net) {
  uv_mutex_lock(&net->collect_mu);
  flow_buffer_t *b = net->collect_head;
  net->collect_head = net->collect_tail = NULL;
  net->collect_bytes = 0;
  uv_mutex_unlock(&net->collect_mu);
  return b;
}
