#include "runtime/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

#define TASK_POOL_MAX 8

flow_task_t *flow_task_new(const flow_job_graph_t *jg, flow_job_network_t *net, int vertex,
                           int subtask, int attempt, const char *name) {
  flow_task_t *t = flow_xcalloc(1, sizeof(*t));
  t->jg = jg;
  t->net = net;
  t->vertex = vertex;
  t->subtask = subtask;
  t->attempt = attempt;
  t->slot = -1;
  t->name = flow_strdup(name);
  t->gate = flow_network_gate(net, vertex, subtask);
  t->buffer_timeout_ms = 100;
  atomic_init(&t->canceled, 0);
  t->own_io.n_ops = jg->vertices[vertex - 1].n_ops;
  t->own_io.ops = flow_xcalloc((size_t)t->own_io.n_ops + 1, sizeof(*t->own_io.ops));
  flow_task_metrics_reset(&t->own_io, attempt);
  t->io = &t->own_io;
  for (int e = 0; e < jg->n_edges; e++)
    if (jg->edges[e].source == vertex) t->n_outputs++;
  t->outputs = flow_xcalloc((size_t)(t->n_outputs ? t->n_outputs : 1), sizeof(*t->outputs));
  int k = 0;
  for (int e = 0; e < jg->n_edges; e++) {
    const flow_job_edge_t *je = &jg->edges[e];
    if (je->source != vertex) continue;
    flow_task_output_t *o = &t->outputs[k++];
    o->job_edge = e;
    o->n_channels = jg->vertices[je->target - 1].parallelism;
    o->gates = flow_xcalloc((size_t)o->n_channels, sizeof(*o->gates));
    for (int c = 0; c < o->n_channels; c++) o->gates[c] = flow_network_gate(net, je->target, c);
    o->channel = net->edge_offset[e] + subtask;
  }
  return t;
}

/* ---- buffers held by Lua (task thread only) ------------------------------ */

static void hold(flow_task_t *t, flow_buffer_t *b) {
  b->prev = NULL;
  b->next = t->held;
  if (t->held != NULL) t->held->prev = b;
  t->held = b;
}

static void release(flow_task_t *t, flow_buffer_t *b) {
  if (b->prev != NULL) b->prev->next = b->next;
  else if (t->held == b) t->held = b->next;
  if (b->next != NULL) b->next->prev = b->prev;
  b->next = b->prev = NULL;
}

static void free_held(flow_task_t *t) {
  while (t->held != NULL) {
    flow_buffer_t *b = t->held;
    release(t, b);
    flow_buffer_free(b);
  }
}

static void task_free(flow_task_t *t) {
  for (int k = 0; k < t->n_outputs; k++) free(t->outputs[k].gates);
  free(t->outputs);
  while (t->pool != NULL) {
    flow_buffer_t *b = t->pool;
    t->pool = b->next;
    flow_buffer_free(b);
  }
  free(t->name);
  free(t->restore_dir);
  free(t->checkpoint_dir);
  free(t->blob_dir);
  free(t->fail_reason);
  free(t->own_io.ops);
  free(t);
}

/* ---- the thread ---------------------------------------------------------- */

static int send_end_of_partition(flow_task_t *t) {
  for (int k = 0; k < t->n_outputs; k++) {
    flow_task_output_t *o = &t->outputs[k];
    for (int c = 0; c < o->n_channels; c++) {
      flow_buffer_t *b = flow_buffer_new(64);
      if (b == NULL) return FLOW_ENOMEM;
      b->kind = FLOW_BUF_END_OF_PARTITION;
      int rc = flow_gate_push(o->gates[c], o->channel, b);
      if (rc < 0) {
        flow_buffer_free(b);
        return rc;
      }
    }
  }
  return 0;
}

static char *task_error(flow_task_t *t, const char *msg) {
  size_t n = strlen(msg) + strlen(t->name) + 64;
  char *s = malloc(n);
  if (s != NULL) snprintf(s, n, "%s (attempt %d): %s", t->name, t->attempt, msg);
  return s;
}

