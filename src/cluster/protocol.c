#include "cluster/protocol.h"

#include <stdlib.h>
#include <string.h>

#include "util/common.h"

#define MAX_ADDRS 4096
#define MAX_EXECS (1 << 20)
#define MAX_INDICES (1 << 20)

void flow_proto_write_channel(flow_wbuf_t *w, const flow_proto_channel_t *ch) {
  flow_wr_str(w, ch->job_id);
  flow_wr_i32(w, ch->attempt);
  flow_wr_i32(w, ch->vertex);
  flow_wr_i32(w, ch->subtask);
  flow_wr_i32(w, ch->channel);
}

int flow_proto_read_channel(flow_rbuf_t *r, flow_proto_channel_t *ch) {
  flow_gateway_read_job_id(r, ch->job_id);
  flow_rd_i32(r, &ch->attempt);
  flow_rd_i32(r, &ch->vertex);
  flow_rd_i32(r, &ch->subtask);
  flow_rd_i32(r, &ch->channel);
  return r->err;
}

/* An endpoint message in the wire's terms: the i32 slots a, b, c, d, the
 * text, the blob and what the type adds (flow_proto_write_msg's table). */
typedef struct wire_msg {
  uint8_t type;
  int32_t a, b, c, d;
  const char *text;
  const flow_buffer_t *blob;
  const int *indices; /* OFFER_SLOTS, FREE_SLOTS: b of them, or NULL */
  const flow_task_deployment_t *deployment; /* SUBMIT_TASK */
} wire_msg_t;

static void task_to_wire(wire_msg_t *w, const flow_task_id_t *t) {
  w->a = t->vertex;
  w->b = t->subtask;
  w->c = t->attempt;
}

/* The wire carries checkpoint ids as i32: 0, or FLOW_EINVAL for one it
 * cannot (never narrowed). */
static int checkpoint_id_to_wire(int64_t id, int32_t *out) {
  if (id < 0 || id > INT32_MAX) return FLOW_EINVAL;
  *out = (int32_t)id;
  return 0;
}

/* m in the wire's terms: 0, or FLOW_EINVAL for a message that does not
 * cross the wire. */
static int to_wire(const flow_msg_t *m, wire_msg_t *w) {
  memset(w, 0, sizeof(*w));
  w->type = (uint8_t)m->type;
  switch (m->type) {
  case FLOW_MSG_ALLOCATE_SLOTS:
    w->a = m->allocate_slots.n_slots;
    w->c = m->allocate_slots.generation;
    return 0;
  case FLOW_MSG_SUBMIT_TASK:
    task_to_wire(w, &m->submit_task.task);
    w->d = m->submit_task.slot;
    w->deployment = m->submit_task.deployment;
    return w->deployment != NULL ? 0 : FLOW_EINVAL;
  case FLOW_MSG_CANCEL_TASK: task_to_wire(w, &m->cancel_task.task); return 0;
  case FLOW_MSG_TRIGGER_CHECKPOINT:
    task_to_wire(w, &m->trigger_checkpoint.task);
    w->text = m->trigger_checkpoint.dir;
    return checkpoint_id_to_wire(m->trigger_checkpoint.checkpoint_id, &w->d);
  case FLOW_MSG_NOTIFY_CHECKPOINT: return checkpoint_id_to_wire(m->notify_checkpoint.checkpoint_id, &w->d);
  case FLOW_MSG_FREE_SLOTS:
    if (m->free_slots.slots != NULL) {
      w->b = m->free_slots.n_slots;
      w->indices = m->free_slots.slots;
    }
    return 0;
  case FLOW_MSG_OFFER_SLOTS:
    w->b = m->offer_slots.n_slots;
    w->c = m->offer_slots.generation;
    w->indices = m->offer_slots.slots;
    return w->indices != NULL || w->b == 0 ? 0 : FLOW_EINVAL;
  case FLOW_MSG_SLOTS_UNAVAILABLE:
    w->c = m->slots_unavailable.generation;
    w->text = m->slots_unavailable.reason;
    return 0;
  case FLOW_MSG_TASK_STATE:
    task_to_wire(w, &m->task_state.task);
    w->d = (int32_t)m->task_state.state;
    w->text = m->task_state.error;
    w->blob = m->task_state.accumulators;
    return 0;
  case FLOW_MSG_ACK_CHECKPOINT:
    task_to_wire(w, &m->ack_checkpoint.task);
    w->text = m->ack_checkpoint.state_file;
    return checkpoint_id_to_wire(m->ack_checkpoint.checkpoint_id, &w->d);
  case FLOW_MSG_CANCEL_JOB: return 0;
  case FLOW_MSG_SLOTS_FREED:
    w->type = FLOW_MSG_FREE_SLOTS;
    w->a = m->slots_freed.n_slots;
    return 0;
  default: return FLOW_EINVAL; /* in-process only: it names local objects */
  }
}

