/* JobNetwork tests: gates and channel layout built from a JobGraph
 * (channel = edge_offset(edge) + producer subtask), logical inputs of
 * two-input operators, cancellation and the collect list. */
#include "util/common.h"
#include "graph/job_graph.h"
#include "graph/stream_graph.h"
#include "runtime/buffer.h"
#include "runtime/input_gate.h"
#include "runtime/network.h"

#include "ctest_assert.h"

#include <stdlib.h>
#include <string.h>

static char err[1024];

static int add(flow_stream_graph_t *sg, const char *name, const char *kind, int par, int is_source) {
  flow_stream_node_desc_t d;
  memset(&d, 0, sizeof d);
  d.name = name;
  d.kind = kind;
  d.parallelism = par;
  d.chaining = is_source ? FLOW_CHAIN_HEAD : FLOW_CHAIN_ALWAYS;
  d.is_source = is_source;
  int id = flow_sg_add_node(sg, &d);
  CHECK(id >= 1);
  return id;
}

static flow_job_graph_t *build(flow_stream_graph_t *sg) {
  err[0] = '\0';
  flow_job_graph_t *jg = flow_jg_build(sg, err, sizeof err);
  CHECK_NOT_NULL(jg);
  if (jg == NULL) printf("  (build error: %s)\n", err);
  return jg;
}

static flow_buffer_t *buf_of(const char *s) {
  flow_buffer_t *b = flow_buffer_new(64);
  if (b == NULL) abort();
  size_t n = strlen(s);
  memcpy(b->data, s, n);
  b->size = (uint32_t)n;
  b->kind = FLOW_BUF_DATA;
  return b;
}

