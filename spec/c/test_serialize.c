/* StreamGraph serialization (src/graph/serialize.h): round trips that
 * reproduce the graph and its JobGraph, a trip through a wire frame,
 * hand-made malformed payloads, and a deterministic fuzz loop of mutations
 * and truncations that must decode or fail cleanly, never crash (run it
 * under ASan: cmake -DFLOWLUA_SANITIZE=ON). */
#include "net/frame.h"
#include "util/common.h"
#include "graph/job_graph.h"
#include "graph/serialize.h"
#include "graph/stream_graph.h"
#include "util/wire.h"

#include "ctest_assert.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char err[1024];

/* ------------------------------------------------------------ helpers --- */

static int node(flow_stream_graph_t *sg, const char *name, const char *kind, int par, int src,
                flow_chaining_t ch, const char *ssg, const char *uid, const char *origin,
                const void *payload, size_t plen, int maxp, int keyed) {
  flow_stream_node_desc_t d;
  memset(&d, 0, sizeof d);
  d.name = name;
  d.kind = kind;
  d.parallelism = par;
  d.max_parallelism = maxp;
  d.slot_sharing_group = ssg;
  d.uid = uid;
  d.chaining = src ? FLOW_CHAIN_HEAD : ch;
  d.is_source = src;
  d.is_keyed = keyed;
  d.origin = origin;
  d.payload = payload;
  d.payload_len = plen;
  int id = flow_sg_add_node(sg, &d);
  CHECK(id >= 1);
  return id;
}

/* Two sources joined by a two-input operator, keyed and rebalanced edges, a
 * chain, a never-chained operator, another slot sharing group, payloads
 * with NUL bytes, NULL and set uid/origin: every field takes a non-default
 * value somewhere. */
static flow_stream_graph_t *sample_graph(void) {
  static const uint8_t blob[] = {0, 1, 2, 0xff, 0, 'x'};
  flow_stream_graph_t *sg = flow_sg_new("wire test job");
  sg->mode = FLOW_MODE_BATCH;
  sg->max_parallelism = 256;
  int a = node(sg, "Source: A", "source", 2, 1, FLOW_CHAIN_HEAD, NULL, "src-a", "job.lua:3",
               blob, sizeof blob, 0, 0);
  int b = node(sg, "Source: B", "source_collection", 4, 1, FLOW_CHAIN_HEAD, NULL, NULL, NULL,
               NULL, 0, 64, 0);
  int m = node(sg, "Map", "map", 2, 0, FLOW_CHAIN_ALWAYS, NULL, NULL, "job.lua:4", "fn", 2, 0, 0);
  int co = node(sg, "CoMap", "co_map", 4, 0, FLOW_CHAIN_ALWAYS, "other", "co", NULL, NULL, 0, 0,
                1);
  int f = node(sg, "Filter", "filter", 4, 0, FLOW_CHAIN_NEVER, "other", NULL, NULL, "", 0, 0, 0);
  int s = node(sg, "Sink: Print", "sink_print", 1, 0, FLOW_CHAIN_ALWAYS, NULL, "out",
               "job.lua:9", blob, 3, 0, 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, a, m, FLOW_PART_FORWARD, 0, 0), 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, m, co, FLOW_PART_HASH, 1, 1), 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, b, co, FLOW_PART_FORWARD, 0, 2), 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, co, f, FLOW_PART_FORWARD, 0, 0), 0);
  CHECK_EQ_INT(flow_sg_add_edge(sg, f, s, FLOW_PART_GLOBAL, 1, 0), 0);
  CHECK_EQ_INT(flow_sg_finalize(sg, err, sizeof err), 0);
  return sg;
}

static void encode(const flow_stream_graph_t *sg, flow_wbuf_t *w) {
  flow_wbuf_init(w);
  CHECK_EQ_INT(flow_sg_encode(sg, w), 0);
}

