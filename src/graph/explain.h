/* Plan rendering for `flowlua explain` and env:explain(). */
#ifndef FLOW_GRAPH_EXPLAIN_H
#define FLOW_GRAPH_EXPLAIN_H

#include "graph/job_graph.h"

/* Each returns a malloc'd NUL-terminated string (caller frees) or NULL on OOM. */
char *flow_explain_json(const flow_job_graph_t *jg);
char *flow_explain_text(const flow_job_graph_t *jg);
char *flow_explain_dot(const flow_job_graph_t *jg);

#endif
