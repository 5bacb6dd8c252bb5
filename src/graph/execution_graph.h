/* ExecutionGraph: ExecutionJobVertex per job vertex, ExecutionVertex per
 * subtask, Execution per attempt with its ExecutionState.
 * Plain data: state transitions are checked here, driven by the JobMaster. */
#ifndef FLOW_GRAPH_EXECUTION_GRAPH_H
#define FLOW_GRAPH_EXECUTION_GRAPH_H

#include "graph/job_graph.h"

typedef enum {
  FLOW_EXEC_CREATED = 0,
  FLOW_EXEC_SCHEDULED,
  FLOW_EXEC_DEPLOYING,
  FLOW_EXEC_INITIALIZING,
  FLOW_EXEC_RUNNING,
  FLOW_EXEC_FINISHED,
  FLOW_EXEC_CANCELING,
  FLOW_EXEC_CANCELED,
  FLOW_EXEC_FAILED,
  FLOW_EXEC__COUNT
} flow_execution_state_t;

typedef enum {
  FLOW_JOB_INITIALIZING = 0,
  FLOW_JOB_CREATED,
  FLOW_JOB_RUNNING,
  FLOW_JOB_FAILING,
  FLOW_JOB_FAILED,
  FLOW_JOB_CANCELLING,
  FLOW_JOB_CANCELED,
  FLOW_JOB_FINISHED,
  FLOW_JOB_RESTARTING,
  FLOW_JOB__COUNT
} flow_job_status_t;

typedef struct flow_execution {
  int attempt; /* 0, 1, ... */
  flow_execution_state_t state;
  int slot; /* slot index in the task executor, -1 before scheduling */
  int64_t state_ms[FLOW_EXEC__COUNT]; /* wall clock when the attempt entered each state, 0: never
                                         (Flink's status-timestamps) */
} flow_execution_t;

typedef struct flow_execution_vertex {
  int job_vertex;    /* job vertex id */
  int subtask;       /* 0-based */
  flow_execution_t current;
  char *name;        /* "Map -> Filter (2/4)" as Flink's task name with subtask */
} flow_execution_vertex_t;

typedef struct flow_execution_job_vertex {
  int job_vertex;
  int parallelism;
  flow_execution_vertex_t *subtasks; /* parallelism entries */
} flow_execution_job_vertex_t;

typedef struct flow_execution_graph {
  const flow_job_graph_t *jg; /* borrowed */
  flow_execution_job_vertex_t *ejv; /* index = job vertex id - 1 */
  int n_ejv;
  int n_subtasks_total;
  flow_job_status_t status;
} flow_execution_graph_t;

flow_execution_graph_t *flow_eg_build(const flow_job_graph_t *jg);
void flow_eg_free(flow_execution_graph_t *eg);
flow_execution_vertex_t *flow_eg_vertex(flow_execution_graph_t *eg, int job_vertex, int subtask);
/* Moves an execution to state to if Flink allows that transition; terminal
 * states (FINISHED, CANCELED, FAILED) are never left. Returns 0 or FLOW_ESTATE. */
int flow_execution_transition(flow_execution_t *ex, flow_execution_state_t to);
/* Sets the state without the check (and its timestamp). */
void flow_execution_set_state(flow_execution_t *ex, flow_execution_state_t to);
/* The transition table alone: CREATED->SCHEDULED->DEPLOYING->INITIALIZING->
 * RUNNING->FINISHED; CANCELING and FAILED from any non-terminal state;
 * CANCELING->CANCELED; CREATED/SCHEDULED->CANCELED directly (not deployed).
 * Staying in the same state is not a transition (0). */
int flow_execution_transition_allowed(flow_execution_state_t from, flow_execution_state_t to);
/* Starts a new attempt (attempt + 1, CREATED, slot -1) after a terminal state
 * (it does not check the state: the caller decides to restart). */
void flow_execution_reset_for_new_attempt(flow_execution_t *ex);
int flow_execution_state_is_terminal(flow_execution_state_t s);
const char *flow_execution_state_name(flow_execution_state_t s); /* "RUNNING" */
int flow_execution_state_parse(const char *name, flow_execution_state_t *out); /* 0 or FLOW_EINVAL */
const char *flow_job_status_name(flow_job_status_t s);
int flow_job_status_is_globally_terminal(flow_job_status_t s);

#endif