/* source p=2 --hash--> reduce p=3 -> sink (chained) */
static void test_hash_layout(void) {
  CTEST_CASE("source p2 -> hash -> reduce p3 -> sink");
  flow_stream_graph_t *sg = flow_sg_new("hash");
  int s = add(sg, "Source: S", "source", 2, 1);
  int r = add(sg, "Reduce", "reduce", 3, 0);
  int k = add(sg, "Sink", "sink", 3, 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, s, r, FLOW_PART_HASH, 1, 0), 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, r, k, FLOW_PART_FORWARD, 0, 0), 0);
  flow_job_graph_t *jg = build(sg);
  if (jg != NULL) {
    CHECK_EQ_INT(jg->n_vertices, 2);
    CHECK_EQ_INT(jg->n_edges, 1);
    flow_job_network_t *net = flow_network_new(jg);
    CHECK_NOT_NULL(net);
    CHECK(net->jg == jg);
    /* source vertex: no inputs, no gates */
    CHECK_NULL(net->gates[0]);
    CHECK_EQ_INT(net->n_channels[0], 0);
    for (int st = 0; st < 2; st++) CHECK_NULL(flow_network_gate(net, 1, st));
    /* reduce -> sink: one gate per subtask, 2 channels each */
    CHECK_NOT_NULL(net->gates[1]);
    CHECK_EQ_INT(net->n_channels[1], 2);
    CHECK_EQ_INT(net->edge_offset[0], 0);
    for (int st = 0; st < 3; st++) {
      flow_input_gate_t *g = flow_network_gate(net, 2, st);
      CHECK_NOT_NULL(g);
      if (g == NULL) continue;
      CHECK(g == net->gates[1][st]);
      CHECK_EQ_INT(g->n_channels, 2);
      for (int c = 0; c < 2; c++) CHECK_EQ_INT(g->channels[c].input, 0);
      for (int o = 0; o < st; o++) CHECK(g != flow_network_gate(net, 2, o)); /* distinct gates */
    }
    /* the gates work: producer subtask 1 sends to reduce subtask 2 */
    flow_input_gate_t *g = flow_network_gate(net, 2, 2);
    if (g != NULL) {
      int ch = net->edge_offset[0] + 1;
      CHECK_EQ_INT(flow_gate_push(g, ch, buf_of("x")), 0);
      flow_buffer_t *b = NULL;
      CHECK_EQ_INT(flow_gate_poll(g, 0, &b), 1);
      if (b != NULL) {
        CHECK_EQ_INT(b->channel, 1);
        flow_buffer_free(b);
      }
      /* left queued: flow_network_free frees it */
      CHECK_EQ_INT(flow_gate_push(g, 0, buf_of("left")), 0);
    }
    flow_network_free(net);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

/* union: S1 p=2 and S2 p=3 both into map p=4 -> sink */
static void test_union_layout(void) {
  CTEST_CASE("union of two sources into one map");
  flow_stream_graph_t *sg = flow_sg_new("union");
  int s1 = add(sg, "Source: A", "source", 2, 1);
  int s2 = add(sg, "Source: B", "source", 3, 1);
  int m = add(sg, "Map", "map", 4, 0);
  int k = add(sg, "Sink", "sink", 4, 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, s1, m, FLOW_PART_REBALANCE, 0, 0), 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, s2, m, FLOW_PART_REBALANCE, 0, 0), 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, m, k, FLOW_PART_FORWARD, 0, 0), 0);
  flow_job_graph_t *jg = build(sg);
  if (jg != NULL) {
    CHECK_EQ_INT(jg->n_vertices, 3);
    CHECK_EQ_INT(jg->n_edges, 2);
    flow_job_network_t *net = flow_network_new(jg);
    int mv = jg->vertex_of_node[m];
    CHECK_EQ_INT(mv, 3);
    CHECK_NULL(net->gates[jg->vertex_of_node[s1] - 1]);
    CHECK_NULL(net->gates[jg->vertex_of_node[s2] - 1]);
    CHECK_EQ_INT(net->n_channels[mv - 1], 2 + 3);
    /* offsets follow job-edge order; each starts after the previous edge's channels */
    int expect = 0;
    for (int e = 0; e < jg->n_edges; e++) {
      CHECK_EQ_INT(jg->edges[e].target, mv);
      CHECK_EQ_INT(net->edge_offset[e], expect);
      expect += jg->vertices[jg->edges[e].source - 1].parallelism;
    }
    CHECK_EQ_INT(expect, 5);
    /* job edges are ordered by source vertex: A (p=2) first */
    CHECK_EQ_INT(jg->edges[0].source, jg->vertex_of_node[s1]);
    CHECK_EQ_INT(net->edge_offset[1], 2);
    for (int st = 0; st < 4; st++) {
      flow_input_gate_t *g = flow_network_gate(net, mv, st);
      CHECK_NOT_NULL(g);
      if (g != NULL) CHECK_EQ_INT(g->n_channels, 5);
    }
    /* EOP on all 5 channels of one gate finishes it */
    flow_input_gate_t *g = flow_network_gate(net, mv, 3);
    for (int c = 0; c < 5; c++) {
      flow_buffer_t *e = flow_buffer_new(0);
      e->kind = FLOW_BUF_END_OF_PARTITION;
      CHECK_EQ_INT(flow_gate_push(g, c, e), 0);
    }
    flow_buffer_t *b = NULL;
    CHECK_EQ_INT(flow_gate_poll(g, 0, &b), 0);
    CHECK_EQ_INT(flow_gate_poll(flow_network_gate(net, mv, 0), 0, &b), FLOW_ETIMEDOUT);
    flow_network_free(net);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

/* two-input operator: channels of the second input are tagged input 1 */
static void test_two_input_layout(void) {
  CTEST_CASE("two-input operator inputs");
  flow_stream_graph_t *sg = flow_sg_new("connect");
  int s1 = add(sg, "Source: A", "source", 1, 1);
  int s2 = add(sg, "Source: B", "source", 2, 1);
  int co = add(sg, "CoMap", "co_map", 2, 0);
  int k = add(sg, "Sink", "sink", 2, 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, s1, co, FLOW_PART_HASH, 1, 1), 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, s2, co, FLOW_PART_HASH, 1, 2), 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, co, k, FLOW_PART_FORWARD, 0, 0), 0);
  flow_job_graph_t *jg = build(sg);
  if (jg != NULL) {
    flow_job_network_t *net = flow_network_new(jg);
    int cv = jg->vertex_of_node[co];
    CHECK_EQ_INT(net->n_channels[cv - 1], 3);
    for (int st = 0; st < 2; st++) {
      flow_input_gate_t *g = flow_network_gate(net, cv, st);
      CHECK_NOT_NULL(g);
      if (g == NULL) continue;
      for (int e = 0; e < jg->n_edges; e++) {
        const flow_job_edge_t *je = &jg->edges[e];
        if (je->target != cv) continue;
        int ps = jg->vertices[je->source - 1].parallelism;
        for (int i = 0; i < ps; i++)
          CHECK_EQ_INT(g->channels[net->edge_offset[e] + i].input, je->type_number == 2 ? 1 : 0);
      }
    }
    flow_network_free(net);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_cancel_and_collect(void) {
  CTEST_CASE("cancel and collect list");
  flow_stream_graph_t *sg = flow_sg_new("collect");
  int s = add(sg, "Source: S", "source", 1, 1);
  int m = add(sg, "Map", "map", 2, 0);
  int k = add(sg, "Sink", "sink", 2, 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, s, m, FLOW_PART_REBALANCE, 0, 0), 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, m, k, FLOW_PART_FORWARD, 0, 0), 0);
  flow_job_graph_t *jg = build(sg);
  if (jg != NULL) {
    flow_job_network_t *net = flow_network_new(jg);
    CHECK_NULL(flow_network_take_collected(net));
    CHECK_EQ_INT(net->collect_bytes, 0);
    flow_network_collect(net, buf_of("one"));
    flow_network_collect(net, buf_of("two!"));
    flow_network_collect(net, buf_of("three"));
    CHECK_EQ_INT(net->collect_bytes, 12);
    flow_buffer_t *l = flow_network_take_collected(net);
    const char *want[] = {"one", "two!", "three"};
    int n = 0;
    while (l != NULL) {
      flow_buffer_t *next = l->next;
      if (n < 3) {
        CHECK_EQ_INT(l->size, strlen(want[n]));
        CHECK(memcmp(l->data, want[n], l->size) == 0);
      }
      n++;
      flow_buffer_free(l);
      l = next;
    }
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(net->collect_bytes, 0);
    CHECK_NULL(flow_network_take_collected(net));
    /* append after take starts a fresh list */
    flow_network_collect(net, buf_of("four"));
    l = flow_network_take_collected(net);
    CHECK_NOT_NULL(l);
    if (l != NULL) {
      CHECK_NULL(l->next);
      CHECK_EQ_INT(l->size, 4);
      flow_buffer_free(l);
    }
    /* left in the list: freed by flow_network_free */
    flow_network_collect(net, buf_of("five"));

    flow_network_cancel(net);
    int mv = jg->vertex_of_node[m];
    for (int st = 0; st < 2; st++) {
      flow_input_gate_t *g = flow_network_gate(net, mv, st);
      flow_buffer_t *b = NULL;
      CHECK_EQ_INT(flow_gate_poll(g, -1, &b), FLOW_ECANCELED);
      b = buf_of("x");
      CHECK_EQ_INT(flow_gate_push(g, 0, b), FLOW_ECANCELED);
      flow_buffer_free(b);
    }
    flow_network_free(net);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
  flow_network_free(NULL);
}

int main(void) {
  test_hash_layout();
  test_union_layout();
  test_two_input_layout();
  test_cancel_and_collect();
  return CTEST_SUMMARY();
}