static int jg_equal(const flow_job_graph_t *a, const flow_job_graph_t *b) {
  if (a->n_vertices != b->n_vertices || a->n_edges != b->n_edges ||
      a->slots_required != b->slots_required)
    return 0;
  for (int i = 0; i < a->n_vertices; i++) {
    const flow_job_vertex_t *x = &a->vertices[i], *y = &b->vertices[i];
    if (x->id != y->id || strcmp(x->name, y->name) != 0 || x->parallelism != y->parallelism ||
        x->max_parallelism != y->max_parallelism ||
        strcmp(x->slot_sharing_group, y->slot_sharing_group) != 0 || x->n_ops != y->n_ops ||
        memcmp(x->ops, y->ops, (size_t)x->n_ops * sizeof(int)) != 0)
      return 0;
  }
  for (int i = 0; i < a->n_edges; i++) {
    const flow_job_edge_t *x = &a->edges[i], *y = &b->edges[i];
    if (x->source != y->source || x->target != y->target || x->source_node != y->source_node ||
        x->target_node != y->target_node || x->part != y->part || x->type_number != y->type_number)
      return 0;
  }
  return 1;
}

/* ------------------------------------------------------- round trips --- */

static void test_round_trip(void) {
  CTEST_CASE("round trip");
  flow_stream_graph_t *sg = sample_graph();
  flow_wbuf_t w;
  encode(sg, &w);
  flow_stream_graph_t *back = NULL;
  CHECK_EQ_INT(flow_sg_decode(w.data, w.len, &back, err, sizeof err), 0);
  CHECK_STR(err, "");
  CHECK_NOT_NULL(back);
  if (back == NULL) return;
  CHECK(flow_sg_equal(sg, back));
  CHECK_STR(back->job_name, "wire test job");
  CHECK_EQ_INT(back->mode, FLOW_MODE_BATCH);
  CHECK_EQ_INT(back->nodes[0].payload_len, 6);
  CHECK_NULL(back->nodes[1].uid);
  CHECK_STR(back->nodes[3].slot_sharing_group, "other");
  CHECK_EQ_INT(back->edges[1].part, FLOW_PART_HASH);
  CHECK_EQ_INT(back->edges[2].type_number, 2);

  /* re-encoding the decoded graph gives the same bytes */
  flow_wbuf_t w2;
  encode(back, &w2);
  CHECK(w2.len == w.len && memcmp(w.data, w2.data, w.len) == 0);

  /* and the same JobGraph */
  flow_job_graph_t *j1 = flow_jg_build(sg, err, sizeof err);
  flow_job_graph_t *j2 = flow_jg_build(back, err, sizeof err);
  CHECK_NOT_NULL(j1);
  CHECK_NOT_NULL(j2);
  if (j1 && j2) {
    CHECK(jg_equal(j1, j2));
    CHECK(j1->n_vertices >= 4); /* the graph chains some operators, not all */
  }
  flow_jg_free(j1);
  flow_jg_free(j2);
  flow_wbuf_free(&w2);
  flow_wbuf_free(&w);
  flow_sg_free(back);

  CTEST_CASE("chaining disabled, streaming");
  sg->chaining_enabled = 0;
  sg->mode = FLOW_MODE_STREAMING;
  encode(sg, &w);
  CHECK_EQ_INT(flow_sg_decode(w.data, w.len, &back, err, sizeof err), 0);
  CHECK(back != NULL && flow_sg_equal(sg, back));
  CHECK(back != NULL && back->chaining_enabled == 0);
  flow_sg_free(back);
  flow_wbuf_free(&w);
  flow_sg_free(sg);
}

static int decode_in_frame(void *ud, const flow_frame_t *f) {
  flow_stream_graph_t **out = ud;
  if (f->type != 1) return 1;
  return flow_sg_decode(f->payload, f->len, out, err, sizeof err) == 0 ? 0 : 2;
}

static void test_through_frame(void) {
  CTEST_CASE("through a frame, byte by byte");
  flow_stream_graph_t *sg = sample_graph();
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  size_t at = flow_frame_begin(&w, 1, 0);
  CHECK_EQ_INT(flow_sg_encode(sg, &w), 0);
  CHECK_EQ_INT(flow_frame_finish(&w, at), 0);
  flow_frame_decoder_t d;
  flow_frame_decoder_init(&d, 0);
  flow_stream_graph_t *back = NULL;
  for (size_t i = 0; i < w.len; i++)
    CHECK_EQ_INT(flow_frame_decoder_feed(&d, w.data + i, 1, decode_in_frame, &back), 0);
  CHECK(back != NULL && flow_sg_equal(sg, back));
  CHECK(flow_frame_decoder_idle(&d));
  flow_frame_decoder_free(&d);
  flow_sg_free(back);
  flow_wbuf_free(&w);
  flow_sg_free(sg);
}

