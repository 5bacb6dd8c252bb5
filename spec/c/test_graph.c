/* Graph compiler tests: StreamGraph validation, chaining into a JobGraph,
 * ExecutionGraph and ExecutionState, explain output.
 * Expected groupings come from Flink's StreamingJobGraphGenerator rules
 * (isChainable / createChain / createChainedName), written down by hand. */
#include "util/common.h"
#include "graph/execution_graph.h"
#include "graph/explain.h"
#include "graph/job_graph.h"
#include "graph/stream_graph.h"

#include "ctest_assert.h"

#include <stdlib.h>
#include <string.h>

static char err[1024];

/* ------------------------------------------------------------ helpers --- */

typedef struct {
  int max_parallelism;
  const char *ssg;
  flow_chaining_t chaining;
  const char *origin;
} opts_t;

static int add_full(flow_stream_graph_t *sg, const char *name, const char *kind, int par,
                    int is_source, opts_t o) {
  flow_stream_node_desc_t d;
  memset(&d, 0, sizeof d);
  d.name = name;
  d.kind = kind;
  d.parallelism = par;
  d.max_parallelism = o.max_parallelism;
  d.slot_sharing_group = o.ssg;
  d.chaining = is_source ? FLOW_CHAIN_HEAD : o.chaining;
  d.is_source = is_source;
  d.origin = o.origin;
  int id = flow_sg_add_node(sg, &d);
  CHECK(id >= 1);
  return id;
}

static const opts_t DEF = {0, NULL, FLOW_CHAIN_ALWAYS, NULL};

static int src(flow_stream_graph_t *sg, const char *name, int par) {
  return add_full(sg, name, "source", par, 1, DEF);
}
static int op(flow_stream_graph_t *sg, const char *name, int par) {
  return add_full(sg, name, "map", par, 0, DEF);
}
static int opx(flow_stream_graph_t *sg, const char *name, int par, opts_t o) {
  return add_full(sg, name, "map", par, 0, o);
}
static int sink(flow_stream_graph_t *sg, const char *name, int par) {
  return add_full(sg, name, "sink", par, 0, DEF);
}
static int sinkx(flow_stream_graph_t *sg, const char *name, int par, opts_t o) {
  return add_full(sg, name, "sink", par, 0, o);
}
static void edge(flow_stream_graph_t *sg, int s, int t) {
  CHECK_EQ_INT(flow_sg_add_edge(sg, s, t, FLOW_PART_FORWARD, 0, 0), 0);
}
static void edge_p(flow_stream_graph_t *sg, int s, int t, flow_partitioner_t p) {
  CHECK_EQ_INT(flow_sg_add_edge(sg, s, t, p, 1, 0), 0);
}

static flow_job_graph_t *build_ok(flow_stream_graph_t *sg) {
  err[0] = '\0';
  flow_job_graph_t *jg = flow_jg_build(sg, err, sizeof err);
  CHECK_NOT_NULL(jg);
  if (jg == NULL) printf("  (build error: %s)\n", err);
  return jg;
}

/* Builds, expects failure; returns the message (in err). */
static const char *build_fail(flow_stream_graph_t *sg) {
  err[0] = '\0';
  flow_job_graph_t *jg = flow_jg_build(sg, err, sizeof err);
  CHECK_NULL(jg);
  flow_jg_free(jg);
  CHECK(err[0] != '\0');
  return err;
}

static const flow_job_vertex_t *V(const flow_job_graph_t *jg, int id) {
  static flow_job_vertex_t empty;
  const flow_job_vertex_t *v = jg ? flow_jg_vertex(jg, id) : NULL;
  CHECK_NOT_NULL(v);
  return v ? v : &empty;
}

static void check_edge(const flow_job_graph_t *jg, int i, int s, int t, flow_partitioner_t p,
                       int sn, int tn, int type) {
  if (jg == NULL || i >= jg->n_edges) {
    CHECK(jg != NULL && i < jg->n_edges);
    return;
  }
  const flow_job_edge_t *e = &jg->edges[i];
  CHECK_EQ_INT(e->source, s);
  CHECK_EQ_INT(e->target, t);
  CHECK_STR(flow_partitioner_name(e->part), flow_partitioner_name(p));
  CHECK_EQ_INT(e->source_node, sn);
  CHECK_EQ_INT(e->target_node, tn);
  CHECK_EQ_INT(e->type_number, type);
}

/* -------------------------------------------------------- chaining ------ */