static void write_deployment(flow_wbuf_t *w, const flow_task_deployment_t *d,
                             const char *(*addr_of)(flow_endpoint_t *te)) {
  flow_wr_i64(w, d->buffer_timeout_ms);
  flow_wr_u8(w, (uint8_t)(d->exactly_once != 0));
  flow_wr_str(w, d->restore_dir);
  flow_wr_str(w, d->checkpoint_dir);
  int n_exec = 0;
  for (int v = 0; d->jg != NULL && v < d->jg->n_vertices; v++) n_exec += d->jg->vertices[v].parallelism;
  /* distinct addresses, then an index per execution vertex */
  const char **addrs = flow_xcalloc((size_t)(n_exec > 0 ? n_exec : 1), sizeof(char *));
  int32_t *which = flow_xcalloc((size_t)(n_exec > 0 ? n_exec : 1), sizeof(int32_t));
  int n_addrs = 0;
  for (int i = 0; i < n_exec; i++) {
    const char *a = d->locations != NULL && addr_of != NULL ? addr_of(d->locations[i]) : NULL;
    if (a == NULL) a = "";
    int k = 0;
    while (k < n_addrs && strcmp(addrs[k], a) != 0) k++;
    if (k == n_addrs) addrs[n_addrs++] = a;
    which[i] = k;
  }
  flow_wr_i32(w, n_addrs);
  for (int k = 0; k < n_addrs; k++) flow_wr_str(w, addrs[k]);
  flow_wr_i32(w, n_exec);
  for (int i = 0; i < n_exec; i++) flow_wr_i32(w, which[i]);
  free(addrs);
  free(which);
}

int flow_proto_write_msg(flow_wbuf_t *w, const flow_msg_t *m, const char *job_id,
                         const char *(*addr_of)(flow_endpoint_t *te)) {
  wire_msg_t wm;
  int rc = to_wire(m, &wm);
  if (rc != 0) return rc;
  flow_wr_u8(w, wm.type);
  flow_wr_str(w, job_id);
  flow_wr_i32(w, wm.a);
  flow_wr_i32(w, wm.b);
  flow_wr_i32(w, wm.c);
  flow_wr_i32(w, wm.d);
  flow_wr_str(w, wm.text);
  flow_wr_u8(w, wm.blob != NULL);
  if (wm.blob != NULL) flow_wr_bytes(w, wm.blob->data, wm.blob->size);
  if (wm.type == FLOW_MSG_FREE_SLOTS) flow_wr_u8(w, wm.indices != NULL);
  if (wm.type == FLOW_MSG_OFFER_SLOTS || (wm.type == FLOW_MSG_FREE_SLOTS && wm.indices != NULL)) {
    for (int i = 0; i < wm.b; i++) flow_wr_i32(w, wm.indices[i]);
  } else if (wm.type == FLOW_MSG_SUBMIT_TASK) {
    write_deployment(w, wm.deployment, addr_of);
  }
  return w->err;
}

/* What the wire held (owned strings and arrays) as the typed message of
 * out, by type and sender; takes what it uses, the caller frees the rest. */
static void from_wire(int32_t a, int32_t b, int32_t c, int32_t d, char **text, flow_buffer_t **blob, int **idx,
                      flow_task_deployment_t **dep, flow_proto_sender_t from, flow_proto_msg_t *out) {
  flow_msg_t *m = &out->m;
  flow_task_id_t task = {.vertex = a, .subtask = b, .attempt = c};
  int jm = from == FLOW_PROTO_FROM_JOBMANAGER;
  switch (m->type) {
  case FLOW_MSG_ALLOCATE_SLOTS:
    if (!jm) return;
    m->allocate_slots.n_slots = a;
    m->allocate_slots.generation = c;
    return;
  case FLOW_MSG_SUBMIT_TASK:
    if (!jm) return;
    m->submit_task.task = task;
    m->submit_task.slot = d;
    m->submit_task.deployment = *dep, *dep = NULL;
    return;
  case FLOW_MSG_CANCEL_TASK:
    if (jm) m->cancel_task.task = task;
    return;
  case FLOW_MSG_TRIGGER_CHECKPOINT:
    if (!jm) return;
    m->trigger_checkpoint.task = task;
    m->trigger_checkpoint.checkpoint_id = d;
    m->trigger_checkpoint.dir = *text, *text = NULL;
    return;
  case FLOW_MSG_NOTIFY_CHECKPOINT:
    if (jm) m->notify_checkpoint.checkpoint_id = d;
    return;
  case FLOW_MSG_FREE_SLOTS:
    if (!jm) { /* a TaskExecutor tells its ResourceManager */
      m->type = FLOW_MSG_SLOTS_FREED;
      m->slots_freed.n_slots = a;
      return;
    }
    if (*idx != NULL) {
      m->free_slots.n_slots = b;
      m->free_slots.slots = *idx, *idx = NULL;
    }
    return;
  case FLOW_MSG_OFFER_SLOTS:
    if (jm) return;
    m->offer_slots.n_slots = b;
    m->offer_slots.generation = c;
    m->offer_slots.slots = *idx, *idx = NULL;
    return;
  case FLOW_MSG_SLOTS_UNAVAILABLE:
    if (jm) return;
    m->slots_unavailable.generation = c;
    m->slots_unavailable.reason = *text, *text = NULL;
    return;
  case FLOW_MSG_TASK_STATE:
    if (jm) return;
    m->task_state.task = task;
    m->task_state.state = (flow_execution_state_t)d;
    m->task_state.error = *text, *text = NULL;
    m->task_state.accumulators = *blob, *blob = NULL;
    return;
  case FLOW_MSG_ACK_CHECKPOINT:
    if (jm) return;
    m->ack_checkpoint.task = task;
    m->ack_checkpoint.checkpoint_id = d;
    m->ack_checkpoint.state_file = *text, *text = NULL;
    return;
  default: return; /* CANCEL_JOB carries nothing; other types are never sent */
  }
}

