#include "coordination/job_view.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "coordination/dispatcher.h"
#include "coordination/job_master.h"
#include "util/clock.h"
#include "util/common.h"

/* ---- sampler ---------------------------------------------------------------- */

flow_job_sampler_t *flow_job_sampler_new(int n) {
  flow_job_sampler_t *s = flow_xcalloc(1, sizeof(*s));
  s->n = n;
  s->cur = flow_xcalloc((size_t)n + 1, sizeof(*s->cur));
  s->past = flow_xcalloc((size_t)n + 1, sizeof(*s->past));
  s->n_past = flow_xcalloc((size_t)n + 1, sizeof(int));
  s->rates = flow_xcalloc((size_t)n + 1, sizeof(*s->rates));
  s->has = flow_xcalloc((size_t)n + 1, 1);
  return s;
}

void flow_job_sampler_free(flow_job_sampler_t *s) {
  if (s == NULL) return;
  for (int i = 0; i < s->n; i++) flow_task_reading_clear(&s->cur[i]);
  free(s->cur);
  free(s->past);
  free(s->n_past);
  free(s->rates);
  free(s->has);
  free(s);
}

void flow_job_sampler_put(flow_job_sampler_t *s, int i, flow_task_reading_t *r) {
  if (i < 0 || i >= s->n) {
    flow_task_reading_clear(r);
    return;
  }
  if (s->has[i]) {
    if (s->cur[i].attempt != r->attempt) s->n_past[i] = 0; /* a new attempt: its own rates */
    flow_task_reading_t old = s->cur[i];
    flow_task_reading_clear(&old);
    old.ops = NULL; /* (the ring keeps the counters only) */
    s->past[i][s->n_past[i]++ % FLOW_RATE_WINDOW] = old;
  }
  s->cur[i] = *r;
  memset(r, 0, sizeof(*r));
  /* the oldest reading still in the ring */
  const flow_task_reading_t *oldest = NULL;
  int k = s->n_past[i];
  if (k > 0) oldest = &s->past[i][k < FLOW_RATE_WINDOW ? 0 : k % FLOW_RATE_WINDOW];
  flow_task_rates(oldest, &s->cur[i], &s->rates[i]);
  s->has[i] = 1;
}

void flow_job_sampler_sample(flow_job_sampler_t *s, const flow_job_metrics_t *jm) {
  if (jm == NULL) return;
  uint64_t now = uv_hrtime();
  for (int i = 0; i < s->n && i < jm->n_subtasks; i++) {
    flow_task_reading_t r;
    flow_task_metrics_read(&jm->subtasks[i], now, &r);
    flow_job_sampler_put(s, i, &r);
  }
}

/* ---- views ------------------------------------------------------------------ */