static void test_single_chain(void) {
  CTEST_CASE("source->map->filter->print");
  flow_stream_graph_t *sg = flow_sg_new("chain");
  int s = src(sg, "Source: S", 2), m = op(sg, "Map", 2), f = op(sg, "Filter", 2);
  int p = sink(sg, "Sink: Print to Std. Out", 2);
  CHECK_EQ_INT(s, 1);
  CHECK_EQ_INT(m, 2);
  CHECK_EQ_INT(f, 3);
  CHECK_EQ_INT(p, 4);
  edge(sg, s, m);
  edge(sg, m, f);
  edge(sg, f, p);
  flow_job_graph_t *jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 1);
    CHECK_INTS(V(jg, 1)->ops, V(jg, 1)->n_ops, 1, 2, 3, 4);
    CHECK_STR(V(jg, 1)->name, "Source: S -> Map -> Filter -> Sink: Print to Std. Out");
    CHECK_EQ_INT(V(jg, 1)->parallelism, 2);
    CHECK_EQ_INT(V(jg, 1)->max_parallelism, 128);
    CHECK_STR(V(jg, 1)->slot_sharing_group, "default");
    CHECK_EQ_INT(jg->n_edges, 0);
    CHECK_EQ_INT(jg->slots_required, 2);
    for (int i = 1; i <= 4; i++) CHECK_EQ_INT(jg->vertex_of_node[i], 1);
    for (int i = 0; i < 3; i++) CHECK_EQ_INT(sg->edges[i].part, FLOW_PART_FORWARD);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_key_by_splits(void) {
  CTEST_CASE("key_by hash splits");
  flow_stream_graph_t *sg = flow_sg_new("WordCount");
  int s = src(sg, "Source: Collection Source", 2), fm = op(sg, "Flat Map", 2);
  int agg = op(sg, "Keyed Aggregation", 2), p = sink(sg, "Sink: Print to Std. Out", 2);
  edge(sg, s, fm);
  edge_p(sg, fm, agg, FLOW_PART_HASH);
  edge(sg, agg, p);
  flow_job_graph_t *jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 2);
    CHECK_INTS(V(jg, 1)->ops, V(jg, 1)->n_ops, 1, 2);
    CHECK_INTS(V(jg, 2)->ops, V(jg, 2)->n_ops, 3, 4);
    CHECK_STR(V(jg, 1)->name, "Source: Collection Source -> Flat Map");
    CHECK_STR(V(jg, 2)->name, "Keyed Aggregation -> Sink: Print to Std. Out");
    CHECK_EQ_INT(jg->n_edges, 1);
    check_edge(jg, 0, 1, 2, FLOW_PART_HASH, 2, 3, 0);
    CHECK_EQ_INT(jg->slots_required, 2);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_parallelism_change_rebalance(void) {
  CTEST_CASE("parallelism change -> rebalance");
  flow_stream_graph_t *sg = flow_sg_new("p");
  int s = src(sg, "Source: S", 1), m = op(sg, "Map", 4), p = sink(sg, "Sink", 4);
  edge(sg, s, m);
  edge(sg, m, p);
  flow_job_graph_t *jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(sg->edges[0].part, FLOW_PART_REBALANCE);
    CHECK_EQ_INT(sg->edges[1].part, FLOW_PART_FORWARD);
    CHECK_EQ_INT(jg->n_vertices, 2);
    CHECK_INTS(V(jg, 1)->ops, V(jg, 1)->n_ops, 1);
    CHECK_INTS(V(jg, 2)->ops, V(jg, 2)->n_ops, 2, 3);
    CHECK_EQ_INT(V(jg, 1)->parallelism, 1);
    CHECK_EQ_INT(V(jg, 2)->parallelism, 4);
    CHECK_EQ_INT(jg->n_edges, 1);
    check_edge(jg, 0, 1, 2, FLOW_PART_REBALANCE, 1, 2, 0);
    CHECK_EQ_INT(jg->slots_required, 4); /* one group: the largest parallelism */
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_explicit_partitioners_split(void) {
  const flow_partitioner_t parts[] = {FLOW_PART_REBALANCE, FLOW_PART_RESCALE, FLOW_PART_SHUFFLE,
                                      FLOW_PART_BROADCAST, FLOW_PART_GLOBAL, FLOW_PART_HASH};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    CTEST_CASE(flow_partitioner_name(parts[i]));
    flow_stream_graph_t *sg = flow_sg_new("parts");
    int s = src(sg, "Source: S", 3), m = op(sg, "Map", 3), p = sink(sg, "Sink", 3);
    edge_p(sg, s, m, parts[i]);
    edge(sg, m, p);
    flow_job_graph_t *jg = build_ok(sg);
    if (jg) {
      CHECK_EQ_INT(jg->n_vertices, 2);
      CHECK_INTS(V(jg, 1)->ops, V(jg, 1)->n_ops, 1);
      CHECK_INTS(V(jg, 2)->ops, V(jg, 2)->n_ops, 2, 3);
      CHECK_EQ_INT(jg->n_edges, 1);
      check_edge(jg, 0, 1, 2, parts[i], 1, 2, 0);
      CHECK_EQ_INT(jg->slots_required, 3);
      CHECK(!flow_jg_is_chainable(sg, &sg->edges[0]));
      CHECK(flow_jg_is_chainable(sg, &sg->edges[1]));
    }
    flow_jg_free(jg);
    flow_sg_free(sg);
  }
}

static void test_explicit_forward_equal_chains(void) {
  CTEST_CASE("explicit forward, equal parallelism");
  flow_stream_graph_t *sg = flow_sg_new("f");
  int s = src(sg, "Source: S", 3), m = op(sg, "Map", 3), p = sink(sg, "Sink", 3);
  edge_p(sg, s, m, FLOW_PART_FORWARD);
  edge_p(sg, m, p, FLOW_PART_FORWARD);
  flow_job_graph_t *jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 1);
    CHECK_INTS(V(jg, 1)->ops, V(jg, 1)->n_ops, 1, 2, 3);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_explicit_forward_across_parallelism(void) {
  CTEST_CASE("explicit forward across parallelisms");
  flow_stream_graph_t *sg = flow_sg_new("f");
  opts_t so = DEF, mo = DEF;
  so.origin = "script.lua:10";
  mo.origin = "script.lua:12";
  int s = add_full(sg, "Source: X", "source", 4, 1, so);
  int m = opx(sg, "Map", 2, mo), p = sink(sg, "Sink", 2);
  edge_p(sg, s, m, FLOW_PART_FORWARD);
  edge(sg, m, p);
  CHECK_EQ_INT(flow_sg_finalize(sg, err, sizeof err), FLOW_EGRAPH);
  CHECK_STR(err, "forward partitioning requires equal parallelism: 'Map' (script.lua:12) has "
                 "parallelism 2, its input 'Source: X' (script.lua:10) has 4");
  CHECK(!sg->finalized);
  build_fail(sg);
  CHECK_CONTAINS(err, "forward partitioning requires equal parallelism");
  flow_sg_free(sg);
}

static void test_union(void) {
  CTEST_CASE("union of two sources");
  flow_stream_graph_t *sg = flow_sg_new("u");
  int s1 = src(sg, "Source: A", 2), s2 = src(sg, "Source: B", 2);
  int m = op(sg, "Map", 2), p = sink(sg, "Sink", 2);
  edge(sg, s2, m); /* inserted first: job edges still go by source vertex */
  edge(sg, s1, m);
  edge(sg, m, p);
  flow_job_graph_t *jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 3);
    CHECK_INTS(V(jg, 1)->ops, V(jg, 1)->n_ops, 1);
    CHECK_INTS(V(jg, 2)->ops, V(jg, 2)->n_ops, 2);
    CHECK_INTS(V(jg, 3)->ops, V(jg, 3)->n_ops, 3, 4);
    CHECK_STR(V(jg, 3)->name, "Map -> Sink");
    CHECK_EQ_INT(jg->n_edges, 2);
    check_edge(jg, 0, 1, 3, FLOW_PART_FORWARD, 1, 3, 0);
    check_edge(jg, 1, 2, 3, FLOW_PART_FORWARD, 2, 3, 0);
    CHECK_EQ_INT(jg->slots_required, 2);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_two_input(void) {
  CTEST_CASE("two-input operator");
  flow_stream_graph_t *sg = flow_sg_new("co");
  int a = src(sg, "Source: A", 2), b = src(sg, "Source: B", 1);
  int co = op(sg, "Co-Map", 2), p = sink(sg, "Sink", 2);
  CHECK_EQ_INT(flow_sg_add_edge(sg, a, co, FLOW_PART_HASH, 1, 1), 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, b, co, FLOW_PART_FORWARD, 0, 2), 0);
  edge(sg, co, p);
  flow_job_graph_t *jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 3);
    CHECK_INTS(V(jg, 3)->ops, V(jg, 3)->n_ops, 3, 4);
    CHECK_EQ_INT(jg->n_edges, 2);
    check_edge(jg, 0, 1, 3, FLOW_PART_HASH, 1, 3, 1);
    check_edge(jg, 1, 2, 3, FLOW_PART_REBALANCE, 2, 3, 2); /* 1 -> 2: rebalance */
    CHECK_EQ_INT(jg->slots_required, 2);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);

  CTEST_CASE("two-input operator missing an input");
  sg = flow_sg_new("co");
  a = src(sg, "Source: A", 2);
  co = op(sg, "Co-Map", 2);
  p = sink(sg, "Sink", 2);
  CHECK_EQ_INT(flow_sg_add_edge(sg, a, co, FLOW_PART_FORWARD, 0, 1), 0);
  edge(sg, co, p);
  CHECK_STR(build_fail(sg), "two-input operator 'Co-Map' is missing its second input");
  flow_sg_free(sg);
}