int flow_proto_read_msg(flow_rbuf_t *r, flow_proto_sender_t from, flow_proto_msg_t *out) {
  memset(out, 0, sizeof(*out));
  uint8_t type = 0, has_blob = 0;
  char *job = NULL, *text = NULL;
  flow_buffer_t *blob = NULL;
  int *idx = NULL;
  flow_task_deployment_t *dep = NULL;
  flow_rd_u8(r, &type);
  if (r->err == 0 && (type > FLOW_MSG_TE_LOST)) r->err = FLOW_EINVAL;
  flow_rd_str(r, &job, 1);
  if (job != NULL) {
    if (flow_gateway_is_job_id(job)) memcpy(out->job_id, job, 33);
    else if (r->err == 0) r->err = FLOW_EINVAL;
    free(job);
  }
  int32_t a = 0, b = 0, c = 0, d = 0;
  flow_rd_i32(r, &a);
  flow_rd_i32(r, &b);
  flow_rd_i32(r, &c);
  flow_rd_i32(r, &d);
  flow_rd_str(r, &text, 1);
  flow_rd_u8(r, &has_blob);
  if (has_blob) {
    const uint8_t *p = NULL;
    uint32_t n = 0;
    if (flow_rd_bytes(r, &p, &n) == 0) {
      blob = flow_buffer_from(p, n);
      if (blob == NULL) r->err = FLOW_ENOMEM;
    }
  }
  uint8_t has_idx = type == FLOW_MSG_OFFER_SLOTS;
  if (type == FLOW_MSG_FREE_SLOTS) flow_rd_u8(r, &has_idx);
  if (r->err == 0 && has_idx) {
    if (b < 0 || b > MAX_INDICES || (size_t)b * 4 > flow_rd_left(r)) {
      r->err = FLOW_EINVAL;
    } else {
      idx = flow_xcalloc((size_t)(b > 0 ? b : 1), sizeof(int));
      for (int i = 0; i < b; i++) {
        int32_t v = 0;
        flow_rd_i32(r, &v);
        idx[i] = v;
      }
    }
  } else if (r->err == 0 && type == FLOW_MSG_SUBMIT_TASK) {
    uint8_t eo = 0;
    int32_t n = 0;
    dep = flow_xcalloc(1, sizeof(*dep));
    flow_rd_i64(r, &dep->buffer_timeout_ms);
    flow_rd_u8(r, &eo);
    dep->exactly_once = eo != 0;
    flow_rd_str(r, &dep->restore_dir, 1);
    flow_rd_str(r, &dep->checkpoint_dir, 1);
    flow_rd_i32(r, &n);
    if (r->err == 0 && (n < 0 || n > MAX_ADDRS || (size_t)n * 4 > flow_rd_left(r))) r->err = FLOW_EINVAL;
    if (r->err == 0) {
      out->addrs = flow_xcalloc((size_t)(n > 0 ? n : 1), sizeof(char *));
      for (int k = 0; k < n && r->err == 0; k++) {
        flow_rd_str(r, &out->addrs[k], 0);
        if (r->err == 0) out->n_addrs = k + 1;
      }
    }
    flow_rd_i32(r, &n);
    if (r->err == 0 && (n < 0 || n > MAX_EXECS || (size_t)n * 4 > flow_rd_left(r))) r->err = FLOW_EINVAL;
    if (r->err == 0) {
      out->exec_addr = flow_xcalloc((size_t)(n > 0 ? n : 1), sizeof(int32_t));
      out->n_exec = n;
      for (int i = 0; i < n; i++) {
        flow_rd_i32(r, &out->exec_addr[i]);
        if (r->err == 0 && (out->exec_addr[i] < 0 || out->exec_addr[i] >= out->n_addrs)) r->err = FLOW_EINVAL;
      }
    }
  }
  if (r->err == 0 && flow_rd_left(r) != 0) r->err = FLOW_EINVAL;
  if (r->err == 0) {
    out->m.type = (flow_msg_type_t)type;
    from_wire(a, b, c, d, &text, &blob, &idx, &dep, from, out);
  }
  free(text);
  flow_buffer_free(blob);
  free(idx);
  flow_task_deployment_free(dep);
  if (r->err != 0) {
    int rc = r->err;
    flow_proto_msg_clear(out);
    return rc;
  }
  return 0;
}