static void task_main(void *arg) {
  flow_task_t *t = arg;
  flow_execution_state_t final = FLOW_EXEC_FINISHED;
  char *err = NULL;
  flow_buffer_t *acc = NULL;
  t->report(t, FLOW_EXEC_INITIALIZING, NULL, NULL);

  if (t->body == NULL) {
    final = FLOW_EXEC_FAILED;
    err = task_error(t, "no task body");
  } else {
    char *msg = NULL;
    final = t->body(t, &msg, &acc);
    if (final == FLOW_EXEC_FAILED) err = task_error(t, msg ? msg : "unknown error");
    free(msg);
  }
  free_held(t); /* what a failed or canceled task's Lua still held */
  if (final == FLOW_EXEC_FINISHED) {
    int rc = send_end_of_partition(t);
    if (rc == FLOW_ECANCELED || atomic_load(&t->canceled)) final = FLOW_EXEC_CANCELED;
    else if (rc < 0) final = FLOW_EXEC_FAILED, err = task_error(t, flow_strerror(rc));
  }
  if (final != FLOW_EXEC_FINISHED) {
    flow_buffer_free(acc);
    acc = NULL;
    /* canceled because something outside failed it: the fail reason, read
     * after the canceled flag it was written before */
    if (atomic_load(&t->canceled) && t->fail_reason != NULL) {
      final = FLOW_EXEC_FAILED;
      free(err);
      err = task_error(t, t->fail_reason);
    }
  }
  t->report(t, final, err, acc);
}

int flow_task_start(flow_task_t *t) {
  int rc = uv_thread_create(&t->thread, task_main, t);
  if (rc != 0) return FLOW_EIO;
  t->started = 1;
  return 0;
}

void flow_task_cancel(flow_task_t *t) {
  atomic_store(&t->canceled, 1);
  if (t->gate != NULL) flow_gate_cancel(t->gate);
  for (int k = 0; k < t->n_outputs; k++)
    for (int c = 0; c < t->outputs[k].n_channels; c++) flow_gate_cancel(t->outputs[k].gates[c]);
}

void flow_task_fail(flow_task_t *t, const char *reason) {
  if (t->fail_reason == NULL && !atomic_load(&t->canceled)) t->fail_reason = flow_strdup(reason);
  flow_task_cancel(t);
}

void flow_task_join_and_free(flow_task_t *t) {
  if (t->started) uv_thread_join(&t->thread);
  task_free(t);
}

/* ---- FFI entry points ----------------------------------------------------- */

int flow_task_next(flow_task_t *t, int64_t timeout_ms, flow_buffer_t **out) {
  if (t->gate == NULL) return 0;
  flow_task_metrics_t *m = t->io;
  int rc = timeout_ms == 0 ? flow_gate_poll(t->gate, 0, out)
                           : flow_gate_poll_timed(t->gate, timeout_ms, out, &m->idle_since_ns, &m->idle_ns);
  if (rc == 1) {
    hold(t, *out);
    flow_metric_add(&m->bytes_in, (int64_t)(*out)->size);
  }
  return rc;
}

void flow_task_recycle(flow_task_t *t, flow_buffer_t *b) {
  release(t, b);
  if (b->capacity == FLOW_BUFFER_SIZE && t->pool_size < TASK_POOL_MAX) { /* reuse */
    b->next = t->pool;
    t->pool = b;
    t->pool_size++;
  } else {
    flow_buffer_free(b);
  }
}

flow_buffer_t *flow_task_buffer(flow_task_t *t, uint32_t capacity) {
  flow_buffer_t *b;
  if ((capacity == 0 || capacity == FLOW_BUFFER_SIZE) && t->pool != NULL) {
    b = t->pool;
    t->pool = b->next;
    t->pool_size--;
    b->next = NULL;
  } else {
    b = flow_buffer_new(capacity);
    if (b == NULL) return NULL;
  }
  b->size = 0;
  b->kind = FLOW_BUF_DATA;
  b->channel = -1;
  hold(t, b);
  return b;
}

