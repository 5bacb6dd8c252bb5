/* JobGraph: operator chaining as Flink's StreamingJobGraphGenerator.
 *
 * isChainable(edge): the target has exactly one input; both ends are in the
 * same slot sharing group; the upstream chaining strategy is not NEVER; the
 * downstream one is ALWAYS (and it is not a source); the edge is FORWARD;
 * parallelism and max parallelism are equal; chaining is enabled.
 *
 * createChain: every node without a chainable input heads a chain (job
 * vertex); the chain holds the nodes reachable from the head over chainable
 * edges, in depth-first pre-order with out-edges in insertion order. Since a
 * chainable edge's target has one input, chains are trees and each node is in
 * exactly one chain. Names follow createChainedName: "A", "A -> B",
 * "A -> (B, C)", recursively. */
#include "graph/job_graph.h"

#include "util/common.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>

static int resolved_max(const flow_stream_graph_t *sg, const flow_stream_node_t *n) {
  return n->max_parallelism ? n->max_parallelism : sg->max_parallelism;
}

static int chainable_with_indegree(const flow_stream_graph_t *sg, const flow_stream_edge_t *e,
                                   int target_inputs) {
  const flow_stream_node_t *up = flow_sg_node(sg, e->source);
  const flow_stream_node_t *down = flow_sg_node(sg, e->target);
  if (up == NULL || down == NULL || up == down) return 0;
  return target_inputs == 1 && sg->chaining_enabled &&
         strcmp(up->slot_sharing_group, down->slot_sharing_group) == 0 &&
         up->chaining != FLOW_CHAIN_NEVER && down->chaining == FLOW_CHAIN_ALWAYS &&
         !down->is_source && e->part == FLOW_PART_FORWARD &&
         up->parallelism == down->parallelism && resolved_max(sg, up) == resolved_max(sg, down);
}

int flow_jg_is_chainable(const flow_stream_graph_t *sg, const flow_stream_edge_t *e) {
  if (sg == NULL || e == NULL) return 0;
  int inputs = 0;
  for (int i = 0; i < sg->n_edges; i++)
    if (sg->edges[i].target == e->target) inputs++;
  return chainable_with_indegree(sg, e, inputs);
}

const flow_job_vertex_t *flow_jg_vertex(const flow_job_graph_t *jg, int id) {
  if (jg == NULL || id < 1 || id > jg->n_vertices) return NULL;
  return &jg->vertices[id - 1];
}

void flow_jg_free(flow_job_graph_t *jg) {
  if (jg == NULL) return;
  for (int i = 0; i < jg->n_vertices; i++) {
    free(jg->vertices[i].name);
    free(jg->vertices[i].slot_sharing_group);
    free(jg->vertices[i].ops);
  }
  free(jg->vertices);
  free(jg->edges);
  free(jg->vertex_of_node);
  free(jg);
}

