/* ExecutionGraph: ExecutionJobVertex / ExecutionVertex / Execution and
 * Flink's ExecutionState machine. */
#include "graph/execution_graph.h"

#include "util/clock.h"
#include "util/common.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>

flow_execution_graph_t *flow_eg_build(const flow_job_graph_t *jg) {
  if (jg == NULL) return NULL;
  flow_execution_graph_t *eg = flow_xcalloc(1, sizeof *eg);
  eg->jg = jg;
  eg->status = FLOW_JOB_CREATED;
  eg->n_ejv = jg->n_vertices;
  eg->ejv = flow_xcalloc((size_t)jg->n_vertices + 1, sizeof *eg->ejv);
  for (int i = 0; i < jg->n_vertices; i++) {
    const flow_job_vertex_t *jv = &jg->vertices[i];
    flow_execution_job_vertex_t *ejv = &eg->ejv[i];
    int p = jv->parallelism > 0 ? jv->parallelism : 1;
    ejv->job_vertex = jv->id;
    ejv->parallelism = p;
    ejv->subtasks = flow_xcalloc((size_t)p, sizeof *ejv->subtasks);
    for (int s = 0; s < p; s++) {
      flow_execution_vertex_t *ev = &ejv->subtasks[s];
      ev->job_vertex = jv->id;
      ev->subtask = s;
      ev->current.attempt = 0;
      ev->current.state = FLOW_EXEC_CREATED;
      ev->current.slot = -1;
      ev->current.state_ms[FLOW_EXEC_CREATED] = flow_now_ms();
      flow_strbuf_t b = {0};
      sb_printf(&b, "%s (%d/%d)", jv->name, s + 1, p);
      ev->name = sb_take(&b);
    }
    eg->n_subtasks_total += p;
  }
  return eg;
}

void flow_eg_free(flow_execution_graph_t *eg) {
  if (eg == NULL) return;
  for (int i = 0; i < eg->n_ejv; i++) {
    for (int s = 0; s < eg->ejv[i].parallelism; s++) free(eg->ejv[i].subtasks[s].name);
    free(eg->ejv[i].subtasks);
  }
  free(eg->ejv);
  free(eg);
}

flow_execution_vertex_t *flow_eg_vertex(flow_execution_graph_t *eg, int job_vertex, int subtask) {
  if (eg == NULL || job_vertex < 1 || job_vertex > eg->n_ejv) return NULL;
  flow_execution_job_vertex_t *ejv = &eg->ejv[job_vertex - 1];
  if (subtask < 0 || subtask >= ejv->parallelism) return NULL;
  return &ejv->subtasks[subtask];
}

int flow_execution_state_is_terminal(flow_execution_state_t s) {
  return s == FLOW_EXEC_FINISHED || s == FLOW_EXEC_CANCELED || s == FLOW_EXEC_FAILED;
}

int flow_execution_transition_allowed(flow_execution_state_t from, flow_execution_state_t to) {
  if ((int)from < 0 || from >= FLOW_EXEC__COUNT || (int)to < 0 || to >= FLOW_EXEC__COUNT) return 0;
  if (flow_execution_state_is_terminal(from)) return 0;
  /* any non-terminal state may fail or start canceling */
  if (to == FLOW_EXEC_FAILED) return 1;
  if (to == FLOW_EXEC_CANCELING) return from != FLOW_EXEC_CANCELING;
  switch (from) {
  case FLOW_EXEC_CREATED: return to == FLOW_EXEC_SCHEDULED || to == FLOW_EXEC_CANCELED;
  case FLOW_EXEC_SCHEDULED: return to == FLOW_EXEC_DEPLOYING || to == FLOW_EXEC_CANCELED;
  case FLOW_EXEC_DEPLOYING: return to == FLOW_EXEC_INITIALIZING;
  case FLOW_EXEC_INITIALIZING: return to == FLOW_EXEC_RUNNING;
  case FLOW_EXEC_RUNNING: return to == FLOW_EXEC_FINISHED;
  case FLOW_EXEC_CANCELING: return to == FLOW_EXEC_CANCELED;
  default: return 0;
  }
}

int flow_execution_transition(flow_execution_t *ex, flow_execution_state_t to) {
  if (ex == NULL) return FLOW_EINVAL;
  if (!flow_execution_transition_allowed(ex->state, to)) return FLOW_ESTATE;
  flow_execution_set_state(ex, to);
  return 0;
}

void flow_execution_set_state(flow_execution_t *ex, flow_execution_state_t to) {
  ex->state = to;
  ex->state_ms[to] = flow_now_ms();
}

void flow_execution_reset_for_new_attempt(flow_execution_t *ex) {
  if (ex == NULL) return;
  ex->attempt++;
  ex->slot = -1;
  memset(ex->state_ms, 0, sizeof(ex->state_ms));
  flow_execution_set_state(ex, FLOW_EXEC_CREATED);
}

const char *flow_execution_state_name(flow_execution_state_t s) {
  static const char *const names[FLOW_EXEC__COUNT] = {
      "CREATED", "SCHEDULED", "DEPLOYING", "INITIALIZING", "RUNNING",
      "FINISHED", "CANCELING", "CANCELED", "FAILED",
  };
  if ((int)s < 0 || s >= FLOW_EXEC__COUNT) return "UNKNOWN";
  return names[s];
}

int flow_execution_state_parse(const char *name, flow_execution_state_t *out) {
  if (name == NULL) return FLOW_EINVAL;
  for (int i = 0; i < FLOW_EXEC__COUNT; i++) {
    if (strcmp(name, flow_execution_state_name((flow_execution_state_t)i)) == 0) {
      if (out != NULL) *out = (flow_execution_state_t)i;
      return 0;
    }
  }
  return FLOW_EINVAL;
}

const char *flow_job_status_name(flow_job_status_t s) {
  static const char *const names[FLOW_JOB__COUNT] = {
      "INITIALIZING", "CREATED", "RUNNING", "FAILING", "FAILED",
      "CANCELLING", "CANCELED", "FINISHED", "RESTARTING",
  };
  if ((int)s < 0 || s >= FLOW_JOB__COUNT) return "UNKNOWN";
  return names[s];
}

int flow_job_status_is_globally_terminal(flow_job_status_t s) {
  return s == FLOW_JOB_FAILED || s == FLOW_JOB_CANCELED || s == FLOW_JOB_FINISHED;
}
