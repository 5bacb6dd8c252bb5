/* StreamGraph: one node per operator, edges carry partitioners.
 * Plain data: no threads, no libuv, no Lua (see DESIGN.md, "Layers").
 * Flink: org.apache.flink.streaming.api.graph.StreamGraph / StreamNode / StreamEdge. */
#ifndef FLOW_GRAPH_STREAM_GRAPH_H
#define FLOW_GRAPH_STREAM_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#define FLOW_DEFAULT_MAX_PARALLELISM 128
#define FLOW_MAX_MAX_PARALLELISM 32768

typedef enum {
  FLOW_PART_FORWARD = 0,
  FLOW_PART_REBALANCE,
  FLOW_PART_RESCALE,
  FLOW_PART_HASH,
  FLOW_PART_BROADCAST,
  FLOW_PART_SHUFFLE,
  FLOW_PART_GLOBAL,
  FLOW_PART__COUNT
} flow_partitioner_t;

/* Flink's ChainingStrategy. */
typedef enum {
  FLOW_CHAIN_ALWAYS = 0, /* may be chained to its predecessor (default for operators) */
  FLOW_CHAIN_HEAD,       /* starts a chain; successors may chain to it (sources, start_new_chain) */
  FLOW_CHAIN_NEVER       /* never chained, neither to predecessor nor successor (disable_chaining) */
} flow_chaining_t;

typedef enum { FLOW_MODE_STREAMING = 0, FLOW_MODE_BATCH } flow_runtime_mode_t;

/* Describes a node to add; strings are copied. */
typedef struct flow_stream_node_desc {
  const char *name;               /* display name, e.g. "Map", "Source: Collection Source" */
  const char *kind;               /* operator kind for the runtime: "source", "map", "sink", ... */
  int parallelism;                /* >= 1 */
  int max_parallelism;            /* 0 = job default (FLOW_DEFAULT_MAX_PARALLELISM unless set) */
  const char *slot_sharing_group; /* NULL = "default" */
  const char *uid;                /* may be NULL */
  flow_chaining_t chaining;
  int is_source;                  /* sources are always chain heads */
  int is_keyed;                   /* operator consumes a keyed stream (informational) */
  const char *origin;             /* "script.lua:12" where the script created it; may be NULL */
  const void *payload;            /* opaque operator spec shipped to tasks; copied */
  size_t payload_len;
} flow_stream_node_desc_t;

typedef struct flow_stream_node {
  int id; /* 1-based, in creation order */
  char *name, *kind, *slot_sharing_group, *uid, *origin;
  int parallelism, max_parallelism;
  flow_chaining_t chaining;
  int is_source, is_keyed;
  void *payload;
  size_t payload_len;
} flow_stream_node_t;

typedef struct flow_stream_edge {
  int source, target;      /* node ids */
  flow_partitioner_t part; /* resolved by flow_sg_finalize */
  int explicit_part;       /* the script chose the partitioner (forward() etc.) */
  int type_number;         /* 0: single-input operator; 1/2: first/second input of a two-input op */
} flow_stream_edge_t;

typedef struct flow_stream_graph {
  char *job_name;
  flow_runtime_mode_t mode;
  int chaining_enabled; /* env:disable_operator_chaining() clears it */
  int max_parallelism;  /* job default for nodes with max_parallelism 0 */
  int finalized;
  flow_stream_node_t *nodes; /* nodes[i].id == i + 1 */
  int n_nodes, cap_nodes;
  flow_stream_edge_t *edges; /* in the order added */
  int n_edges, cap_edges;
} flow_stream_graph_t;

flow_stream_graph_t *flow_sg_new(const char *job_name);
void flow_sg_free(flow_stream_graph_t *sg);
/* Returns the new node id (>= 1) or a negative FLOW_E* code (FLOW_EINVAL for
 * a NULL name, FLOW_ESTATE once the graph is finalized). Parallelism and max
 * parallelism are validated by flow_sg_finalize, so the message names the
 * operator. */
int flow_sg_add_node(flow_stream_graph_t *sg, const flow_stream_node_desc_t *d);
/* Returns 0, FLOW_EINVAL (unknown node id, partitioner or type number not in
 * 0..2) or FLOW_ESTATE (graph finalized).
 * explicit_part == 0: the partitioner is forward if both ends end up with the
 * same parallelism, else rebalance (resolved in flow_sg_finalize, as Flink). */
int flow_sg_add_edge(flow_stream_graph_t *sg, int source, int target, flow_partitioner_t part,
                     int explicit_part, int type_number);
/* Resolves default partitioners and max parallelism, then validates: ids,
 * explicit forward across different parallelisms, parallelism > max
 * parallelism, max parallelism outside 1..32768, cycles, no sink (a node
 * without outgoing edges that is not a sink kind is allowed; an empty graph
 * is not), a non-source without input, a source with an input, a two-input
 * operator (edges with type_number 1/2) missing one of its inputs. On error
 * returns FLOW_EGRAPH and writes a message naming the operator and its origin
 * into err (err may be NULL). Idempotent (sets finalized). */
int flow_sg_finalize(flow_stream_graph_t *sg, char *err, size_t errlen);
const flow_stream_node_t *flow_sg_node(const flow_stream_graph_t *sg, int id);
/* A node counts as a sink for the "no sinks defined" check when its kind is
 * "sink" or starts with "sink" ("sink_print", ...). */
int flow_sg_is_sink_kind(const char *kind);
const char *flow_chaining_name(flow_chaining_t c); /* "always", "head", "never" */

const char *flow_partitioner_name(flow_partitioner_t p); /* "forward", "hash", ... */
int flow_partitioner_parse(const char *name, flow_partitioner_t *out); /* 0 or FLOW_EINVAL */

#endif