static void test_encode_errors(void) {
  CTEST_CASE("encode refuses an unfinalized graph");
  flow_stream_graph_t *sg = flow_sg_new("x");
  node(sg, "Source", "source", 1, 1, FLOW_CHAIN_HEAD, NULL, NULL, NULL, NULL, 0, 0, 0);
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  CHECK_EQ_INT(flow_sg_encode(sg, &w), FLOW_ESTATE);
  CHECK_EQ_INT(w.len, 0);
  CHECK_EQ_INT(flow_sg_encode(NULL, &w), FLOW_EINVAL);
  flow_wbuf_free(&w);
  flow_sg_free(sg);
}

/* -------------------------------------------------- hand-made payloads --- */

/* A graph written field by field, so single fields can be made wrong.
 * Default: source(p1) -> sink(p1), forward, not explicit. */
typedef struct {
  uint8_t version, mode, chaining;
  int32_t node2_id, maxp2;
  uint8_t chain2, src2, keyed2;
  const char *kind2;
  uint32_t n_nodes, n_edges, name_len_override;
  int32_t e_src, e_dst;
  uint8_t e_part, e_expl, e_tn;
  int cycle;   /* add an edge sink -> source */
  int trailing; /* append a byte */
} spec_t;

static spec_t good_spec(void) {
  spec_t s;
  memset(&s, 0, sizeof s);
  s.version = FLOW_SG_WIRE_VERSION;
  s.chaining = 1;
  s.node2_id = 2;
  s.maxp2 = 128;
  s.kind2 = "sink";
  s.n_nodes = 2;
  s.n_edges = 1;
  s.e_src = 1;
  s.e_dst = 2;
  return s;
}

static void write_node(flow_wbuf_t *w, int32_t id, const char *kind, int32_t maxp, uint8_t chain,
                       uint8_t src, uint8_t keyed) {
  flow_wr_i32(w, id);
  flow_wr_str(w, kind);
  flow_wr_str(w, kind);
  flow_wr_str(w, "default");
  flow_wr_str(w, NULL);
  flow_wr_str(w, NULL);
  flow_wr_i32(w, 1);
  flow_wr_i32(w, maxp);
  flow_wr_u8(w, chain);
  flow_wr_u8(w, src);
  flow_wr_u8(w, keyed);
  flow_wr_bytes(w, "", 0);
}

static void write_spec(flow_wbuf_t *w, const spec_t *s) {
  flow_wbuf_init(w);
  flow_wr_u8(w, s->version);
  if (s->name_len_override) {
    flow_wr_u32(w, s->name_len_override);
    flow_wr_raw(w, "job", 3);
  } else {
    flow_wr_str(w, "job");
  }
  flow_wr_u8(w, s->mode);
  flow_wr_u8(w, s->chaining);
  flow_wr_i32(w, 128);
  flow_wr_u32(w, s->n_nodes);
  write_node(w, 1, "source", 128, FLOW_CHAIN_HEAD, 1, 0);
  write_node(w, s->node2_id, s->kind2, s->maxp2, s->chain2, s->src2, s->keyed2);
  flow_wr_u32(w, s->n_edges + (s->cycle ? 1 : 0));
  flow_wr_i32(w, s->e_src);
  flow_wr_i32(w, s->e_dst);
  flow_wr_u8(w, s->e_part);
  flow_wr_u8(w, s->e_expl);
  flow_wr_u8(w, s->e_tn);
  if (s->cycle) {
    flow_wr_i32(w, 2);
    flow_wr_i32(w, 1);
    flow_wr_u8(w, 0);
    flow_wr_u8(w, 0);
    flow_wr_u8(w, 0);
  }
  if (s->trailing) flow_wr_u8(w, 0);
}

static void expect(const spec_t *s, int want, const char *msg) {
  flow_wbuf_t w;
  write_spec(&w, s);
  flow_stream_graph_t *g = (flow_stream_graph_t *)&w; /* must be reset to NULL */
  int rc = flow_sg_decode(w.data, w.len, &g, err, sizeof err);
  CHECK_EQ_INT(rc, want);
  if (want != 0) {
    CHECK_NULL(g);
    CHECK_CONTAINS(err, msg);
  } else {
    CHECK_NOT_NULL(g);
  }
  flow_sg_free(g);
  flow_wbuf_free(&w);
}

