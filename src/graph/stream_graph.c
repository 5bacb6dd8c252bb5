/* StreamGraph: building, default partitioners, validation.
 * Flink: StreamGraph.addEdgeInternal (forward if parallelism equal, else
 * rebalance; explicit forward across parallelisms is rejected). */
#include "graph/stream_graph.h"

#include "util/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const PART_NAMES[FLOW_PART__COUNT] = {
    "forward", "rebalance", "rescale", "hash", "broadcast", "shuffle", "global",
};

const char *flow_partitioner_name(flow_partitioner_t p) {
  if ((int)p < 0 || p >= FLOW_PART__COUNT) return "unknown";
  return PART_NAMES[p];
}

int flow_partitioner_parse(const char *name, flow_partitioner_t *out) {
  if (name == NULL) return FLOW_EINVAL;
  for (int i = 0; i < FLOW_PART__COUNT; i++) {
    if (strcmp(name, PART_NAMES[i]) == 0) {
      if (out != NULL) *out = (flow_partitioner_t)i;
      return 0;
    }
  }
  return FLOW_EINVAL;
}

const char *flow_chaining_name(flow_chaining_t c) {
  switch (c) {
  case FLOW_CHAIN_ALWAYS: return "always";
  case FLOW_CHAIN_HEAD: return "head";
  case FLOW_CHAIN_NEVER: return "never";
  }
  return "unknown";
}

flow_stream_graph_t *flow_sg_new(const char *job_name) {
  flow_stream_graph_t *sg = flow_xcalloc(1, sizeof *sg);
  sg->job_name = flow_strdup(job_name ? job_name : "Flowlua Job");
  if (sg->job_name == NULL) {
    free(sg);
    return NULL;
  }
  sg->mode = FLOW_MODE_STREAMING;
  sg->chaining_enabled = 1;
  sg->max_parallelism = FLOW_DEFAULT_MAX_PARALLELISM;
  return sg;
}

static void free_node(flow_stream_node_t *n) {
  free(n->name);
  free(n->kind);
  free(n->slot_sharing_group);
  free(n->uid);
  free(n->origin);
  free(n->payload);
}

void flow_sg_free(flow_stream_graph_t *sg) {
  if (sg == NULL) return;
  for (int i = 0; i < sg->n_nodes; i++) free_node(&sg->nodes[i]);
  free(sg->nodes);
  free(sg->edges);
  free(sg->job_name);
  free(sg);
}

int flow_sg_add_node(flow_stream_graph_t *sg, const flow_stream_node_desc_t *d) {
  if (sg == NULL || d == NULL || d->name == NULL) return FLOW_EINVAL;
  if (d->payload_len > 0 && d->payload == NULL) return FLOW_EINVAL;
  if (sg->finalized) return FLOW_ESTATE;
  if (sg->n_nodes == sg->cap_nodes) {
    int cap = sg->cap_nodes ? sg->cap_nodes * 2 : 8;
    sg->nodes = flow_xrealloc(sg->nodes, (size_t)cap * sizeof *sg->nodes);
    sg->cap_nodes = cap;
  }
  flow_stream_node_t n;
  memset(&n, 0, sizeof n);
  n.id = sg->n_nodes + 1;
  n.name = flow_strdup(d->name);
  n.kind = flow_strdup(d->kind ? d->kind : (d->is_source ? "source" : "operator"));
  n.slot_sharing_group = flow_strdup(d->slot_sharing_group ? d->slot_sharing_group : "default");
  n.uid = d->uid ? flow_strdup(d->uid) : NULL;
  n.origin = d->origin ? flow_strdup(d->origin) : NULL;
  n.parallelism = d->parallelism;
  n.max_parallelism = d->max_parallelism;
  n.chaining = d->chaining;
  n.is_source = d->is_source ? 1 : 0;
  n.is_keyed = d->is_keyed ? 1 : 0;
  if (d->payload_len > 0) {
    n.payload = malloc(d->payload_len);
    if (n.payload != NULL) memcpy(n.payload, d->payload, d->payload_len);
    n.payload_len = d->payload_len;
  }
  if (n.name == NULL || n.kind == NULL || n.slot_sharing_group == NULL ||
      (d->uid && n.uid == NULL) || (d->origin && n.origin == NULL) ||
      (d->payload_len > 0 && n.payload == NULL)) {
    free_node(&n);
    return FLOW_ENOMEM;
  }
  sg->nodes[sg->n_nodes++] = n;
  return n.id;
}