static uint64_t fnv1a(uint64_t h, const char *s) {
  for (; *s != '\0'; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h;
}

void flow_job_view_vertex_id(const flow_job_graph_t *jg, int number, char out[33]) {
  const flow_job_vertex_t *jv = &jg->vertices[number - 1];
  char salt[32];
  snprintf(salt, sizeof(salt), "#%d/%d", number, jv->ops[0]);
  uint64_t a = fnv1a(fnv1a(14695981039346656037ull, jv->name), salt);
  uint64_t b = fnv1a(fnv1a(a ^ 0x9e3779b97f4a7c15ull, salt), jv->name);
  snprintf(out, 33, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}

static void ship_strategy(flow_partitioner_t part, char *out, size_t cap) {
  const char *pn = flow_partitioner_name(part);
  size_t k = 0;
  for (; pn[k] != '\0' && k + 1 < cap; k++) out[k] = (char)(pn[k] >= 'a' && pn[k] <= 'z' ? pn[k] - 32 : pn[k]);
  out[k] = '\0';
}

static char *restart_description(const flow_restart_strategy_t *r) {
  char rs[200];
  switch (r->kind) {
  case FLOW_RESTART_FIXED_DELAY:
    snprintf(rs, sizeof(rs), "Restart with fixed delay (%lld ms). #%lld restart attempts.", (long long)r->delay_ms,
             (long long)r->attempts);
    break;
  case FLOW_RESTART_FAILURE_RATE:
    snprintf(rs, sizeof(rs),
             "Failure rate restart with maximum of %lld failures within interval %lld ms and fixed delay %lld ms.",
             (long long)r->max_failures, (long long)r->interval_ms, (long long)r->delay_ms);
    break;
  default:
    snprintf(rs, sizeof(rs), "%s", flow_restart_kind_name(r->kind));
    break;
  }
  return flow_strdup(rs);
}

static void copy_reading(flow_task_reading_t *to, const flow_task_reading_t *from) {
  *to = *from;
  to->ops = flow_xcalloc((size_t)from->n_ops + 1, sizeof(*to->ops));
  if (from->n_ops > 0) memcpy(to->ops, from->ops, sizeof(*to->ops) * (size_t)from->n_ops);
}

static void build_graph(flow_job_view_t *v, const flow_job_graph_t *jg) {
  v->batch = jg->sg->mode == FLOW_MODE_BATCH;
  v->n_vertices = jg->n_vertices;
  v->vertices = flow_xcalloc((size_t)jg->n_vertices + 1, sizeof(*v->vertices));
  int first = 0;
  for (int i = 0; i < jg->n_vertices; i++) {
    const flow_job_vertex_t *jv = &jg->vertices[i];
    flow_view_vertex_t *x = &v->vertices[i];
    flow_job_view_vertex_id(jg, jv->id, x->id);
    x->number = jv->id;
    x->name = flow_strdup(jv->name);
    x->parallelism = jv->parallelism;
    x->max_parallelism = jv->max_parallelism;
    x->slot_sharing_group = flow_strdup(jv->slot_sharing_group ? jv->slot_sharing_group : "default");
    x->n_ops = jv->n_ops;
    x->op_names = flow_xcalloc((size_t)jv->n_ops + 1, sizeof(char *));
    for (int k = 0; k < jv->n_ops; k++) x->op_names[k] = flow_strdup(flow_sg_node(jg->sg, jv->ops[k])->name);
    x->inputs = flow_xcalloc((size_t)jg->n_edges + 1, sizeof(*x->inputs));
    for (int e = 0; e < jg->n_edges; e++) {
      const flow_job_edge_t *je = &jg->edges[e];
      if (je->target != jv->id) continue;
      flow_view_input_t *in = &x->inputs[x->n_inputs++];
      in->source = je->source - 1;
      ship_strategy(je->part, in->ship_strategy, sizeof(in->ship_strategy));
    }
    x->first = first;
    first += jv->parallelism;
  }
  v->n_subtasks = first;
  v->subtasks = flow_xcalloc((size_t)first + 1, sizeof(*v->subtasks));
  for (int i = 0; i < jg->n_vertices; i++)
    for (int s = 0; s < jg->vertices[i].parallelism; s++) {
      flow_view_subtask_t *st = &v->subtasks[v->vertices[i].first + s];
      st->vertex = i;
      st->subtask = s;
      st->state = -1;
    }
}

/* Sums the tasks' accumulators (JSON objects name -> number, written by
 * lua/flow/runtime/task.lua) into v, names in first-seen order. */
static void sum_accumulators(flow_job_view_t *v, const flow_buffer_t *blobs) {
  int cap = 0;
  double *sums = NULL;
  for (const flow_buffer_t *b = blobs; b != NULL; b = b->next) {
    cJSON *o = cJSON_ParseWithLength((const char *)b->data, b->size);
    if (o == NULL) continue; /* (not JSON: an older task's; not shown) */
    for (cJSON *x = o->child; x != NULL; x = x->next) {
      if (!cJSON_IsNumber(x) || x->string == NULL) continue;
      int i = 0;
      while (i < v->n_accumulators && strcmp(v->accumulators[i].name, x->string) != 0) i++;
      if (i == v->n_accumulators) {
        if (i == cap) {
          cap = cap ? cap * 2 : 8;
          v->accumulators = flow_xrealloc(v->accumulators, sizeof(*v->accumulators) * (size_t)cap);
          sums = flow_xrealloc(sums, sizeof(double) * (size_t)cap);
        }
        v->accumulators[i].name = flow_strdup(x->string);
        v->accumulators[i].value = NULL;
        sums[i] = 0;
        v->n_accumulators++;
      }
      sums[i] += x->valuedouble;
    }
    cJSON_Delete(o);
  }
  for (int i = 0; i < v->n_accumulators; i++) {
    char s[40];
    if (sums[i] == (double)(long long)sums[i]) snprintf(s, sizeof(s), "%lld", (long long)sums[i]);
    else snprintf(s, sizeof(s), "%.17g", sums[i]);
    v->accumulators[i].value = flow_strdup(s);
  }
  free(sums);
}

flow_job_view_t *flow_job_view_build(const flow_job_view_source_t *src) {
  flow_job_view_t *v = flow_xcalloc(1, sizeof(*v));
  atomic_init(&v->refs, 1);
  snprintf(v->id, sizeof(v->id), "%s", src->id);
  v->name = flow_strdup(src->name != NULL ? src->name : "job");
  v->status = src->status;
  v->start_ms = src->start_ms;
  v->end_ms = src->end_ms;
  v->built_ms = flow_now_ms();
  const flow_dispatcher_t *d = src->d;
  if (d != NULL) {
    v->restart_strategy = restart_description(&d->restart);
    v->buffer_timeout_ms = d->buffer_timeout_ms;
    v->checkpoint_interval_ms = d->checkpoint.interval_ms;
    v->exactly_once = d->checkpoint.exactly_once;
  } else {
    v->restart_strategy = flow_strdup("none");
  }
  build_graph(v, src->jg);
  v->ck_last_duration_ms = v->ck_last_size = -1;
  const flow_job_master_t *jm = src->jm;
  const flow_job_view_t *prev = src->prev;
  if (jm != NULL && jm->eg != NULL) {
    v->restarts = jm->restarts;
    const char *failure = jm->failure != NULL ? jm->failure : src->failure; /* (the result took it at the end) */
    if (failure != NULL) {
      v->failure = flow_strdup(failure);
      v->failure_ms = src->end_ms > 0 ? src->end_ms : v->built_ms;
    }
    for (int i = 0; i < v->n_vertices && i < jm->eg->n_ejv; i++) {
      const flow_execution_job_vertex_t *ejv = &jm->eg->ejv[i];
      for (int s = 0; s < ejv->parallelism && s < v->vertices[i].parallelism; s++) {
        int idx = v->vertices[i].first + s;
        flow_view_subtask_t *st = &v->subtasks[idx];
        const flow_execution_t *e = &ejv->subtasks[s].current;
        st->state = (int)e->state;
        st->attempt = e->attempt;
        memcpy(st->state_ms, e->state_ms, sizeof(st->state_ms));
        const flow_endpoint_t *te = jm->exec_te != NULL ? jm->exec_te[idx] : NULL;
        if (te != NULL && src->te_name != NULL)
          src->te_name(te, st->host, sizeof(st->host), st->tm_id, sizeof(st->tm_id), src->data);
      }
    }
    const flow_checkpoint_coordinator_t *cc = &jm->cc;
    v->ck_completed = cc->completed;
    v->ck_failed = cc->aborted;
    v->ck_in_progress = cc->pending_id != 0;
    v->ck_total = cc->n_stats;
    v->ck_restored = jm->restarts > 0 && cc->latest_id > 0 ? jm->restarts : 0;
    v->ck_last_duration_ms = cc->last_duration_ms;
    v->ck_last_size = cc->last_size;
    v->ck_latest_id = cc->latest_id;
    int64_t n = cc->n_stats < FLOW_CC_HISTORY ? cc->n_stats : FLOW_CC_HISTORY;
    v->history = flow_xcalloc((size_t)n + 1, sizeof(*v->history));
    for (int64_t k = 0; k < n; k++) v->history[k] = cc->stats[(cc->n_stats - 1 - k) % FLOW_CC_HISTORY];
    v->n_history = (int)n;
    v->latest_completed = cc->latest_completed;
    v->latest_failed = cc->latest_failed;
  } else if (prev != NULL && prev->n_subtasks == v->n_subtasks) {
    v->restarts = prev->restarts;
    for (int i = 0; i < v->n_subtasks; i++) {
      flow_view_subtask_t *st = &v->subtasks[i];
      const flow_view_subtask_t *p = &prev->subtasks[i];
      st->state = p->state;
      st->attempt = p->attempt;
      memcpy(st->state_ms, p->state_ms, sizeof(st->state_ms));
      memcpy(st->host, p->host, sizeof(st->host));
      memcpy(st->tm_id, p->tm_id, sizeof(st->tm_id));
    }
    v->ck_completed = prev->ck_completed;
    v->ck_failed = prev->ck_failed;
    v->ck_total = prev->ck_total;
    v->ck_restored = prev->ck_restored;
    v->ck_last_duration_ms = prev->ck_last_duration_ms;
    v->ck_last_size = prev->ck_last_size;
    v->ck_latest_id = prev->ck_latest_id;
    v->history = flow_xcalloc((size_t)prev->n_history + 1, sizeof(*v->history));
    if (prev->n_history > 0) memcpy(v->history, prev->history, sizeof(*v->history) * (size_t)prev->n_history);
    v->n_history = prev->n_history;
    v->latest_completed = prev->latest_completed;
    v->latest_failed = prev->latest_failed;
  }
  if (jm == NULL) {
    if (src->restarts > v->restarts) v->restarts = src->restarts;
    if (src->failure != NULL) {
      v->failure = flow_strdup(src->failure);
      v->failure_ms = src->end_ms > 0 ? src->end_ms : v->built_ms;
    }
  }
  if (v->history == NULL) v->history = flow_xcalloc(1, sizeof(*v->history));
  const flow_buffer_t *acc = src->accumulators != NULL ? src->accumulators : jm != NULL ? jm->accumulators : NULL;
  if (acc != NULL) sum_accumulators(v, acc);
  else if (prev != NULL) {
    v->n_accumulators = prev->n_accumulators;
    v->accumulators = flow_xcalloc((size_t)prev->n_accumulators + 1, sizeof(*v->accumulators));
    for (int i = 0; i < prev->n_accumulators; i++) {
      v->accumulators[i].name = flow_strdup(prev->accumulators[i].name);
      v->accumulators[i].value = flow_strdup(prev->accumulators[i].value);
    }
  }
  const flow_job_sampler_t *smp = src->sampler;
  for (int i = 0; i < v->n_subtasks; i++) {
    flow_view_subtask_t *st = &v->subtasks[i];
    if (smp != NULL && i < smp->n && smp->has[i]) {
      st->has_metrics = 1;
      copy_reading(&st->m, &smp->cur[i]);
      st->rates = smp->rates[i];
    } else if (prev != NULL && prev->n_subtasks == v->n_subtasks && prev->subtasks[i].has_metrics) {
      st->has_metrics = 1;
      copy_reading(&st->m, &prev->subtasks[i].m);
      st->rates = prev->subtasks[i].rates;
    }
    if (st->state >= 0 && flow_execution_state_is_terminal((flow_execution_state_t)st->state)) {
      /* an ended subtask does nothing per second any more */
      memset(&st->rates, 0, sizeof(st->rates));
      st->m.backpressured = 0;
    }
  }
  return v;
}

flow_job_view_t *flow_job_view_ref(flow_job_view_t *v) {
  if (v != NULL) atomic_fetch_add(&v->refs, 1);
  return v;
}

void flow_job_view_unref(flow_job_view_t *v) {
  if (v == NULL || atomic_fetch_sub(&v->refs, 1) != 1) return;
  for (int i = 0; i < v->n_vertices; i++) {
    flow_view_vertex_t *x = &v->vertices[i];
    free(x->name);
    free(x->slot_sharing_group);
    for (int k = 0; k < x->n_ops; k++) free(x->op_names[k]);
    free(x->op_names);
    free(x->inputs);
  }
  free(v->vertices);
  for (int i = 0; i < v->n_subtasks; i++) flow_task_reading_clear(&v->subtasks[i].m);
  free(v->subtasks);
  for (int i = 0; i < v->n_accumulators; i++) {
    free(v->accumulators[i].name);
    free(v->accumulators[i].value);
  }
  free(v->accumulators);
  free(v->history);
  free(v->name);
  free(v->failure);
  free(v->restart_strategy);
  free(v);
}