static void test_malformed(void) {
  spec_t s;
  CTEST_CASE("hand-made: valid");
  s = good_spec();
  expect(&s, 0, "");
  CTEST_CASE("hand-made: bad version");
  s = good_spec();
  s.version = 2;
  expect(&s, FLOW_EINVAL, "version 2");
  CTEST_CASE("hand-made: bad mode");
  s = good_spec();
  s.mode = 2;
  expect(&s, FLOW_EINVAL, "runtime mode");
  CTEST_CASE("hand-made: chaining flag not boolean");
  s = good_spec();
  s.chaining = 7;
  expect(&s, FLOW_EINVAL, "chaining_enabled");
  CTEST_CASE("hand-made: job name length past the end");
  s = good_spec();
  s.name_len_override = 1000;
  expect(&s, FLOW_EINVAL, "job name");
  CTEST_CASE("hand-made: node count larger than the bytes");
  s = good_spec();
  s.n_nodes = 0xffffffffu;
  expect(&s, FLOW_EINVAL, "node count");
  CTEST_CASE("hand-made: one node fewer than written");
  s = good_spec();
  s.n_nodes = 1; /* the second node's bytes are then read as the edge count */
  expect(&s, FLOW_EINVAL, "");
  CTEST_CASE("hand-made: node id out of order");
  s = good_spec();
  s.node2_id = 5;
  expect(&s, FLOW_EINVAL, "carries id 5");
  CTEST_CASE("hand-made: unknown chaining strategy");
  s = good_spec();
  s.chain2 = 3;
  expect(&s, FLOW_EINVAL, "chaining strategy");
  CTEST_CASE("hand-made: is_source not boolean");
  s = good_spec();
  s.src2 = 2;
  expect(&s, FLOW_EINVAL, "is_source");
  CTEST_CASE("hand-made: unresolved max parallelism");
  s = good_spec();
  s.maxp2 = 0;
  expect(&s, FLOW_EINVAL, "unresolved");
  CTEST_CASE("hand-made: max parallelism out of range");
  s = good_spec();
  s.maxp2 = 40000;
  expect(&s, FLOW_EGRAPH, "max parallelism");
  CTEST_CASE("hand-made: edge to an unknown node");
  s = good_spec();
  s.e_dst = 3;
  expect(&s, FLOW_EINVAL, "unknown node id");
  s.e_dst = -1;
  expect(&s, FLOW_EINVAL, "unknown node id");
  CTEST_CASE("hand-made: unknown partitioner");
  s = good_spec();
  s.e_part = FLOW_PART__COUNT;
  expect(&s, FLOW_EINVAL, "partitioner");
  CTEST_CASE("hand-made: type number");
  s = good_spec();
  s.e_tn = 3;
  expect(&s, FLOW_EINVAL, "type number");
  CTEST_CASE("hand-made: unresolved partitioner");
  s = good_spec();
  s.e_part = FLOW_PART_REBALANCE; /* not explicit, equal parallelism: forward */
  expect(&s, FLOW_EGRAPH, "does not match");
  CTEST_CASE("hand-made: cycle");
  s = good_spec();
  s.cycle = 1;
  expect(&s, FLOW_EGRAPH, "");
  CTEST_CASE("hand-made: no sink");
  s = good_spec();
  s.kind2 = "map";
  expect(&s, FLOW_EGRAPH, "no sinks");
  CTEST_CASE("hand-made: trailing bytes");
  s = good_spec();
  s.trailing = 1;
  expect(&s, FLOW_EINVAL, "trailing");

  CTEST_CASE("empty and NULL input");
  flow_stream_graph_t *g = NULL;
  CHECK_EQ_INT(flow_sg_decode(NULL, 0, &g, err, sizeof err), FLOW_EINVAL);
  CHECK_NULL(g);
  CHECK_EQ_INT(flow_sg_decode("", 0, &g, NULL, 0), FLOW_EINVAL);
  CHECK_EQ_INT(flow_sg_decode("", 0, NULL, NULL, 0), FLOW_EINVAL);
}