int flow_sg_add_edge(flow_stream_graph_t *sg, int source, int target, flow_partitioner_t part,
                     int explicit_part, int type_number) {
  if (sg == NULL) return FLOW_EINVAL;
  if (sg->finalized) return FLOW_ESTATE;
  if (source < 1 || source > sg->n_nodes || target < 1 || target > sg->n_nodes) return FLOW_EINVAL;
  if ((int)part < 0 || part >= FLOW_PART__COUNT) return FLOW_EINVAL;
  if (type_number < 0 || type_number > 2) return FLOW_EINVAL;
  if (sg->n_edges == sg->cap_edges) {
    int cap = sg->cap_edges ? sg->cap_edges * 2 : 8;
    sg->edges = flow_xrealloc(sg->edges, (size_t)cap * sizeof *sg->edges);
    sg->cap_edges = cap;
  }
  flow_stream_edge_t *e = &sg->edges[sg->n_edges++];
  e->source = source;
  e->target = target;
  e->explicit_part = explicit_part ? 1 : 0;
  e->part = explicit_part ? part : FLOW_PART_FORWARD; /* resolved in finalize */
  e->type_number = type_number;
  return 0;
}

const flow_stream_node_t *flow_sg_node(const flow_stream_graph_t *sg, int id) {
  if (sg == NULL || id < 1 || id > sg->n_nodes) return NULL;
  return &sg->nodes[id - 1];
}

int flow_sg_is_sink_kind(const char *kind) {
  return kind != NULL && strncmp(kind, "sink", 4) == 0;
}