static void test_fan_out_in_chain(void) {
  CTEST_CASE("fan-out A -> (B, C)");
  flow_stream_graph_t *sg = flow_sg_new("fan");
  int a = src(sg, "A", 2), b = sink(sg, "B", 2), c = sink(sg, "C", 2);
  edge(sg, a, b);
  edge(sg, a, c);
  flow_job_graph_t *jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 1);
    CHECK_STR(V(jg, 1)->name, "A -> (B, C)");
    CHECK_INTS(V(jg, 1)->ops, V(jg, 1)->n_ops, 1, 2, 3);
    CHECK_EQ_INT(jg->n_edges, 0);
    CHECK_EQ_INT(jg->slots_required, 2);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);

  CTEST_CASE("nested fan-out, depth-first order");
  sg = flow_sg_new("fan2");
  int s = src(sg, "Source: S", 2);
  a = op(sg, "A", 2);
  b = op(sg, "B", 2);
  c = op(sg, "C", 2);
  int sb = sink(sg, "Sink: B", 2), sc = sink(sg, "Sink: C", 2);
  edge(sg, s, a);
  edge(sg, a, b);
  edge(sg, a, c);
  edge(sg, b, sb);
  edge(sg, c, sc);
  jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 1);
    CHECK_INTS(V(jg, 1)->ops, V(jg, 1)->n_ops, 1, 2, 3, 5, 4, 6);
    CHECK_STR(V(jg, 1)->name, "Source: S -> A -> (B -> Sink: B, C -> Sink: C)");
  }
  flow_jg_free(jg);
  flow_sg_free(sg);

  CTEST_CASE("fan-out with one chainable and one non-chainable output");
  sg = flow_sg_new("fan3");
  s = src(sg, "Source: S", 2);
  a = op(sg, "A", 2);
  b = op(sg, "B", 3);
  int p1 = sink(sg, "P1", 2), p2 = sink(sg, "P2", 3);
  edge(sg, s, a);
  edge(sg, s, b);
  edge(sg, a, p1);
  edge(sg, b, p2);
  jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 2);
    CHECK_INTS(V(jg, 1)->ops, V(jg, 1)->n_ops, 1, 2, 4);
    CHECK_STR(V(jg, 1)->name, "Source: S -> A -> P1");
    CHECK_INTS(V(jg, 2)->ops, V(jg, 2)->n_ops, 3, 5);
    CHECK_EQ_INT(jg->n_edges, 1);
    check_edge(jg, 0, 1, 2, FLOW_PART_REBALANCE, 1, 3, 0);
    CHECK_EQ_INT(jg->slots_required, 3);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_diamond(void) {
  CTEST_CASE("diamond: split then union");
  flow_stream_graph_t *sg = flow_sg_new("diamond");
  int s = src(sg, "S", 2), a = op(sg, "A", 2), b = op(sg, "B", 2), j = op(sg, "J", 2);
  int p = sink(sg, "P", 2);
  edge(sg, s, a);
  edge(sg, s, b);
  edge(sg, a, j);
  edge(sg, b, j);
  edge(sg, j, p);
  flow_job_graph_t *jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 2);
    CHECK_INTS(V(jg, 1)->ops, V(jg, 1)->n_ops, 1, 2, 3);
    CHECK_STR(V(jg, 1)->name, "S -> (A, B)");
    CHECK_INTS(V(jg, 2)->ops, V(jg, 2)->n_ops, 4, 5);
    CHECK_EQ_INT(jg->n_edges, 2);
    check_edge(jg, 0, 1, 2, FLOW_PART_FORWARD, 2, 4, 0);
    check_edge(jg, 1, 1, 2, FLOW_PART_FORWARD, 3, 4, 0);
    CHECK_EQ_INT(jg->slots_required, 2);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_start_new_chain(void) {
  CTEST_CASE("start_new_chain (HEAD)");
  flow_stream_graph_t *sg = flow_sg_new("head");
  opts_t h = DEF;
  h.chaining = FLOW_CHAIN_HEAD;
  int s = src(sg, "S", 2), m1 = op(sg, "M1", 2), m2 = opx(sg, "M2", 2, h), p = sink(sg, "P", 2);
  edge(sg, s, m1);
  edge(sg, m1, m2);
  edge(sg, m2, p);
  flow_job_graph_t *jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 2);
    CHECK_INTS(V(jg, 1)->ops, V(jg, 1)->n_ops, 1, 2);
    CHECK_INTS(V(jg, 2)->ops, V(jg, 2)->n_ops, 3, 4); /* a HEAD chains its successors */
    CHECK_STR(V(jg, 2)->name, "M2 -> P");
    CHECK_EQ_INT(jg->n_edges, 1);
    check_edge(jg, 0, 1, 2, FLOW_PART_FORWARD, 2, 3, 0);
    CHECK_EQ_INT(jg->slots_required, 2);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_disable_chaining(void) {
  CTEST_CASE("disable_chaining (NEVER)");
  flow_stream_graph_t *sg = flow_sg_new("never");
  opts_t nv = DEF;
  nv.chaining = FLOW_CHAIN_NEVER;
  int s = src(sg, "S", 2), m1 = op(sg, "M1", 2), m2 = opx(sg, "M2", 2, nv), m3 = op(sg, "M3", 2);
  int p = sink(sg, "P", 2);
  edge(sg, s, m1);
  edge(sg, m1, m2);
  edge(sg, m2, m3);
  edge(sg, m3, p);
  flow_job_graph_t *jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 3);
    CHECK_INTS(V(jg, 1)->ops, V(jg, 1)->n_ops, 1, 2);
    CHECK_INTS(V(jg, 2)->ops, V(jg, 2)->n_ops, 3);
    CHECK_INTS(V(jg, 3)->ops, V(jg, 3)->n_ops, 4, 5);
    CHECK_EQ_INT(jg->n_edges, 2);
    check_edge(jg, 0, 1, 2, FLOW_PART_FORWARD, 2, 3, 0);
    check_edge(jg, 1, 2, 3, FLOW_PART_FORWARD, 3, 4, 0);
    CHECK_EQ_INT(jg->slots_required, 2);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_env_chaining_disabled(void) {
  CTEST_CASE("env chaining disabled");
  flow_stream_graph_t *sg = flow_sg_new("nochain");
  sg->chaining_enabled = 0;
  int s = src(sg, "S", 2), m = op(sg, "M", 2), p = sink(sg, "P", 2);
  edge(sg, s, m);
  edge(sg, m, p);
  flow_job_graph_t *jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 3);
    for (int i = 1; i <= 3; i++) CHECK_INTS(V(jg, i)->ops, V(jg, i)->n_ops, i);
    CHECK_EQ_INT(jg->n_edges, 2);
    check_edge(jg, 0, 1, 2, FLOW_PART_FORWARD, 1, 2, 0);
    check_edge(jg, 1, 2, 3, FLOW_PART_FORWARD, 2, 3, 0);
    CHECK_EQ_INT(jg->slots_required, 2);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_slot_sharing_groups(void) {
  CTEST_CASE("different slot sharing group splits");
  flow_stream_graph_t *sg = flow_sg_new("ssg");
  opts_t g1 = DEF;
  g1.ssg = "g1";
  int s = src(sg, "S", 2), m = opx(sg, "M", 2, g1), p = sinkx(sg, "P", 2, g1);
  edge(sg, s, m);
  edge(sg, m, p);
  flow_job_graph_t *jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 2);
    CHECK_INTS(V(jg, 1)->ops, V(jg, 1)->n_ops, 1);
    CHECK_INTS(V(jg, 2)->ops, V(jg, 2)->n_ops, 2, 3);
    CHECK_STR(V(jg, 2)->slot_sharing_group, "g1");
    check_edge(jg, 0, 1, 2, FLOW_PART_FORWARD, 1, 2, 0);
    CHECK_EQ_INT(jg->slots_required, 4); /* 2 (default) + 2 (g1) */
  }
  flow_jg_free(jg);
  flow_sg_free(sg);

  CTEST_CASE("slots: max per group, summed");
  sg = flow_sg_new("ssg2");
  s = src(sg, "S", 4);
  m = op(sg, "M", 2); /* default group, rebalance from 4 */
  int m2 = opx(sg, "M2", 3, g1);
  p = sinkx(sg, "P", 3, g1);
  edge(sg, s, m);
  edge(sg, m, m2);
  edge(sg, m2, p);
  jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 3);
    CHECK_INTS(V(jg, 3)->ops, V(jg, 3)->n_ops, 3, 4);
    CHECK_EQ_INT(jg->slots_required, 4 + 3);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_max_parallelism_splits(void) {
  CTEST_CASE("different max parallelism splits");
  flow_stream_graph_t *sg = flow_sg_new("maxp");
  opts_t mp = DEF;
  mp.max_parallelism = 256;
  int s = src(sg, "S", 2), m = opx(sg, "M", 2, mp), p = sinkx(sg, "P", 2, mp);
  edge(sg, s, m);
  edge(sg, m, p);
  flow_job_graph_t *jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 2);
    CHECK_INTS(V(jg, 1)->ops, V(jg, 1)->n_ops, 1);
    CHECK_INTS(V(jg, 2)->ops, V(jg, 2)->n_ops, 2, 3);
    CHECK_EQ_INT(V(jg, 1)->max_parallelism, 128);
    CHECK_EQ_INT(V(jg, 2)->max_parallelism, 256);
    check_edge(jg, 0, 1, 2, FLOW_PART_FORWARD, 1, 2, 0);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);

  CTEST_CASE("graph default max parallelism");
  sg = flow_sg_new("maxp2");
  sg->max_parallelism = 64;
  s = src(sg, "S", 2);
  p = sink(sg, "P", 2);
  edge(sg, s, p);
  jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(flow_sg_node(sg, 1)->max_parallelism, 64);
    CHECK_EQ_INT(V(jg, 1)->max_parallelism, 64);
    CHECK_EQ_INT(jg->n_vertices, 1);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_head_source_and_union_of_chains(void) {
  CTEST_CASE("source with ALWAYS strategy is still a head");
  flow_stream_graph_t *sg = flow_sg_new("srcs");
  opts_t o = DEF;
  int s = add_full(sg, "S", "source", 2, 1, o);
  ((flow_stream_node_t *)flow_sg_node(sg, s))->chaining = FLOW_CHAIN_ALWAYS;
  int p = sink(sg, "P", 2);
  edge(sg, s, p);
  flow_job_graph_t *jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 1);
    CHECK_INTS(V(jg, 1)->ops, V(jg, 1)->n_ops, 1, 2);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);

  CTEST_CASE("vertex ids follow head node ids");
  sg = flow_sg_new("order");
  int a = src(sg, "A", 1);     /* 1 */
  int b = src(sg, "B", 2);     /* 2 */
  int u = op(sg, "U", 2);      /* 3: union of A (rebalance) and B */
  int k = op(sg, "K", 2);      /* 4: hash from U */
  int q = sink(sg, "Q", 2);    /* 5 */
  edge(sg, b, u);
  edge(sg, a, u);
  edge_p(sg, u, k, FLOW_PART_HASH);
  edge(sg, k, q);
  jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 4);
    CHECK_INTS(V(jg, 1)->ops, V(jg, 1)->n_ops, 1);
    CHECK_INTS(V(jg, 2)->ops, V(jg, 2)->n_ops, 2);
    CHECK_INTS(V(jg, 3)->ops, V(jg, 3)->n_ops, 3);
    CHECK_INTS(V(jg, 4)->ops, V(jg, 4)->n_ops, 4, 5);
    CHECK_EQ_INT(jg->n_edges, 3);
    check_edge(jg, 0, 1, 3, FLOW_PART_REBALANCE, 1, 3, 0);
    check_edge(jg, 1, 2, 3, FLOW_PART_FORWARD, 2, 3, 0);
    check_edge(jg, 2, 3, 4, FLOW_PART_HASH, 3, 4, 0);
    CHECK_EQ_INT(jg->slots_required, 2);
    CHECK_EQ_INT(jg->vertex_of_node[5], 4);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_is_chainable_rules(void) {
  CTEST_CASE("isChainable rules");
  flow_stream_graph_t *sg = flow_sg_new("rules");
  opts_t never = DEF, head = DEF, other = DEF;
  never.chaining = FLOW_CHAIN_NEVER;
  head.chaining = FLOW_CHAIN_HEAD;
  other.ssg = "other";
  int s = src(sg, "S", 2);
  int a = op(sg, "A", 2);            /* s->a chainable */
  int n = opx(sg, "N", 2, never);    /* a->n: downstream NEVER */
  int b = op(sg, "B", 2);            /* n->b: upstream NEVER */
  int h = opx(sg, "H", 2, head);     /* b->h: downstream HEAD */
  int g = opx(sg, "G", 2, other);    /* h->g: other group */
  int c = opx(sg, "C", 3, other);    /* g->c: parallelism (rebalance) */
  int p = sinkx(sg, "P", 3, other);  /* c->p: chainable */
  edge(sg, s, a);
  edge(sg, a, n);
  edge(sg, n, b);
  edge(sg, b, h);
  edge(sg, h, g);
  edge(sg, g, c);
  edge(sg, c, p);
  CHECK_EQ_INT(flow_sg_finalize(sg, err, sizeof err), 0);
  int expect[] = {1, 0, 0, 0, 0, 0, 1};
  for (int i = 0; i < 7; i++) CHECK_EQ_INT(flow_jg_is_chainable(sg, &sg->edges[i]), expect[i]);
  flow_jg_free(build_ok(sg));
  sg->chaining_enabled = 0;
  CHECK_EQ_INT(flow_jg_is_chainable(sg, &sg->edges[0]), 0);
  flow_sg_free(sg);
}