static void test_truncations(void) {
  CTEST_CASE("every truncation fails cleanly");
  flow_stream_graph_t *sg = sample_graph();
  flow_wbuf_t w;
  encode(sg, &w);
  int all_failed = 1;
  for (size_t cut = 0; cut < w.len; cut++) {
    uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
    memcpy(copy, w.data, cut);
    flow_stream_graph_t *g = NULL;
    if (flow_sg_decode(copy, cut, &g, err, sizeof err) != FLOW_EINVAL || g != NULL) all_failed = 0;
    flow_sg_free(g);
    free(copy);
  }
  CHECK(all_failed);
  flow_wbuf_free(&w);
  flow_sg_free(sg);
}

/* ------------------------------------------------------------- fuzz --- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) { /* xorshift64*, deterministic */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

/* Applies 1..4 random edits to buf (len in/out, capacity cap). */
static void mutate(uint8_t *buf, size_t *len, size_t cap) {
  int edits = 1 + (int)(rnd() % 4);
  for (int e = 0; e < edits && *len > 0; e++) {
    size_t at = rnd() % *len;
    switch (rnd() % 6) {
    case 0: buf[at] ^= (uint8_t)(1u << (rnd() % 8)); break;       /* bit flip */
    case 1: buf[at] = (uint8_t)rnd(); break;                       /* random byte */
    case 2: *len = at; break;                                      /* truncate */
    case 3:                                                        /* extreme u32 */
      if (*len - at >= 4) memset(buf + at, (rnd() & 1) ? 0xff : 0x00, 4);
      break;
    case 4:                                                        /* delete a run */
      {
        size_t n = 1 + rnd() % 8;
        if (n > *len - at) n = *len - at;
        memmove(buf + at, buf + at + n, *len - at - n);
        *len -= n;
      }
      break;
    default:                                                       /* insert bytes */
      {
        size_t n = 1 + rnd() % 8;
        if (*len + n > cap) break;
        memmove(buf + at + n, buf + at, *len - at);
        for (size_t i = 0; i < n; i++) buf[at + i] = (uint8_t)rnd();
        *len += n;
      }
      break;
    }
  }
}

static void test_fuzz(void) {
  CTEST_CASE("fuzz: 20000 mutations");
  flow_stream_graph_t *sg = sample_graph();
  flow_wbuf_t w;
  encode(sg, &w);
  size_t cap = w.len + 64;
  int decoded = 0, failed = 0, bad_rc = 0, reencode_mismatch = 0;
  for (int iter = 0; iter < 20000; iter++) {
    uint8_t *buf = malloc(cap);
    memcpy(buf, w.data, w.len);
    size_t len = w.len;
    mutate(buf, &len, cap);
    /* decode from an exact-size copy so ASan catches any overread */
    uint8_t *exact = malloc(len ? len : 1);
    memcpy(exact, buf, len);
    flow_stream_graph_t *g = NULL;
    int rc = flow_sg_decode(exact, len, &g, err, sizeof err);
    if (rc == 0) {
      decoded++;
      /* whatever decodes must be a finalized graph that round trips */
      flow_wbuf_t w2;
      flow_wbuf_init(&w2);
      flow_stream_graph_t *g2 = NULL;
      if (!g->finalized || flow_sg_encode(g, &w2) != 0 ||
          flow_sg_decode(w2.data, w2.len, &g2, err, sizeof err) != 0 || !flow_sg_equal(g, g2))
        reencode_mismatch++;
      flow_job_graph_t *jg = flow_jg_build(g, err, sizeof err);
      if (jg == NULL) reencode_mismatch++;
      flow_jg_free(jg);
      flow_sg_free(g2);
      flow_wbuf_free(&w2);
      flow_sg_free(g);
    } else {
      failed++;
      if (g != NULL || (rc != FLOW_EINVAL && rc != FLOW_EGRAPH)) bad_rc++;
    }
    free(exact);
    free(buf);
  }
  CHECK_EQ_INT(decoded + failed, 20000);
  CHECK(failed > 10000); /* most mutations must be caught */
  CHECK(decoded > 0);    /* some land in payload bytes or names and still decode */
  CHECK_EQ_INT(bad_rc, 0);
  CHECK_EQ_INT(reencode_mismatch, 0);
  printf("fuzz: %d decoded, %d refused\n", decoded, failed);
  flow_wbuf_free(&w);
  flow_sg_free(sg);
}

int main(void) {
  test_round_trip();
  test_through_frame();
  test_encode_errors();
  test_malformed();
  test_truncations();
  test_fuzz();
  return CTEST_SUMMARY();
}