/* ------------------------------------------------------------------------ */

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...) {
  if (err == NULL || errlen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* "'Map' (script.lua:12)" or "'Map'" when the origin is unknown. */
static const char *describe(const flow_stream_node_t *n, char *buf, size_t len) {
  if (n->origin != NULL && n->origin[0] != '\0')
    snprintf(buf, len, "'%s' (%s)", n->name, n->origin);
  else
    snprintf(buf, len, "'%s'", n->name);
  return buf;
}

#define DESC_LEN 512

/* Returns the id of a node on a cycle, or 0 when the graph is acyclic.
 * Iterative DFS over out-edges (CSR built here), nodes visited in id order. */
static int find_cycle(const flow_stream_graph_t *sg) {
  int n = sg->n_nodes, found = 0;
  int *start = flow_xcalloc((size_t)n + 2, sizeof(int));
  int *adj = flow_xcalloc((size_t)sg->n_edges + 1, sizeof(int));
  int *fill = flow_xcalloc((size_t)n + 2, sizeof(int));
  for (int i = 0; i < sg->n_edges; i++) start[sg->edges[i].source + 1]++;
  for (int v = 1; v <= n + 1; v++) start[v] += start[v - 1];
  for (int i = 0; i < sg->n_edges; i++) {
    int s = sg->edges[i].source;
    adj[start[s] + fill[s]++] = sg->edges[i].target;
  }
  /* color: 0 white, 1 on stack, 2 done; pos: next out-edge to look at */
  int *color = fill; /* reuse */
  memset(color, 0, ((size_t)n + 2) * sizeof(int));
  int *pos = flow_xcalloc((size_t)n + 2, sizeof(int));
  int *stack = flow_xcalloc((size_t)n + 1, sizeof(int));
  for (int root = 1; root <= n && !found; root++) {
    if (color[root]) continue;
    int sp = 0;
    stack[sp++] = root;
    color[root] = 1;
    pos[root] = start[root];
    while (sp > 0 && !found) {
      int v = stack[sp - 1];
      if (pos[v] < start[v + 1]) {
        int w = adj[pos[v]++];
        if (color[w] == 1) found = w;
        else if (color[w] == 0) {
          color[w] = 1;
          pos[w] = start[w];
          stack[sp++] = w;
        }
      } else {
        color[v] = 2;
        sp--;
      }
    }
  }
  free(start);
  free(adj);
  free(fill);
  free(pos);
  free(stack);
  return found;
}

int flow_sg_finalize(flow_stream_graph_t *sg, char *err, size_t errlen) {
  char d1[DESC_LEN], d2[DESC_LEN];
  if (sg == NULL) {
    seterr(err, errlen, "no stream graph");
    return FLOW_EINVAL;
  }
  if (sg->finalized) return 0;
  if (err != NULL && errlen > 0) err[0] = '\0';
  if (sg->n_nodes == 0) {
    seterr(err, errlen, "the job has no operators");
    return FLOW_EGRAPH;
  }

  /* max parallelism and parallelism of every node (a node's 0 becomes the
   * job default only once the whole graph is valid, so that a failed
   * finalize leaves the graph as the script built it) */
  for (int i = 0; i < sg->n_nodes; i++) {
    const flow_stream_node_t *n = &sg->nodes[i];
    int maxp = n->max_parallelism ? n->max_parallelism : sg->max_parallelism;
    if (maxp < 1 || maxp > FLOW_MAX_MAX_PARALLELISM) {
      seterr(err, errlen, "max parallelism %d of %s is outside 1..%d", maxp,
             describe(n, d1, sizeof d1), FLOW_MAX_MAX_PARALLELISM);
      return FLOW_EGRAPH;
    }
    if (n->parallelism < 1) {
      seterr(err, errlen, "parallelism %d of %s must be at least 1", n->parallelism,
             describe(n, d1, sizeof d1));
      return FLOW_EGRAPH;
    }
    if (n->parallelism > maxp) {
      seterr(err, errlen, "parallelism %d of %s exceeds its max parallelism %d", n->parallelism,
             describe(n, d1, sizeof d1), maxp);
      return FLOW_EGRAPH;
    }
  }

  /* edges: ids, default partitioners, explicit forward */
  for (int i = 0; i < sg->n_edges; i++) {
    flow_stream_edge_t *e = &sg->edges[i];
    const flow_stream_node_t *s = flow_sg_node(sg, e->source), *t = flow_sg_node(sg, e->target);
    if (s == NULL || t == NULL) {
      if (s != NULL)
        seterr(err, errlen, "an output of %s references unknown operator id %d",
               describe(s, d1, sizeof d1), e->target);
      else if (t != NULL)
        seterr(err, errlen, "an input of %s references unknown operator id %d",
               describe(t, d1, sizeof d1), e->source);
      else
        seterr(err, errlen, "edge %d references unknown operator ids %d and %d", i + 1, e->source,
               e->target);
      return FLOW_EGRAPH;
    }
    if ((int)e->part < 0 || e->part >= FLOW_PART__COUNT) {
      seterr(err, errlen, "the input of %s from %s has an unknown partitioner",
             describe(t, d1, sizeof d1), describe(s, d2, sizeof d2));
      return FLOW_EGRAPH;
    }
    if (!e->explicit_part) {
      e->part = s->parallelism == t->parallelism ? FLOW_PART_FORWARD : FLOW_PART_REBALANCE;
    } else if (e->part == FLOW_PART_FORWARD && s->parallelism != t->parallelism) {
      seterr(err, errlen,
             "forward partitioning requires equal parallelism: %s has parallelism %d, "
             "its input %s has %d",
             describe(t, d1, sizeof d1), t->parallelism, describe(s, d2, sizeof d2),
             s->parallelism);
      return FLOW_EGRAPH;
    }
  }

  /* inputs: sources have none, every other operator has some; two-input
   * operators get both inputs and no plain one */
  int *inputs = flow_xcalloc((size_t)sg->n_nodes + 1, 3 * sizeof(int));
  int rc = 0;
  for (int i = 0; i < sg->n_edges; i++) {
    int tn = sg->edges[i].type_number;
    if (tn < 0 || tn > 2) {
      const flow_stream_node_t *t = flow_sg_node(sg, sg->edges[i].target);
      seterr(err, errlen, "an input of %s has invalid type number %d", describe(t, d1, sizeof d1), tn);
      rc = FLOW_EGRAPH;
      break;
    }
    inputs[sg->edges[i].target * 3 + tn]++;
  }
  for (int i = 0; i < sg->n_nodes && rc == 0; i++) {
    const flow_stream_node_t *n = &sg->nodes[i];
    const int *in = &inputs[n->id * 3];
    int total = in[0] + in[1] + in[2];
    if (n->is_source && total > 0) {
      seterr(err, errlen, "source %s cannot have an input", describe(n, d1, sizeof d1));
      rc = FLOW_EGRAPH;
    } else if (!n->is_source && total == 0) {
      seterr(err, errlen, "%s has no input: only a source can start a pipeline",
             describe(n, d1, sizeof d1));
      rc = FLOW_EGRAPH;
    } else if ((in[1] > 0 || in[2] > 0) && in[0] > 0) {
      seterr(err, errlen, "two-input operator %s also has a single-stream input",
             describe(n, d1, sizeof d1));
      rc = FLOW_EGRAPH;
    } else if ((in[1] > 0) != (in[2] > 0)) {
      seterr(err, errlen, "two-input operator %s is missing its %s input",
             describe(n, d1, sizeof d1), in[1] > 0 ? "second" : "first");
      rc = FLOW_EGRAPH;
    }
  }
  free(inputs);
  if (rc != 0) return rc;

  int on_cycle = find_cycle(sg);
  if (on_cycle) {
    seterr(err, errlen, "cycle in the job graph through %s",
           describe(flow_sg_node(sg, on_cycle), d1, sizeof d1));
    return FLOW_EGRAPH;
  }

  int has_sink = 0;
  for (int i = 0; i < sg->n_nodes && !has_sink; i++) has_sink = flow_sg_is_sink_kind(sg->nodes[i].kind);
  if (!has_sink) {
    seterr(err, errlen,
           "no sinks defined: call print(), write_as_text(), add_sink() or another sink "
           "before execute()");
    return FLOW_EGRAPH;
  }

  for (int i = 0; i < sg->n_nodes; i++)
    if (sg->nodes[i].max_parallelism == 0) sg->nodes[i].max_parallelism = sg->max_parallelism;
  sg->finalized = 1;
  return 0;
}
