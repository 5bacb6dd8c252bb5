/* Task: one running subtask attempt on its own OS thread (Flink: Task +
 * StreamTask + OperatorChain). The thread runs the task body it was given
 * once (src/lua/task_body.c: a lua_State of its own and the Lua task loop);
 * that loop pulls whole buffers from C through the FFI (flow_task_* below),
 * so C enters the body once per task, and Lua calls C once per buffer.
 * This layer never knows Lua.
 *
 * Lifecycle reported through the report callback (from the task thread):
 * INITIALIZING, RUNNING, then exactly one of FINISHED, CANCELED, FAILED. The
 * owner (TaskExecutor) joins the thread after the terminal report. */
#ifndef FLOW_RUNTIME_TASK_H
#define FLOW_RUNTIME_TASK_H

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "graph/execution_graph.h"
#include "runtime/network.h"
#include "runtime/task_metrics.h"

#define FLOW_COLLECT_MAX_BYTES ((size_t)256 << 20)

typedef struct flow_task flow_task_t;

/* Progress counters of one job vertex, summed over its subtasks (the
 * client's progress line; filled from flow_job_metrics_t or the wire). */
typedef struct flow_vertex_metrics {
  _Atomic int64_t records_in;  /* records that entered the chain */
  _Atomic int64_t records_out; /* records sent to the network */
  _Atomic int64_t bytes_read;  /* file sources: input read so far */
  _Atomic int64_t bytes_total; /* file sources: input to read */
} flow_vertex_metrics_t;

/* Called on the task thread. err (malloc'd) and accumulators (the task's
 * encoded accumulator table, on FINISHED) may be NULL; the callee owns both. */
typedef void (*flow_task_report_cb)(flow_task_t *t, flow_execution_state_t state, char *err,
                                    flow_buffer_t *accumulators);

/* The task body (on the task thread): runs the chain until the input ends
 * or the task is canceled; returns FLOW_EXEC_FINISHED, CANCELED or FAILED.
 * On FAILED, *err (malloc'd) may say why; on FINISHED, *accumulators may
 * hold the task's encoded accumulator table. The task owns both after. */
typedef flow_execution_state_t (*flow_task_body_fn)(flow_task_t *t, char **err, flow_buffer_t **accumulators);

typedef struct flow_task_output {
  int job_edge;        /* index into jg->edges */
  int n_channels;      /* target parallelism */
  flow_input_gate_t **gates; /* [target subtask] */
  int channel;         /* our channel index in each target gate */
} flow_task_output_t;

struct flow_task {
  const flow_job_graph_t *jg; /* borrowed, read-only, outlives the task */
  flow_job_network_t *net;    /* borrowed */
  int vertex;                 /* job vertex id */
  int subtask;
  int attempt;
  int slot;
  char *name;                 /* "Map -> Sink (1/2)" */
  flow_input_gate_t *gate;    /* NULL for source vertices */
  flow_task_output_t *outputs;
  int n_outputs;
  flow_buffer_t *pool;        /* recycled buffers, task thread only */
  int pool_size;
  flow_buffer_t *held;        /* buffers Lua holds (input being read, outputs being
                                 filled): freed by C when the task ends, whatever
                                 way it ends. Doubly linked by next/prev. */
  void (*cancel_job)(flow_task_t *t); /* asks the JobMaster to cancel the job */
  void *job_endpoint;         /* the JobMaster's endpoint, for cancel_job */
  flow_task_metrics_t *io;    /* this attempt's counters (owned by the job's owner, or own_io) */
  flow_task_metrics_t own_io; /* when the owner gave none */
  atomic_int canceled;
  int64_t buffer_timeout_ms;
  flow_task_report_cb report;
  flow_task_body_fn body;
  void *owner;                /* the TaskExecutor */
  uv_thread_t thread;
  int started;
  /* checkpoints: the coordinator's latest request (sources poll it) and the
   * latest completed checkpoint (sinks commit up to it); written by the loop
   * thread, read by the task thread */
  _Atomic int64_t checkpoint_request;
  _Atomic int64_t checkpoint_complete;
  void (*ack_checkpoint)(flow_task_t *t, int64_t id, char *path); /* path NULL: declined */
  char *restore_dir;          /* checkpoint to restore from, or NULL */
  char *checkpoint_dir;       /* where this job's checkpoints go, or NULL */
  char *blob_dir;             /* cluster mode: the job's Lua modules, or NULL */
  char *fail_reason;          /* set by flow_task_fail (owner's thread) before canceled */
  int lazy_splits;            /* file sources take splits on request (in-process, no checkpoints) */
  int checkpoint_exactly_once;
};