int flow_task_emit(flow_task_t *t, int output, int channel, flow_buffer_t *b) {
  if (output < 0 || output >= t->n_outputs || channel < 0 ||
      channel >= t->outputs[output].n_channels) {
    flow_buffer_free(b);
    return FLOW_EINVAL;
  }
  release(t, b);
  flow_task_output_t *o = &t->outputs[output];
  flow_task_metrics_t *m = t->io;
  int64_t size = (int64_t)b->size;
  int rc = flow_gate_push_timed(o->gates[channel], o->channel, b, &m->backpressured_since_ns, &m->backpressured_ns);
  if (rc < 0) flow_buffer_free(b);
  else flow_metric_add(&m->bytes_out, size);
  return rc;
}

int64_t flow_task_collect(flow_task_t *t, flow_buffer_t *b, int64_t records) {
  release(t, b);
  if (flow_network_collect_bounded(t->net, b, FLOW_COLLECT_MAX_BYTES) != 0) {
    flow_buffer_free(b);
    return FLOW_EFULL;
  }
  return atomic_fetch_add(&t->net->collect_count, records) + records;
}

void flow_task_cancel_job(flow_task_t *t) {
  if (t->cancel_job != NULL) t->cancel_job(t);
}

void flow_task_running(flow_task_t *t) { t->report(t, FLOW_EXEC_RUNNING, NULL, NULL); }

int flow_task_canceled(flow_task_t *t) { return atomic_load(&t->canceled); }

void flow_task_count(flow_task_t *t, int64_t in, int64_t out) {
  flow_task_metrics_t *m = t->io;
  if (in) {
    if (t->gate == NULL) flow_metric_add(&m->source_records, in); /* a source's task reads no network input */
    else flow_metric_add(&m->records_in, in);
    if (m->n_ops > 0) flow_metric_addf(&m->ops[0].records_in, (double)in);
  }
  if (out) flow_metric_add(&m->records_out, out);
}

flow_task_metrics_t *flow_task_metrics(flow_task_t *t) { return t->io; }

void flow_task_input_progress(flow_task_t *t, int64_t read, int64_t total) {
  if (read) flow_metric_add(&t->io->progress_read, read);
  if (total) flow_metric_add(&t->io->progress_total, total);
}

int64_t flow_task_checkpoint_request(flow_task_t *t) { return atomic_load(&t->checkpoint_request); }
int64_t flow_task_checkpoint_complete(flow_task_t *t) { return atomic_load(&t->checkpoint_complete); }

void flow_task_ack_checkpoint(flow_task_t *t, int64_t id, const char *path) {
  if (t->ack_checkpoint != NULL) t->ack_checkpoint(t, id, path != NULL ? flow_strdup(path) : NULL);
}

int64_t flow_task_next_split(flow_task_t *t) { return atomic_fetch_add(&t->net->split_next[t->vertex - 1], 1); }

int flow_task_checkpoint_dir(flow_task_t *t, int64_t id, char *buf, size_t cap) {
  flow_job_network_t *net = t->net;
  int ok = 0;
  uv_mutex_lock(&net->checkpoint_mu);
  if (net->checkpoint_id == id && net->checkpoint_dir != NULL && strlen(net->checkpoint_dir) < cap) {
    strcpy(buf, net->checkpoint_dir);
    ok = 1;
  }
  uv_mutex_unlock(&net->checkpoint_mu);
  return ok;
}

void flow_task_block_channel(flow_task_t *t, int channel) {
  if (t->gate != NULL && channel >= 0 && channel < t->gate->n_channels) flow_gate_block(t->gate, channel);
}

int flow_task_channel_finished(flow_task_t *t, int channel) {
  if (t->gate == NULL || channel < 0 || channel >= t->gate->n_channels) return 1;
  return flow_gate_channel_finished(t->gate, channel);
}

void flow_task_unblock_channels(flow_task_t *t) {
  if (t->gate != NULL) flow_gate_unblock_all(t->gate);
}