void flow_proto_msg_clear(flow_proto_msg_t *cm) {
  flow_msg_clear(&cm->m);
  for (int k = 0; k < cm->n_addrs; k++) free(cm->addrs[k]);
  free(cm->addrs);
  free(cm->exec_addr);
  memset(cm, 0, sizeof(*cm));
}

/* ---- metrics ---------------------------------------------------------------- */

void flow_proto_write_reading(flow_wbuf_t *w, int vertex, int subtask, const flow_task_reading_t *r) {
  flow_wr_i32(w, vertex);
  flow_wr_i32(w, subtask);
  flow_wr_i32(w, r->attempt);
  const int64_t xs[] = {r->at_ns,          r->records_in,     r->records_out,    r->bytes_in,
                        r->bytes_out,      r->source_records, r->progress_read,  r->progress_total,
                        r->idle_ns,        r->backpressured_ns, r->busy_ns,      r->input_watermark,
                        r->output_watermark};
  for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) flow_wr_i64(w, xs[i]);
  flow_wr_u8(w, (uint8_t)(r->backpressured != 0));
  flow_wr_i32(w, r->n_ops);
  for (int k = 0; k < r->n_ops; k++) {
    const flow_operator_metrics_t *o = &r->ops[k];
    flow_wr_f64(w, o->records_in);
    flow_wr_f64(w, o->records_out);
    flow_wr_f64(w, o->late_dropped);
    flow_wr_f64(w, o->input_watermark);
    flow_wr_f64(w, o->output_watermark);
  }
}

int flow_proto_read_reading(flow_rbuf_t *rb, int *vertex, int *subtask, flow_task_reading_t *out) {
  int32_t v = 0, s = 0, attempt = 0, n_ops = 0;
  int64_t xs[13];
  uint8_t bp = 0;
  flow_rd_i32(rb, &v);
  flow_rd_i32(rb, &s);
  flow_rd_i32(rb, &attempt);
  for (int i = 0; i < 13; i++) flow_rd_i64(rb, &xs[i]);
  flow_rd_u8(rb, &bp);
  flow_rd_i32(rb, &n_ops);
  if (rb->err != 0 || n_ops < 0 || n_ops > FLOW_PROTO_MAX_OPS || (size_t)n_ops * 40 > flow_rd_left(rb))
    return FLOW_EINVAL;
  memset(out, 0, sizeof(*out));
  out->ops = calloc((size_t)n_ops + 1, sizeof(*out->ops));
  if (out->ops == NULL) return FLOW_ENOMEM;
  for (int k = 0; k < n_ops; k++) {
    flow_operator_metrics_t *o = &out->ops[k];
    flow_rd_f64(rb, &o->records_in);
    flow_rd_f64(rb, &o->records_out);
    flow_rd_f64(rb, &o->late_dropped);
    flow_rd_f64(rb, &o->input_watermark);
    flow_rd_f64(rb, &o->output_watermark);
    out->late_dropped += o->late_dropped;
  }
  if (rb->err != 0) {
    free(out->ops);
    out->ops = NULL;
    return FLOW_EINVAL;
  }
  *vertex = v;
  *subtask = s;
  out->attempt = attempt;
  out->n_ops = n_ops;
  out->at_ns = xs[0];
  out->records_in = xs[1];
  out->records_out = xs[2];
  out->bytes_in = xs[3];
  out->bytes_out = xs[4];
  out->source_records = xs[5];
  out->progress_read = xs[6];
  out->progress_total = xs[7];
  out->idle_ns = xs[8];
  out->backpressured_ns = xs[9];
  out->busy_ns = xs[10];
  out->input_watermark = xs[11];
  out->output_watermark = xs[12];
  out->backpressured = bp != 0;
  return 0;
}