flow_task_t *flow_task_new(const flow_job_graph_t *jg, flow_job_network_t *net, int vertex,
                           int subtask, int attempt, const char *name);
int flow_task_start(flow_task_t *t);
/* Asks the task to stop (any thread): sources stop, blocked waits return. */
void flow_task_cancel(flow_task_t *t);
/* Owner's thread: cancels the task so that it ends FAILED with this reason
 * (e.g. its data connection broke) instead of CANCELED. The first reason
 * wins. Its terminal report comes from its own thread as always. */
void flow_task_fail(flow_task_t *t, const char *reason);
/* After the terminal report: joins the thread and frees the task. */
void flow_task_join_and_free(flow_task_t *t);

/* --- called from Lua through the FFI on the task thread ------------------
 * Declared once more in lua/flow/ffi.lua, the one door: change both (the
 * build does not compile spec/c/ffi_layout.c while they disagree). Results
 * that are int64_t (ids, counts) become Lua numbers in ffi.lua's wrappers. */
int flow_task_next(flow_task_t *t, int64_t timeout_ms, flow_buffer_t **out);
void flow_task_recycle(flow_task_t *t, flow_buffer_t *b);
flow_buffer_t *flow_task_buffer(flow_task_t *t, uint32_t capacity);
int flow_task_emit(flow_task_t *t, int output, int channel, flow_buffer_t *b);
/* execute_and_collect: hands over b holding `records` records. Returns the
 * number of records the job collected so far, or FLOW_EFULL (b freed) when
 * the results would exceed FLOW_COLLECT_MAX_BYTES. */
int64_t flow_task_collect(flow_task_t *t, flow_buffer_t *b, int64_t records);
/* Asks the JobMaster to cancel the whole job (e.g. the collect limit was reached). */
void flow_task_cancel_job(flow_task_t *t);
void flow_task_running(flow_task_t *t);
int flow_task_canceled(flow_task_t *t);
/* Records of one buffer or batch: in (network input; a source: records
 * read) and out (network output). */
void flow_task_count(flow_task_t *t, int64_t in, int64_t out);
/* The task's counters, for Lua to write its own (watermarks, operators). */
flow_task_metrics_t *flow_task_metrics(flow_task_t *t);
void flow_task_input_progress(flow_task_t *t, int64_t read, int64_t total);
int64_t flow_task_checkpoint_request(flow_task_t *t);
int64_t flow_task_checkpoint_complete(flow_task_t *t);
/* The task's snapshot for checkpoint id is at path (ownership of nothing);
 * path NULL declines the checkpoint. */
void flow_task_ack_checkpoint(flow_task_t *t, int64_t id, const char *path);
/* Copies the directory of checkpoint id into buf: 1, or 0 if it is not pending. */
int flow_task_checkpoint_dir(flow_task_t *t, int64_t id, char *buf, size_t cap);
/* Lazy split assignment: the index of the next split of this task's source
 * vertex nobody took yet (0, 1, 2, ... over all its subtasks). */
int64_t flow_task_next_split(flow_task_t *t);
/* Exactly-once alignment: stop reading channel (until unblock_all). */
void flow_task_block_channel(flow_task_t *t, int channel);
void flow_task_unblock_channels(flow_task_t *t);
int flow_task_channel_finished(flow_task_t *t, int channel);

#endif