flow_job_graph_t *flow_jg_build(flow_stream_graph_t *sg, char *err, size_t errlen) {
  if (flow_sg_finalize(sg, err, errlen) != 0) return NULL;
  const int n = sg->n_nodes, ne = sg->n_edges;

  /* in-degrees, chainability per edge, chainable out-edges per node (CSR) */
  int *indeg = flow_xcalloc((size_t)n + 1, sizeof(int));
  for (int i = 0; i < ne; i++) indeg[sg->edges[i].target]++;
  char *chainable = flow_xcalloc((size_t)ne + 1, 1);
  int *is_head = flow_xcalloc((size_t)n + 1, sizeof(int));
  int *cstart = flow_xcalloc((size_t)n + 2, sizeof(int));
  int *cout = flow_xcalloc((size_t)ne + 1, sizeof(int)); /* target node ids */
  int *fill = flow_xcalloc((size_t)n + 2, sizeof(int));
  for (int v = 1; v <= n; v++) is_head[v] = 1;
  for (int i = 0; i < ne; i++) {
    const flow_stream_edge_t *e = &sg->edges[i];
    chainable[i] = (char)chainable_with_indegree(sg, e, indeg[e->target]);
    if (chainable[i]) {
      is_head[e->target] = 0;
      cstart[e->source + 1]++;
    }
  }
  for (int v = 1; v <= n + 1; v++) cstart[v] += cstart[v - 1];
  for (int i = 0; i < ne; i++) {
    if (!chainable[i]) continue;
    int s = sg->edges[i].source;
    cout[cstart[s] + fill[s]++] = sg->edges[i].target;
  }

  flow_job_graph_t *jg = flow_xcalloc(1, sizeof *jg);
  jg->sg = sg;
  jg->vertex_of_node = flow_xcalloc((size_t)n + 1, sizeof(int));
  int nv = 0;
  for (int v = 1; v <= n; v++) nv += is_head[v];
  jg->vertices = flow_xcalloc((size_t)nv, sizeof *jg->vertices);

  /* chains: pre-order from each head; names built in reverse pre-order so
   * that every chained output is named before its predecessor */
  int *stack = flow_xcalloc((size_t)n + 1, sizeof(int));
  int *order = flow_xcalloc((size_t)n + 1, sizeof(int));
  char **names = flow_xcalloc((size_t)n + 1, sizeof(char *));
  for (int head = 1; head <= n; head++) {
    if (!is_head[head]) continue;
    flow_job_vertex_t *jv = &jg->vertices[jg->n_vertices++];
    const flow_stream_node_t *hn = flow_sg_node(sg, head);
    jv->id = jg->n_vertices;
    jv->parallelism = hn->parallelism;
    jv->max_parallelism = hn->max_parallelism;
    jv->slot_sharing_group = flow_strdup(hn->slot_sharing_group);
    if (jv->slot_sharing_group == NULL) jv->slot_sharing_group = flow_xcalloc(1, 1);

    int sp = 0, cnt = 0;
    stack[sp++] = head;
    while (sp > 0) {
      int v = stack[--sp];
      order[cnt++] = v;
      jg->vertex_of_node[v] = jv->id;
      for (int k = cstart[v + 1] - 1; k >= cstart[v]; k--) stack[sp++] = cout[k];
    }
    jv->n_ops = cnt;
    jv->ops = flow_xmalloc((size_t)cnt * sizeof(int));
    memcpy(jv->ops, order, (size_t)cnt * sizeof(int));

    for (int i = cnt - 1; i >= 0; i--) {
      int v = order[i], nout = cstart[v + 1] - cstart[v];
      flow_strbuf_t b = {0};
      sb_puts(&b, flow_sg_node(sg, v)->name);
      /* each chained output has exactly one predecessor: its name is used
       * once, here, and freed (keeps long chains linear in memory) */
      if (nout == 1) {
        sb_puts(&b, " -> ");
        sb_puts(&b, names[cout[cstart[v]]]);
      } else if (nout > 1) {
        sb_puts(&b, " -> (");
        for (int k = cstart[v]; k < cstart[v + 1]; k++) {
          if (k > cstart[v]) sb_puts(&b, ", ");
          sb_puts(&b, names[cout[k]]);
        }
        sb_putc(&b, ')');
      }
      for (int k = cstart[v]; k < cstart[v + 1]; k++) {
        free(names[cout[k]]);
        names[cout[k]] = NULL;
      }
      names[v] = sb_take(&b);
    }
    jv->name = names[head];
    names[head] = NULL;
  }

  /* job edges: the non-chained stream edges, by source vertex, then in
   * stream-edge order (counting sort, stable) */
  int n_je = 0;
  int *vstart = flow_xcalloc((size_t)nv + 2, sizeof(int));
  for (int i = 0; i < ne; i++) {
    if (chainable[i]) continue;
    n_je++;
    vstart[jg->vertex_of_node[sg->edges[i].source] + 1]++;
  }
  for (int v = 1; v <= nv + 1; v++) vstart[v] += vstart[v - 1];
  jg->edges = flow_xcalloc((size_t)n_je + 1, sizeof *jg->edges);
  jg->n_edges = n_je;
  for (int i = 0; i < ne; i++) {
    if (chainable[i]) continue;
    const flow_stream_edge_t *e = &sg->edges[i];
    int sv = jg->vertex_of_node[e->source];
    flow_job_edge_t *je = &jg->edges[vstart[sv]++];
    je->source = sv;
    je->target = jg->vertex_of_node[e->target];
    je->source_node = e->source;
    je->target_node = e->target;
    je->part = e->part;
    je->type_number = e->type_number;
  }

  /* slots: per slot sharing group the largest vertex parallelism, summed */
  jg->slots_required = 0;
  for (int i = 0; i < nv; i++) {
    const flow_job_vertex_t *a = &jg->vertices[i];
    int seen = 0, best = a->parallelism;
    for (int j = 0; j < nv && !seen; j++) {
      const flow_job_vertex_t *b = &jg->vertices[j];
      if (strcmp(a->slot_sharing_group, b->slot_sharing_group) != 0) continue;
      if (j < i) seen = 1;
      else if (b->parallelism > best) best = b->parallelism;
    }
    if (!seen) jg->slots_required += best;
  }

  free(indeg);
  free(chainable);
  free(is_head);
  free(cstart);
  free(cout);
  free(fill);
  free(stack);
  free(order);
  free(names);
  free(vstart);
  return jg;
}
