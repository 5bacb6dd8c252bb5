/* Job view (Flink's ArchivedExecutionGraph plus the metrics its REST
 * handlers fetch): a plain-data copy of one job, its graph, each subtask's
 * state and counters, its checkpoint statistics and failure, taken on the
 * loop thread that owns the job. REST renders views only
 * (cluster/rest_routes.c), so the same routes serve a live job, a finished
 * one, a jobmanager's and a MiniCluster's (whose views cross to the REST
 * thread: hence immutable once built and reference-counted).
 *
 * A job's sampler (flow_job_sampler_t) turns its subtasks' counters into
 * readings and per-second rates; the owner samples once a second. */
#ifndef FLOW_COORDINATION_JOB_VIEW_H
#define FLOW_COORDINATION_JOB_VIEW_H

#include <stdatomic.h>
#include <stdint.h>

#include "coordination/checkpoint_coordinator.h"
#include "graph/job_graph.h"
#include "runtime/task_metrics.h"

/* Rates are taken over this window of readings (about one a second): a
 * task that writes in bursts (a backpressured source) reads steady. Flink's
 * meters average 60 s. */
#define FLOW_RATE_WINDOW 5

/* The latest readings and rates of a job's subtasks (loop thread). */
typedef struct flow_job_sampler {
  int n;
  flow_task_reading_t *cur;        /* [n]: the latest reading */
  flow_task_reading_t (*past)[FLOW_RATE_WINDOW]; /* [n]: earlier readings (no ops), a ring */
  int *n_past;                     /* [n]: readings in the ring (its next slot: n_past % WINDOW) */
  flow_task_rates_t *rates;        /* [n]: between the oldest in the ring and cur */
  unsigned char *has;              /* [n]: 1 once read */
} flow_job_sampler_t;

flow_job_sampler_t *flow_job_sampler_new(int n_subtasks);
void flow_job_sampler_free(flow_job_sampler_t *s);
/* Subtask i's reading r is the newest (s takes r->ops); rates are computed
 * against the previous one. */
void flow_job_sampler_put(flow_job_sampler_t *s, int i, flow_task_reading_t *r);
/* Reads every subtask of jm now. */
void flow_job_sampler_sample(flow_job_sampler_t *s, const flow_job_metrics_t *jm);

typedef struct flow_view_input {
  int source;            /* vertex index */
  char ship_strategy[24]; /* Flink's upper-case name: HASH, FORWARD, REBALANCE, ... */
} flow_view_input_t;

typedef struct flow_view_vertex {
  char id[33];           /* Flink's JobVertexID: 32 hex digits */
  int number;            /* job vertex id, 1-based (accepted in URLs too) */
  char *name;            /* "Source: x -> Map" */
  int parallelism, max_parallelism;
  char *slot_sharing_group;
  int n_ops;
  char **op_names;       /* chain order */
  int n_inputs;
  flow_view_input_t *inputs;
  int first;             /* index of its subtask 0 in view->subtasks */
} flow_view_vertex_t;

typedef struct flow_view_subtask {
  int vertex;            /* vertex index */
  int subtask;
  int state;             /* flow_execution_state_t, -1: not scheduled */
  int attempt;
  int64_t state_ms[9];   /* wall clock of each state entered, 0: never */
  char host[96];         /* the taskmanager it runs on, "" if none */
  char tm_id[48];
  int has_metrics;
  flow_task_reading_t m; /* latest reading (owned ops copy) */
  flow_task_rates_t rates;
} flow_view_subtask_t;

typedef struct flow_view_accumulator {
  char *name;
  char *value; /* as text */
} flow_view_accumulator_t;

typedef struct flow_job_view {
  _Atomic int refs;
  char id[33];
  char *name;
  int batch;
  int status;            /* flow_job_status_t */
  int64_t start_ms, end_ms; /* end -1: running */
  int64_t built_ms;
  int restarts;
  char *failure;         /* root cause with its Lua traceback, or NULL */
  int64_t failure_ms;
  char *restart_strategy; /* Flink's description */
  int64_t buffer_timeout_ms;
  int64_t checkpoint_interval_ms; /* 0: off */
  int exactly_once;
  int n_vertices;
  flow_view_vertex_t *vertices;
  int n_subtasks;
  flow_view_subtask_t *subtasks; /* vertex-major */
  /* checkpoints */
  int64_t ck_completed, ck_failed, ck_in_progress, ck_total, ck_restored;
  int64_t ck_last_duration_ms, ck_last_size; /* -1: none */
  int64_t ck_latest_id;  /* 0: none */
  int n_history;         /* newest first */
  flow_checkpoint_stats_t *history;
  flow_checkpoint_stats_t latest_completed, latest_failed; /* id 0: none */
  int n_accumulators;
  flow_view_accumulator_t *accumulators;
  int slots_total, slots_free; /* a MiniCluster's own TaskExecutor (0: not known) */
} flow_job_view_t;

typedef struct flow_job_master flow_job_master_t;
typedef struct flow_dispatcher flow_dispatcher_t;

/* What a view is built from. jm may be NULL (never started, or gone: then
 * prev, the view taken while it lived, gives the subtasks and checkpoints). */
typedef struct flow_job_view_source {
  const char *id, *name;
  const flow_job_graph_t *jg;
  const flow_dispatcher_t *d;     /* settings (restart strategy, ...) */
  const flow_job_master_t *jm;
  const flow_job_view_t *prev;
  int status;
  int64_t start_ms, end_ms;
  int restarts;                   /* when jm is NULL */
  const char *failure;            /* when jm is NULL */
  const flow_job_sampler_t *sampler; /* may be NULL */
  const flow_buffer_t *accumulators; /* finished tasks' JSON objects {name: number}, linked by ->next;
                                        NULL: the JobMaster's (jm->accumulators) */
  /* the taskmanager a TaskExecutor endpoint stands for */
  void (*te_name)(const void *te, char *name, size_t cap, char *id, size_t idcap, void *data);
  void *data;
} flow_job_view_source_t;

flow_job_view_t *flow_job_view_build(const flow_job_view_source_t *src);
flow_job_view_t *flow_job_view_ref(flow_job_view_t *v);
void flow_job_view_unref(flow_job_view_t *v);

/* Flink's JobVertexID of job vertex `number` (stable: from its chain's names). */
void flow_job_view_vertex_id(const flow_job_graph_t *jg, int number, char out[33]);

#endif
