/* JobGraph: operators chained into job vertices by Flink's rules.
 * Flink: StreamingJobGraphGenerator, JobVertex, JobEdge, isChainable(). */
#ifndef FLOW_GRAPH_JOB_GRAPH_H
#define FLOW_GRAPH_JOB_GRAPH_H

#include "graph/stream_graph.h"

typedef struct flow_job_vertex {
  int id;     /* 1-based, vertices ordered by their head node id */
  char *name; /* operator names joined by " -> " in chain order */
  int parallelism, max_parallelism;
  char *slot_sharing_group;
  int *ops; /* stream node ids in chain order; ops[0] is the chain head */
  int n_ops;
} flow_job_vertex_t;

typedef struct flow_job_edge {
  int source, target; /* vertex ids */
  int source_node, target_node; /* the stream edge this job edge realises */
  flow_partitioner_t part;
  int type_number;
} flow_job_edge_t;

typedef struct flow_job_graph {
  const flow_stream_graph_t *sg; /* borrowed; must outlive the job graph */
  flow_job_vertex_t *vertices;
  int n_vertices;
  flow_job_edge_t *edges; /* ordered by (source vertex, order of the stream edges) */
  int n_edges;
  int *vertex_of_node; /* index by node id: vertex id containing it (size n_nodes + 1) */
  int slots_required;  /* per slot sharing group the largest parallelism, summed */
} flow_job_graph_t;

/* sg must be finalized (this calls flow_sg_finalize). Returns NULL on error
 * with a message in err. */
flow_job_graph_t *flow_jg_build(flow_stream_graph_t *sg, char *err, size_t errlen);
void flow_jg_free(flow_job_graph_t *jg);
/* The vertex with that id (1-based) or NULL. */
const flow_job_vertex_t *flow_jg_vertex(const flow_job_graph_t *jg, int id);
/* Flink's isChainable for the stream edge e (exposed for tests). Meaningful
 * after flow_sg_finalize, which resolves the default partitioners. */
int flow_jg_is_chainable(const flow_stream_graph_t *sg, const flow_stream_edge_t *e);

#endif
