/* StreamGraph encoding and decoding (docs/wire.md, "Graph payload").
 * Decoding treats its input as hostile: nothing read is used before it is
 * checked, and allocations are bounded by the input's size. */
#include "graph/serialize.h"

#include "util/common.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Smallest encodings, used to bound counts by the bytes left before any
 * allocation: a node is id + 5 string lengths + 2 ints + 3 bytes + payload
 * length; an edge is 2 ints + 3 bytes. */
#define MIN_NODE_BYTES (4 + 5 * 4 + 2 * 4 + 3 + 4)
#define MIN_EDGE_BYTES (2 * 4 + 3)

/* ------------------------------------------------------------- encode --- */

static void encode_node(const flow_stream_node_t *n, flow_wbuf_t *w) {
  flow_wr_i32(w, n->id);
  flow_wr_str(w, n->name);
  flow_wr_str(w, n->kind);
  flow_wr_str(w, n->slot_sharing_group);
  flow_wr_str(w, n->uid);
  flow_wr_str(w, n->origin);
  flow_wr_i32(w, n->parallelism);
  flow_wr_i32(w, n->max_parallelism);
  flow_wr_u8(w, (uint8_t)n->chaining);
  flow_wr_u8(w, n->is_source ? 1 : 0);
  flow_wr_u8(w, n->is_keyed ? 1 : 0);
  flow_wr_bytes(w, n->payload, n->payload_len);
}

static void encode_edge(const flow_stream_edge_t *e, flow_wbuf_t *w) {
  flow_wr_i32(w, e->source);
  flow_wr_i32(w, e->target);
  flow_wr_u8(w, (uint8_t)e->part);
  flow_wr_u8(w, e->explicit_part ? 1 : 0);
  flow_wr_u8(w, (uint8_t)e->type_number);
}

int flow_sg_encode(const flow_stream_graph_t *sg, flow_wbuf_t *w) {
  if (sg == NULL || w == NULL || sg->job_name == NULL) return FLOW_EINVAL;
  if (!sg->finalized) return FLOW_ESTATE;
  if (sg->n_nodes < 0 || sg->n_edges < 0) return FLOW_EINVAL;
  flow_wr_u8(w, FLOW_SG_WIRE_VERSION);
  flow_wr_str(w, sg->job_name);
  flow_wr_u8(w, (uint8_t)sg->mode);
  flow_wr_u8(w, sg->chaining_enabled ? 1 : 0);
  flow_wr_i32(w, sg->max_parallelism);
  flow_wr_u32(w, (uint32_t)sg->n_nodes);
  for (int i = 0; i < sg->n_nodes; i++) encode_node(&sg->nodes[i], w);
  flow_wr_u32(w, (uint32_t)sg->n_edges);
  for (int i = 0; i < sg->n_edges; i++) encode_edge(&sg->edges[i], w);
  return w->err;
}

/* ------------------------------------------------------------- decode --- */

typedef struct {
  flow_rbuf_t r;
  char *err;
  size_t errlen;
} dec_t;

