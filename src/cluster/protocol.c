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

int flow_proto_write_msg(flow_wbuf_t *w, const flow_msg_t *m, const char *job_id,
                      const char *(*addr_of)(flow_endpoint_t *te)) {
  flow_wr_u8(w, (uint8_t)m->type);
  flow_wr_str(w, job_id);
  flow_wr_i32(w, m->a);
  flow_wr_i32(w, m->b);
  flow_wr_i32(w, m->c);
  flow_wr_i32(w, m->d);
  flow_wr_str(w, m->text);
  flow_wr_u8(w, m->blob != NULL);
  if (m->blob != NULL) flow_wr_bytes(w, m->blob->data, m->blob->size);
  if (m->type == FLOW_MSG_FREE_SLOTS) flow_wr_u8(w, m->ptr2 != NULL);
  if (m->type == FLOW_MSG_OFFER_SLOTS || (m->type == FLOW_MSG_FREE_SLOTS && m->ptr2 != NULL)) {
    const int *idx = m->ptr2;
    for (int i = 0; i < m->b; i++) flow_wr_i32(w, idx[i]);
  } else if (m->type == FLOW_MSG_SUBMIT_TASK) {
    const flow_task_deployment_t *d = m->ptr2;
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
  return w->err;
}

int flow_proto_read_msg(flow_rbuf_t *r, flow_proto_msg_t *out) {
  memset(out, 0, sizeof(*out));
  uint8_t type = 0, has_blob = 0;
  char *job = NULL;
  flow_rd_u8(r, &type);
  if (r->err == 0 && (type > FLOW_MSG_TE_LOST)) r->err = FLOW_EINVAL;
  out->m.type = (flow_msg_type_t)type;
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
  out->m.a = a, out->m.b = b, out->m.c = c, out->m.d = d;
  flow_rd_str(r, &out->m.text, 1);
  flow_rd_u8(r, &has_blob);
  if (has_blob) {
    const uint8_t *p = NULL;
    uint32_t n = 0;
    if (flow_rd_bytes(r, &p, &n) == 0) {
      out->m.blob = flow_buffer_from(p, n);
      if (out->m.blob == NULL) r->err = FLOW_ENOMEM;
    }
  }
  uint8_t has_idx = out->m.type == FLOW_MSG_OFFER_SLOTS;
  if (out->m.type == FLOW_MSG_FREE_SLOTS) flow_rd_u8(r, &has_idx);
  if (r->err == 0 && has_idx) {
    if (b < 0 || b > MAX_INDICES || (size_t)b * 4 > flow_rd_left(r)) {
      r->err = FLOW_EINVAL;
    } else {
      int *idx = flow_xcalloc((size_t)(b > 0 ? b : 1), sizeof(int));
      for (int i = 0; i < b; i++) {
        int32_t v = 0;
        flow_rd_i32(r, &v);
        idx[i] = v;
      }
      out->m.ptr2 = idx;
      out->m.free_ptr2 = free;
    }
  } else if (r->err == 0 && out->m.type == FLOW_MSG_SUBMIT_TASK) {
    uint8_t eo = 0;
    int32_t n = 0;
    flow_rd_i64(r, &out->buffer_timeout_ms);
    flow_rd_u8(r, &eo);
    out->exactly_once = eo != 0;
    flow_rd_str(r, &out->restore_dir, 1);
    flow_rd_str(r, &out->checkpoint_dir, 1);
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
  if (r->err != 0) {
    int rc = r->err;
    flow_proto_msg_clear(out);
    return rc;
  }
  return 0;
}

void flow_proto_msg_clear(flow_proto_msg_t *cm) {
  free(cm->m.text);
  flow_buffer_free(cm->m.blob);
  if (cm->m.ptr2 != NULL && cm->m.free_ptr2 != NULL) cm->m.free_ptr2(cm->m.ptr2);
  free(cm->restore_dir);
  free(cm->checkpoint_dir);
  for (int k = 0; k < cm->n_addrs; k++) free(cm->addrs[k]);
  free(cm->addrs);
  free(cm->exec_addr);
  memset(cm, 0, sizeof(*cm));
}