/* ------------------------------------------------------- validation ----- */

static void test_cycle(void) {
  CTEST_CASE("cycle");
  flow_stream_graph_t *sg = flow_sg_new("cyc");
  opts_t oa = DEF;
  oa.origin = "c.lua:2";
  int s = src(sg, "S", 1), a = opx(sg, "A", 1, oa), b = op(sg, "B", 1), p = sink(sg, "P", 1);
  edge(sg, s, a);
  edge(sg, a, b);
  edge(sg, b, a);
  edge(sg, b, p);
  const char *m = build_fail(sg);
  CHECK(strstr(m, "cycle in the job graph through 'A' (c.lua:2)") != NULL ||
        strstr(m, "cycle in the job graph through 'B'") != NULL);
  flow_sg_free(sg);

  CTEST_CASE("self loop");
  sg = flow_sg_new("self");
  s = src(sg, "S", 1);
  a = op(sg, "A", 1);
  p = sink(sg, "P", 1);
  edge(sg, s, a);
  edge(sg, a, a);
  edge(sg, a, p);
  CHECK_STR(build_fail(sg), "cycle in the job graph through 'A'");
  flow_sg_free(sg);
}

static void test_parallelism_errors(void) {
  CTEST_CASE("parallelism exceeds max");
  flow_job_graph_t *jg;
  flow_stream_graph_t *sg = flow_sg_new("p");
  opts_t o = DEF;
  o.origin = "x.lua:3";
  int s = src(sg, "S", 1), m = opx(sg, "Map", 200, o), p = sink(sg, "P", 1);
  edge(sg, s, m);
  edge(sg, m, p);
  CHECK_STR(build_fail(sg), "parallelism 200 of 'Map' (x.lua:3) exceeds its max parallelism 128");
  flow_sg_free(sg);

  CTEST_CASE("parallelism 0");
  sg = flow_sg_new("p");
  s = src(sg, "S", 1);
  m = opx(sg, "Map", 0, o);
  p = sink(sg, "P", 1);
  edge(sg, s, m);
  edge(sg, m, p);
  CHECK_STR(build_fail(sg), "parallelism 0 of 'Map' (x.lua:3) must be at least 1");
  flow_sg_free(sg);

  CTEST_CASE("graph max parallelism 0");
  sg = flow_sg_new("p");
  sg->max_parallelism = 0;
  s = src(sg, "S", 1);
  p = sink(sg, "P", 1);
  edge(sg, s, p);
  CHECK_STR(build_fail(sg), "max parallelism 0 of 'S' is outside 1..32768");
  CHECK_EQ_INT(flow_sg_node(sg, s)->max_parallelism, 0); /* untouched by the failure */
  sg->max_parallelism = 16; /* the script fixes it and tries again */
  jg = build_ok(sg);
  if (jg) CHECK_EQ_INT(V(jg, 1)->max_parallelism, 16);
  flow_jg_free(jg);
  flow_sg_free(sg);

  CTEST_CASE("max parallelism 40000");
  sg = flow_sg_new("p");
  opts_t big = o;
  big.max_parallelism = 40000;
  s = src(sg, "S", 1);
  m = opx(sg, "Map", 1, big);
  p = sink(sg, "P", 1);
  edge(sg, s, m);
  edge(sg, m, p);
  CHECK_STR(build_fail(sg), "max parallelism 40000 of 'Map' (x.lua:3) is outside 1..32768");
  flow_sg_free(sg);

  CTEST_CASE("max parallelism 32768 is fine");
  sg = flow_sg_new("p");
  big.max_parallelism = 32768;
  s = src(sg, "S", 1);
  m = opx(sg, "Map", 1, big);
  p = sinkx(sg, "P", 1, big);
  edge(sg, s, m);
  edge(sg, m, p);
  jg = build_ok(sg);
  if (jg) CHECK_EQ_INT(jg->n_vertices, 2);
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_structure_errors(void) {
  CTEST_CASE("empty graph");
  flow_stream_graph_t *sg = flow_sg_new("empty");
  CHECK_STR(build_fail(sg), "the job has no operators");
  flow_sg_free(sg);

  CTEST_CASE("no sink");
  sg = flow_sg_new("nosink");
  int s = src(sg, "S", 1), m = op(sg, "M", 1);
  edge(sg, s, m);
  CHECK_EQ_INT(flow_sg_finalize(sg, err, sizeof err), FLOW_EGRAPH);
  CHECK_CONTAINS(err, "no sinks defined: call print(), write_as_text(), add_sink()");
  CHECK_CONTAINS(err, "before execute()");
  flow_sg_free(sg);

  CTEST_CASE("operator without input");
  sg = flow_sg_new("noinput");
  opts_t o = DEF;
  o.origin = "m.lua:7";
  s = src(sg, "S", 1);
  m = opx(sg, "Map", 1, o);
  int p = sink(sg, "P", 1);
  edge(sg, s, p);
  (void)m;
  CHECK_STR(build_fail(sg), "'Map' (m.lua:7) has no input: only a source can start a pipeline");
  flow_sg_free(sg);

  CTEST_CASE("source with input");
  sg = flow_sg_new("srcin");
  s = src(sg, "S", 1);
  int s2 = src(sg, "S2", 1);
  p = sink(sg, "P", 1);
  edge(sg, s, s2);
  edge(sg, s2, p);
  CHECK_STR(build_fail(sg), "source 'S2' cannot have an input");
  flow_sg_free(sg);

  CTEST_CASE("edge with unknown node (patched in)");
  sg = flow_sg_new("badedge");
  s = src(sg, "S", 1);
  p = sink(sg, "P", 1);
  edge(sg, s, p);
  sg->edges[0].target = 9;
  CHECK_STR(build_fail(sg), "an output of 'S' references unknown operator id 9");
  flow_sg_free(sg);
}

static void test_api_contract(void) {
  CTEST_CASE("add_edge / add_node argument checks");
  flow_stream_graph_t *sg = flow_sg_new(NULL);
  CHECK_NOT_NULL(sg->job_name);
  CHECK_EQ_INT(sg->max_parallelism, 128);
  CHECK_EQ_INT(sg->chaining_enabled, 1);
  CHECK_EQ_INT(sg->mode, FLOW_MODE_STREAMING);
  flow_stream_node_desc_t d;
  memset(&d, 0, sizeof d);
  CHECK_EQ_INT(flow_sg_add_node(sg, &d), FLOW_EINVAL); /* no name */
  CHECK_EQ_INT(flow_sg_add_node(sg, NULL), FLOW_EINVAL);
  int s = src(sg, "S", 1), p = sink(sg, "P", 1);
  CHECK_EQ_INT(flow_sg_add_edge(sg, s, 3, FLOW_PART_FORWARD, 0, 0), FLOW_EINVAL);
  CHECK_EQ_INT(flow_sg_add_edge(sg, 0, p, FLOW_PART_FORWARD, 0, 0), FLOW_EINVAL);
  CHECK_EQ_INT(flow_sg_add_edge(sg, s, p, FLOW_PART_FORWARD, 0, 3), FLOW_EINVAL);
  CHECK_EQ_INT(flow_sg_add_edge(sg, s, p, (flow_partitioner_t)42, 1, 0), FLOW_EINVAL);
  CHECK_EQ_INT(sg->n_edges, 0);
  edge(sg, s, p);

  CTEST_CASE("copied strings and payload");
  char name[] = "Mutable";
  const char payload[] = {1, 0, 2, 0, 3};
  memset(&d, 0, sizeof d);
  d.name = name;
  d.kind = "sink";
  d.uid = "my-uid";
  d.parallelism = 1;
  d.payload = payload;
  d.payload_len = sizeof payload;
  int id = flow_sg_add_node(sg, &d);
  name[0] = 'X';
  const flow_stream_node_t *n = flow_sg_node(sg, id);
  CHECK_STR(n->name, "Mutable");
  CHECK_STR(n->uid, "my-uid");
  CHECK_STR(n->slot_sharing_group, "default");
  CHECK_NULL(n->origin);
  CHECK_EQ_INT(n->payload_len, sizeof payload);
  CHECK(n->payload != NULL && memcmp(n->payload, payload, sizeof payload) == 0);
  CHECK_NULL(flow_sg_node(sg, 0));
  CHECK_NULL(flow_sg_node(sg, id + 1));
  /* id 3 has no input */
  CHECK_EQ_INT(flow_sg_finalize(sg, err, sizeof err), FLOW_EGRAPH);
  edge(sg, s, id);

  CTEST_CASE("finalize idempotent, frozen afterwards");
  CHECK_EQ_INT(flow_sg_finalize(sg, NULL, 0), 0);
  CHECK_EQ_INT(sg->finalized, 1);
  CHECK_EQ_INT(flow_sg_finalize(sg, err, sizeof err), 0);
  CHECK_EQ_INT(flow_sg_add_node(sg, &d), FLOW_ESTATE);
  CHECK_EQ_INT(flow_sg_add_edge(sg, s, p, FLOW_PART_FORWARD, 0, 0), FLOW_ESTATE);
  flow_job_graph_t *j1 = build_ok(sg), *j2 = build_ok(sg);
  if (j1 && j2) {
    CHECK_EQ_INT(j1->n_vertices, j2->n_vertices);
    CHECK_STR(j1->vertices[0].name, j2->vertices[0].name);
    CHECK_STR(j1->vertices[0].name, "S -> (P, Mutable)");
  }
  flow_jg_free(j1);
  flow_jg_free(j2);
  flow_sg_free(sg);

  CTEST_CASE("NULL-safety");
  flow_sg_free(NULL);
  flow_jg_free(NULL);
  flow_eg_free(NULL);
  CHECK_NULL(flow_jg_build(NULL, err, sizeof err));
  CHECK_NULL(flow_eg_build(NULL));
  CHECK_NULL(flow_explain_json(NULL));
  CHECK_EQ_INT(flow_sg_is_sink_kind("sink"), 1);
  CHECK_EQ_INT(flow_sg_is_sink_kind("map"), 0);
  CHECK_EQ_INT(flow_sg_is_sink_kind(NULL), 0);
}

static void test_partitioner_names(void) {
  CTEST_CASE("partitioner names");
  const char *names[] = {"forward", "rebalance", "rescale", "hash", "broadcast", "shuffle", "global"};
  for (int i = 0; i < FLOW_PART__COUNT; i++) {
    CHECK_STR(flow_partitioner_name((flow_partitioner_t)i), names[i]);
    flow_partitioner_t p = FLOW_PART__COUNT;
    CHECK_EQ_INT(flow_partitioner_parse(names[i], &p), 0);
    CHECK_EQ_INT(p, i);
  }
  flow_partitioner_t p = FLOW_PART_HASH;
  CHECK_EQ_INT(flow_partitioner_parse("keyed", &p), FLOW_EINVAL);
  CHECK_EQ_INT(flow_partitioner_parse(NULL, &p), FLOW_EINVAL);
  CHECK_EQ_INT(p, FLOW_PART_HASH);
  CHECK_STR(flow_chaining_name(FLOW_CHAIN_NEVER), "never");
}

/* -------------------------------------------------- execution graph ----- */

static void test_execution_graph(void) {
  CTEST_CASE("execution graph");
  flow_stream_graph_t *sg = flow_sg_new("eg");
  int s = src(sg, "Source: S", 2), m = op(sg, "Map", 3), p = sink(sg, "Sink: P", 3);
  edge(sg, s, m);
  edge(sg, m, p);
  flow_job_graph_t *jg = build_ok(sg);
  flow_execution_graph_t *eg = flow_eg_build(jg);
  if (eg) {
    CHECK(eg->jg == jg);
    CHECK_EQ_INT(eg->n_ejv, 2);
    CHECK_EQ_INT(eg->n_subtasks_total, 5);
    CHECK_EQ_INT(eg->status, FLOW_JOB_CREATED);
    CHECK_EQ_INT(eg->ejv[0].parallelism, 2);
    CHECK_EQ_INT(eg->ejv[1].parallelism, 3);
    CHECK_EQ_INT(eg->ejv[1].job_vertex, 2);
    flow_execution_vertex_t *ev = flow_eg_vertex(eg, 1, 0);
    CHECK_NOT_NULL(ev);
    if (ev) CHECK_STR(ev->name, "Source: S (1/2)");
    ev = flow_eg_vertex(eg, 2, 2);
    CHECK_NOT_NULL(ev);
    if (ev) {
      CHECK_STR(ev->name, "Map -> Sink: P (3/3)");
      CHECK_EQ_INT(ev->job_vertex, 2);
      CHECK_EQ_INT(ev->subtask, 2);
      CHECK_EQ_INT(ev->current.attempt, 0);
      CHECK_EQ_INT(ev->current.state, FLOW_EXEC_CREATED);
      CHECK_EQ_INT(ev->current.slot, -1);
    }
    CHECK_NULL(flow_eg_vertex(eg, 1, 2));
    CHECK_NULL(flow_eg_vertex(eg, 2, 3));
    CHECK_NULL(flow_eg_vertex(eg, 0, 0));
    CHECK_NULL(flow_eg_vertex(eg, 3, 0));
    CHECK_NULL(flow_eg_vertex(eg, 1, -1));
    for (int v = 1; v <= 2; v++)
      for (int i = 0; i < eg->ejv[v - 1].parallelism; i++) {
        CHECK_EQ_INT(flow_eg_vertex(eg, v, i)->current.state, FLOW_EXEC_CREATED);
        CHECK_EQ_INT(flow_eg_vertex(eg, v, i)->subtask, i);
      }
  }
  flow_eg_free(eg);
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_execution_states(void) {
  CTEST_CASE("execution state names");
  const char *names[] = {"CREATED",  "SCHEDULED", "DEPLOYING", "INITIALIZING", "RUNNING",
                         "FINISHED", "CANCELING", "CANCELED",  "FAILED"};
  for (int i = 0; i < FLOW_EXEC__COUNT; i++) {
    CHECK_STR(flow_execution_state_name((flow_execution_state_t)i), names[i]);
    flow_execution_state_t st;
    CHECK_EQ_INT(flow_execution_state_parse(names[i], &st), 0);
    CHECK_EQ_INT(st, i);
  }
  CHECK_EQ_INT(flow_execution_state_is_terminal(FLOW_EXEC_FINISHED), 1);
  CHECK_EQ_INT(flow_execution_state_is_terminal(FLOW_EXEC_CANCELED), 1);
  CHECK_EQ_INT(flow_execution_state_is_terminal(FLOW_EXEC_FAILED), 1);
  CHECK_EQ_INT(flow_execution_state_is_terminal(FLOW_EXEC_CANCELING), 0);
  CHECK_EQ_INT(flow_execution_state_is_terminal(FLOW_EXEC_RUNNING), 0);

  CTEST_CASE("transition table");
  /* rows: from, columns: to; order CREATED SCHEDULED DEPLOYING INITIALIZING
   * RUNNING FINISHED CANCELING CANCELED FAILED */
  static const int allowed[FLOW_EXEC__COUNT][FLOW_EXEC__COUNT] = {
      /* CREATED      */ {0, 1, 0, 0, 0, 0, 1, 1, 1},
      /* SCHEDULED    */ {0, 0, 1, 0, 0, 0, 1, 1, 1},
      /* DEPLOYING    */ {0, 0, 0, 1, 0, 0, 1, 0, 1},
      /* INITIALIZING */ {0, 0, 0, 0, 1, 0, 1, 0, 1},
      /* RUNNING      */ {0, 0, 0, 0, 0, 1, 1, 0, 1},
      /* FINISHED     */ {0, 0, 0, 0, 0, 0, 0, 0, 0},
      /* CANCELING    */ {0, 0, 0, 0, 0, 0, 0, 1, 1},
      /* CANCELED     */ {0, 0, 0, 0, 0, 0, 0, 0, 0},
      /* FAILED       */ {0, 0, 0, 0, 0, 0, 0, 0, 0},
  };
  for (int from = 0; from < FLOW_EXEC__COUNT; from++)
    for (int to = 0; to < FLOW_EXEC__COUNT; to++) {
      flow_execution_t ex = {.attempt = 3, .state = (flow_execution_state_t)from, .slot = 5};
      int rc = flow_execution_transition(&ex, (flow_execution_state_t)to);
      if (allowed[from][to]) {
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(ex.state, to);
      } else {
        if (rc != FLOW_ESTATE)
          printf("  unexpected: %s -> %s allowed\n", names[from], names[to]);
        CHECK_EQ_INT(rc, FLOW_ESTATE);
        CHECK_EQ_INT(ex.state, from);
      }
      CHECK_EQ_INT(ex.attempt, 3);
      CHECK_EQ_INT(flow_execution_transition_allowed((flow_execution_state_t)from,
                                                     (flow_execution_state_t)to),
                   allowed[from][to]);
    }
  CHECK_EQ_INT(flow_execution_transition(NULL, FLOW_EXEC_RUNNING), FLOW_EINVAL);

  CTEST_CASE("lifecycle, restart");
  flow_execution_t ex = {.attempt = 0, .state = FLOW_EXEC_CREATED, .slot = -1};
  const flow_execution_state_t path[] = {FLOW_EXEC_SCHEDULED, FLOW_EXEC_DEPLOYING,
                                         FLOW_EXEC_INITIALIZING, FLOW_EXEC_RUNNING,
                                         FLOW_EXEC_FAILED};
  for (size_t i = 0; i < sizeof path / sizeof path[0]; i++)
    CHECK_EQ_INT(flow_execution_transition(&ex, path[i]), 0);
  ex.slot = 2;
  CHECK_EQ_INT(flow_execution_transition(&ex, FLOW_EXEC_RUNNING), FLOW_ESTATE);
  CHECK_EQ_INT(flow_execution_transition(&ex, FLOW_EXEC_CANCELED), FLOW_ESTATE);
  CHECK_EQ_INT(ex.state, FLOW_EXEC_FAILED);
  CHECK(ex.state_ms[FLOW_EXEC_RUNNING] > 0 && ex.state_ms[FLOW_EXEC_FAILED] >= ex.state_ms[FLOW_EXEC_RUNNING]);
  flow_execution_reset_for_new_attempt(&ex);
  CHECK_EQ_INT(ex.attempt, 1);
  CHECK_EQ_INT(ex.state, FLOW_EXEC_CREATED);
  CHECK_EQ_INT(ex.slot, -1);
  CHECK(ex.state_ms[FLOW_EXEC_CREATED] > 0 && ex.state_ms[FLOW_EXEC_RUNNING] == 0); /* a new attempt's timestamps */
  CHECK_EQ_INT(flow_execution_transition(&ex, FLOW_EXEC_SCHEDULED), 0);
  CHECK_EQ_INT(flow_execution_transition(&ex, FLOW_EXEC_CANCELING), 0);
  CHECK_EQ_INT(flow_execution_transition(&ex, FLOW_EXEC_FINISHED), FLOW_ESTATE);
  CHECK_EQ_INT(flow_execution_transition(&ex, FLOW_EXEC_CANCELED), 0);
  flow_execution_reset_for_new_attempt(&ex);
  CHECK_EQ_INT(ex.attempt, 2);

  CTEST_CASE("job status");
  const char *js[] = {"INITIALIZING", "CREATED",  "RUNNING",  "FAILING",   "FAILED",
                      "CANCELLING",   "CANCELED", "FINISHED", "RESTARTING"};
  for (int i = 0; i < FLOW_JOB__COUNT; i++) {
    CHECK_STR(flow_job_status_name((flow_job_status_t)i), js[i]);
    int term = i == FLOW_JOB_FAILED || i == FLOW_JOB_CANCELED || i == FLOW_JOB_FINISHED;
    CHECK_EQ_INT(flow_job_status_is_globally_terminal((flow_job_status_t)i), term);
  }
}

/* ---------------------------------------------------------- explain ----- */

static flow_stream_graph_t *word_count(void) {
  flow_stream_graph_t *sg = flow_sg_new("WordCount");
  sg->mode = FLOW_MODE_BATCH;
  int s = src(sg, "Source: Collection Source", 2), fm = op(sg, "Flat Map", 2);
  int agg = op(sg, "Keyed Aggregation", 2), p = sink(sg, "Sink: Print to Std. Out", 2);
  edge(sg, s, fm);
  edge_p(sg, fm, agg, FLOW_PART_HASH);
  edge(sg, agg, p);
  return sg;
}

static void test_explain(void) {
  CTEST_CASE("explain json");
  flow_stream_graph_t *sg = word_count();
  flow_job_graph_t *jg = build_ok(sg);
  char *js = flow_explain_json(jg);
  CHECK_NOT_NULL(js);
  CHECK_CONTAINS(js, "\"job_name\":\"WordCount\"");
  CHECK_CONTAINS(js, "\"runtime_mode\":\"batch\"");
  CHECK_CONTAINS(js, "\"stream_graph\":{");
  CHECK_CONTAINS(js, "\"nodes\":[");
  CHECK_CONTAINS(js, "{\"id\":1,\"name\":\"Source: Collection Source\",\"parallelism\":2,"
                     "\"max_parallelism\":128,\"slot_sharing_group\":\"default\"");
  CHECK_CONTAINS(js, "{\"source\":1,\"target\":2,\"partitioner\":\"forward\"");
  CHECK_CONTAINS(js, "{\"source\":2,\"target\":3,\"partitioner\":\"hash\"");
  CHECK_CONTAINS(js, "\"job_graph\":{");
  CHECK_CONTAINS(js, "\"vertices\":[");
  CHECK_CONTAINS(js, "{\"id\":1,\"name\":\"Source: Collection Source -> Flat Map\","
                     "\"parallelism\":2,\"operators\":[1,2]");
  CHECK_CONTAINS(js, "{\"id\":2,\"name\":\"Keyed Aggregation -> Sink: Print to Std. Out\","
                     "\"parallelism\":2,\"operators\":[3,4]");
  CHECK_CONTAINS(js, "\"edges\":[\n      {\"source\":1,\"target\":2,\"partitioner\":\"hash\"");
  CHECK_CONTAINS(js, "\"slots_required\":2");
  CHECK(js && js[0] == '{' && js[strlen(js) - 2] == '}');
  free(js);

  CTEST_CASE("explain text");
  char *tx = flow_explain_text(jg);
  CHECK_CONTAINS(tx, "Job \"WordCount\" (batch), 2 slots\n");
  CHECK_CONTAINS(tx, "  [1] Source: Collection Source -> Flat Map   parallelism 2\n");
  CHECK_CONTAINS(tx, "        --hash--> [2]\n");
  CHECK_CONTAINS(tx, "  [2] Keyed Aggregation -> Sink: Print to Std. Out   parallelism 2\n");
  free(tx);

  CTEST_CASE("explain dot");
  char *dot = flow_explain_dot(jg);
  CHECK_CONTAINS(dot, "digraph");
  CHECK_CONTAINS(dot, "v1 -> v2 [label=\"hash\"]");
  CHECK_CONTAINS(dot, "Keyed Aggregation");
  free(dot);
  flow_jg_free(jg);
  flow_sg_free(sg);

  CTEST_CASE("explain escaping");
  sg = flow_sg_new("a \"quoted\" \\ job\n\t\x01");
  int s = src(sg, "Source: \"S\"", 1), p = sink(sg, "Sink: C:\\out{x|y}<z>", 1);
  edge(sg, s, p);
  jg = build_ok(sg);
  js = flow_explain_json(jg);
  CHECK_CONTAINS(js, "\"job_name\":\"a \\\"quoted\\\" \\\\ job\\u000a\\u0009\\u0001\"");
  CHECK_CONTAINS(js, "\"name\":\"Source: \\\"S\\\"\"");
  CHECK_CONTAINS(js, "\"runtime_mode\":\"streaming\"");
  CHECK_CONTAINS(js, "\"slots_required\":1");
  free(js);
  dot = flow_explain_dot(jg);
  CHECK_CONTAINS(dot, "Source: \\\"S\\\"");
  CHECK_CONTAINS(dot, "Sink: C:\\\\out{x|y}<z>");
  CHECK_NOT_CONTAINS(dot, "\n\t");
  free(dot);
  tx = flow_explain_text(jg);
  CHECK_CONTAINS(tx, "1 slot\n");
  CHECK_NOT_CONTAINS(tx, "\t");
  free(tx);
  flow_jg_free(jg);
  flow_sg_free(sg);

  CTEST_CASE("explain shows groups and two inputs");
  sg = flow_sg_new("co");
  opts_t g = DEF;
  g.ssg = "iso";
  int a = src(sg, "A", 2), b = src(sg, "B", 2), co = opx(sg, "Co", 2, g);
  p = sinkx(sg, "P", 2, g);
  CHECK_EQ_INT(flow_sg_add_edge(sg, a, co, FLOW_PART_HASH, 1, 1), 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, b, co, FLOW_PART_HASH, 1, 2), 0);
  edge(sg, co, p);
  jg = build_ok(sg);
  tx = flow_explain_text(jg);
  CHECK_CONTAINS(tx, ", 4 slots\n");
  CHECK_CONTAINS(tx, "  [3] Co -> P   parallelism 2, slot sharing group \"iso\"\n");
  CHECK_CONTAINS(tx, "        --hash--> [3] (input 2)\n");
  free(tx);
  js = flow_explain_json(jg);
  CHECK_CONTAINS(js, "\"slot_sharing_group\":\"iso\"");
  CHECK_CONTAINS(js, "\"type_number\":2");
  free(js);
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_large_graphs(void) {
  CTEST_CASE("long chain");
  enum { N = 3000 };
  flow_stream_graph_t *sg = flow_sg_new("long");
  char name[32];
  int prev = src(sg, "S", 2);
  for (int i = 2; i < N; i++) {
    snprintf(name, sizeof name, "M%d", i);
    int m = op(sg, name, 2);
    edge(sg, prev, m);
    prev = m;
  }
  edge(sg, prev, sink(sg, "P", 2));
  flow_job_graph_t *jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 1);
    CHECK_EQ_INT(V(jg, 1)->n_ops, N);
    CHECK_EQ_INT(V(jg, 1)->ops[N - 1], N);
    CHECK(strncmp(V(jg, 1)->name, "S -> M2 -> M3 -> ", 17) == 0);
    size_t len = strlen(V(jg, 1)->name);
    CHECK(len > 4 && strcmp(V(jg, 1)->name + len - 4, "-> P") == 0);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);

  CTEST_CASE("wide fan-out, keyed every other");
  sg = flow_sg_new("wide");
  int s = src(sg, "S", 2);
  for (int i = 0; i < 500; i++) {
    int k = sink(sg, "K", 2);
    if (i % 2) edge_p(sg, s, k, FLOW_PART_HASH);
    else edge(sg, s, k);
  }
  jg = build_ok(sg);
  if (jg) {
    CHECK_EQ_INT(jg->n_vertices, 1 + 250);
    CHECK_EQ_INT(V(jg, 1)->n_ops, 1 + 250);
    CHECK_EQ_INT(jg->n_edges, 250);
    CHECK_EQ_INT(jg->edges[249].target_node, 501);
    CHECK_EQ_INT(jg->slots_required, 2);
  }
  flow_jg_free(jg);
  flow_sg_free(sg);
}

int main(void) {
  test_single_chain();
  test_key_by_splits();
  test_parallelism_change_rebalance();
  test_explicit_partitioners_split();
  test_explicit_forward_equal_chains();
  test_explicit_forward_across_parallelism();
  test_union();
  test_two_input();
  test_fan_out_in_chain();
  test_diamond();
  test_start_new_chain();
  test_disable_chaining();
  test_env_chaining_disabled();
  test_slot_sharing_groups();
  test_max_parallelism_splits();
  test_head_source_and_union_of_chains();
  test_is_chainable_rules();
  test_cycle();
  test_parallelism_errors();
  test_structure_errors();
  test_api_contract();
  test_partitioner_names();
  test_execution_graph();
  test_execution_states();
  test_explain();
  test_large_graphs();
  return CTEST_SUMMARY();
}