static int bad(dec_t *d, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(dec_t *d, int code, const char *fmt, ...) {
  if (d->err != NULL && d->errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, d->errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

/* A node's boolean byte: only 0 and 1 are valid. */
static int rd_bool(dec_t *d, int *out, const char *what, int node) {
  uint8_t v;
  if (flow_rd_u8(&d->r, &v) != 0) return bad(d, FLOW_EINVAL, "node %d: truncated %s", node, what);
  if (v > 1) return bad(d, FLOW_EINVAL, "node %d: %s is %u, not 0 or 1", node, what, v);
  *out = v;
  return 0;
}

/* Reads a string field; maps a reader failure to a message naming it. */
static int rd_str(dec_t *d, char **s, int allow_null, const char *what, int node) {
  int rc = flow_rd_str(&d->r, s, allow_null);
  if (rc == FLOW_ENOMEM) return bad(d, rc, "out of memory");
  if (rc != 0) return bad(d, FLOW_EINVAL, "node %d: malformed or truncated %s", node, what);
  return 0;
}

/* The strings of one node, owned until add_node copies them. */
typedef struct {
  char *name, *kind, *ssg, *uid, *origin;
} node_strs_t;

static void free_strs(node_strs_t *s) {
  free(s->name);
  free(s->kind);
  free(s->ssg);
  free(s->uid);
  free(s->origin);
}

/* Decodes node number `id` (1-based) and adds it to sg. */
static int decode_node(dec_t *d, flow_stream_graph_t *sg, int id) {
  node_strs_t s = {0};
  flow_stream_node_desc_t nd;
  int32_t wire_id, par, maxp;
  uint8_t chain;
  const uint8_t *payload = NULL;
  uint32_t payload_len = 0;
  int rc = 0;
  memset(&nd, 0, sizeof nd);
  if (flow_rd_i32(&d->r, &wire_id) != 0) return bad(d, FLOW_EINVAL, "node %d: truncated", id);
  if (wire_id != id) return bad(d, FLOW_EINVAL, "node %d carries id %d", id, (int)wire_id);
  if ((rc = rd_str(d, &s.name, 0, "name", id)) != 0 || (rc = rd_str(d, &s.kind, 0, "kind", id)) != 0 ||
      (rc = rd_str(d, &s.ssg, 0, "slot sharing group", id)) != 0 ||
      (rc = rd_str(d, &s.uid, 1, "uid", id)) != 0 || (rc = rd_str(d, &s.origin, 1, "origin", id)) != 0)
    goto out;
  if (flow_rd_i32(&d->r, &par) != 0 || flow_rd_i32(&d->r, &maxp) != 0 ||
      flow_rd_u8(&d->r, &chain) != 0) {
    rc = bad(d, FLOW_EINVAL, "node %d: truncated", id);
    goto out;
  }
  /* parallelism ranges are checked by flow_sg_finalize; 0 (unresolved) is
   * not a finalized graph */
  if (maxp == 0) {
    rc = bad(d, FLOW_EINVAL, "node %d: unresolved max parallelism", id);
    goto out;
  }
  if (chain > FLOW_CHAIN_NEVER) {
    rc = bad(d, FLOW_EINVAL, "node %d: unknown chaining strategy %u", id, chain);
    goto out;
  }
  if ((rc = rd_bool(d, &nd.is_source, "is_source", id)) != 0 ||
      (rc = rd_bool(d, &nd.is_keyed, "is_keyed", id)) != 0)
    goto out;
  if (flow_rd_bytes(&d->r, &payload, &payload_len) != 0) {
    rc = bad(d, FLOW_EINVAL, "node %d: malformed or truncated payload", id);
    goto out;
  }
  nd.name = s.name;
  nd.kind = s.kind;
  nd.slot_sharing_group = s.ssg;
  nd.uid = s.uid;
  nd.origin = s.origin;
  nd.parallelism = par;
  nd.max_parallelism = maxp;
  nd.chaining = (flow_chaining_t)chain;
  nd.payload = payload;
  nd.payload_len = payload_len;
  rc = flow_sg_add_node(sg, &nd);
  if (rc < 0) rc = bad(d, rc, "node %d: %s", id, flow_strerror(rc));
  else rc = 0; /* ids are assigned in order, so the new id is `id` */
out:
  free_strs(&s);
  return rc;
}

/* Decodes edge number i (1-based); its resolved partitioner goes to *part. */
static int decode_edge(dec_t *d, flow_stream_graph_t *sg, int i, flow_partitioner_t *part) {
  int32_t src, dst;
  uint8_t p, expl, tn;
  if (flow_rd_i32(&d->r, &src) != 0 || flow_rd_i32(&d->r, &dst) != 0 ||
      flow_rd_u8(&d->r, &p) != 0 || flow_rd_u8(&d->r, &expl) != 0 || flow_rd_u8(&d->r, &tn) != 0)
    return bad(d, FLOW_EINVAL, "edge %d: truncated", i);
  if (src < 1 || src > sg->n_nodes || dst < 1 || dst > sg->n_nodes)
    return bad(d, FLOW_EINVAL, "edge %d: unknown node id %d -> %d", i, (int)src, (int)dst);
  if (p >= FLOW_PART__COUNT) return bad(d, FLOW_EINVAL, "edge %d: unknown partitioner %u", i, p);
  if (expl > 1) return bad(d, FLOW_EINVAL, "edge %d: explicit flag is %u", i, expl);
  if (tn > 2) return bad(d, FLOW_EINVAL, "edge %d: type number %u outside 0..2", i, tn);
  int rc = flow_sg_add_edge(sg, src, dst, (flow_partitioner_t)p, expl, tn);
  if (rc != 0) return bad(d, rc, "edge %d: %s", i, flow_strerror(rc));
  *part = (flow_partitioner_t)p;
  return 0;
}

/* Reads a count and checks it against the bytes left (each item needs at
 * least min_bytes), so a forged count cannot make us allocate much. */
static int rd_count(dec_t *d, int *out, size_t min_bytes, const char *what) {
  uint32_t n;
  if (flow_rd_u32(&d->r, &n) != 0) return bad(d, FLOW_EINVAL, "truncated %s count", what);
  if (n > INT_MAX || (size_t)n > flow_rd_left(&d->r) / min_bytes)
    return bad(d, FLOW_EINVAL, "%s count %u exceeds the bytes left", what, n);
  *out = (int)n;
  return 0;
}

/* The job header: version, name, mode, chaining, max parallelism. */
static int decode_job(dec_t *d, flow_stream_graph_t **out) {
  uint8_t version, mode, chaining;
  int32_t maxp;
  char *name = NULL;
  if (flow_rd_u8(&d->r, &version) != 0) return bad(d, FLOW_EINVAL, "empty graph payload");
  if (version != FLOW_SG_WIRE_VERSION)
    return bad(d, FLOW_EINVAL, "unsupported graph payload version %u", version);
  int rc = flow_rd_str(&d->r, &name, 0);
  if (rc != 0) return bad(d, rc, "malformed or truncated job name");
  if (flow_rd_u8(&d->r, &mode) != 0 || flow_rd_u8(&d->r, &chaining) != 0 ||
      flow_rd_i32(&d->r, &maxp) != 0) {
    free(name);
    return bad(d, FLOW_EINVAL, "truncated job header");
  }
  if (chaining > 1) {
    free(name);
    return bad(d, FLOW_EINVAL, "job header: chaining_enabled is %u, not 0 or 1", chaining);
  }
  if (mode > FLOW_MODE_BATCH) {
    free(name);
    return bad(d, FLOW_EINVAL, "unknown runtime mode %u", mode);
  }
  flow_stream_graph_t *sg = flow_sg_new(name);
  free(name);
  if (sg == NULL) return bad(d, FLOW_ENOMEM, "out of memory");
  sg->mode = (flow_runtime_mode_t)mode;
  sg->chaining_enabled = chaining;
  /* not range checked: every node of a finalized graph carries its own
   * resolved max parallelism, so the job default is informational here */
  sg->max_parallelism = maxp;
  *out = sg;
  return 0;
}

/* Finalizes the decoded graph and checks that it resolved every partitioner
 * to what the sender had: a mismatch means the bytes do not describe a graph
 * the sender finalized. */
static int finalize_checked(dec_t *d, flow_stream_graph_t *sg, const flow_partitioner_t *parts) {
  char msg[512];
  for (int i = 0; i < sg->n_edges; i++) sg->edges[i].part = parts[i];
  int rc = flow_sg_finalize(sg, msg, sizeof msg);
  if (rc != 0) return bad(d, FLOW_EGRAPH, "invalid graph: %s", msg);
  for (int i = 0; i < sg->n_edges; i++)
    if (sg->edges[i].part != parts[i])
      return bad(d, FLOW_EGRAPH, "edge %d: partitioner %s does not match its resolution %s", i + 1,
                 flow_partitioner_name(parts[i]), flow_partitioner_name(sg->edges[i].part));
  return 0;
}

static int decode_body(dec_t *d, flow_stream_graph_t *sg) {
  int n_nodes = 0, n_edges = 0, rc;
  if ((rc = rd_count(d, &n_nodes, MIN_NODE_BYTES, "node")) != 0) return rc;
  for (int i = 1; i <= n_nodes; i++)
    if ((rc = decode_node(d, sg, i)) != 0) return rc;
  if ((rc = rd_count(d, &n_edges, MIN_EDGE_BYTES, "edge")) != 0) return rc;
  flow_partitioner_t *parts = calloc((size_t)n_edges + 1, sizeof *parts);
  if (parts == NULL) return bad(d, FLOW_ENOMEM, "out of memory");
  for (int i = 1; i <= n_edges && rc == 0; i++) rc = decode_edge(d, sg, i, &parts[i - 1]);
  if (rc == 0 && flow_rd_left(&d->r) != 0)
    rc = bad(d, FLOW_EINVAL, "%zu trailing bytes after the graph", flow_rd_left(&d->r));
  if (rc == 0) rc = finalize_checked(d, sg, parts);
  free(parts);
  return rc;
}

int flow_sg_decode(const void *data, size_t len, flow_stream_graph_t **out, char *err,
                   size_t errlen) {
  dec_t d;
  flow_stream_graph_t *sg = NULL;
  if (out == NULL) return FLOW_EINVAL;
  *out = NULL;
  flow_rbuf_init(&d.r, data, len);
  d.err = err;
  d.errlen = errlen;
  if (err != NULL && errlen > 0) err[0] = '\0';
  int rc = decode_job(&d, &sg);
  if (rc == 0) rc = decode_body(&d, sg);
  if (rc != 0) {
    flow_sg_free(sg);
    return rc;
  }
  *out = sg;
  return 0;
}

/* ------------------------------------------------------------- equal --- */

static int str_eq(const char *a, const char *b) {
  return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int node_eq(const flow_stream_node_t *a, const flow_stream_node_t *b) {
  return a->id == b->id && str_eq(a->name, b->name) && str_eq(a->kind, b->kind) &&
         str_eq(a->slot_sharing_group, b->slot_sharing_group) && str_eq(a->uid, b->uid) &&
         str_eq(a->origin, b->origin) && a->parallelism == b->parallelism &&
         a->max_parallelism == b->max_parallelism && a->chaining == b->chaining &&
         a->is_source == b->is_source && a->is_keyed == b->is_keyed &&
         a->payload_len == b->payload_len &&
         (a->payload_len == 0 || memcmp(a->payload, b->payload, a->payload_len) == 0);
}

static int edge_eq(const flow_stream_edge_t *a, const flow_stream_edge_t *b) {
  return a->source == b->source && a->target == b->target && a->part == b->part &&
         a->explicit_part == b->explicit_part && a->type_number == b->type_number;
}

int flow_sg_equal(const flow_stream_graph_t *a, const flow_stream_graph_t *b) {
  if (a == NULL || b == NULL) return a == b;
  if (!str_eq(a->job_name, b->job_name) || a->mode != b->mode ||
      a->chaining_enabled != b->chaining_enabled || a->max_parallelism != b->max_parallelism ||
      a->finalized != b->finalized || a->n_nodes != b->n_nodes || a->n_edges != b->n_edges)
    return 0;
  for (int i = 0; i < a->n_nodes; i++)
    if (!node_eq(&a->nodes[i], &b->nodes[i])) return 0;
  for (int i = 0; i < a->n_edges; i++)
    if (!edge_eq(&a->edges[i], &b->edges[i])) return 0;
  return 1;
}
