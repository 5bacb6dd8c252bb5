/* CheckpointCoordinator (Flink's, in the JobMaster): triggers checkpoints
 * on a timer by asking every running source task to inject a barrier,
 * collects the acknowledgements (each task writes its own snapshot file),
 * and completes a checkpoint by writing its _metadata atomically once every
 * task acknowledged. A checkpoint that times out, or whose job fails, is
 * aborted and its directory removed. Loop thread only.
 *
 * On-disk layout (docs/checkpoints.md):
 *   DIR/chk-<id>/task-<vertex>-<subtask>.state   one per task, written by the task
 *   DIR/chk-<id>/_metadata                       written last: the checkpoint exists
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coordination/checkpoint_coordinator.h"
#include "coordination/dispatcher.h"
#include "coordination/job_master.h"
#include "coordination/messages.h"
#include "util/clock.h"
#include "util/common.h"
#include "util/hash.h"
#include "util/fs.h"

#define META_VERSION 1

static int64_t now_ms(void) { return (int64_t)(uv_hrtime() / 1000000u); }

static void on_timer_closed(uv_handle_t *h) { free(h); }

static int n_vertices_total(flow_job_master_t *jm) { return jm->eg->n_subtasks_total; }

/* index of (vertex, subtask) in vertex-major order */
static int ev_index(flow_job_master_t *jm, int vertex, int subtask) {
  int idx = 0;
  for (int v = 0; v < vertex - 1; v++) idx += jm->eg->ejv[v].parallelism;
  return idx + subtask;
}

static void remove_tree(const char *path) {
  DIR *d = opendir(path);
  if (d != NULL) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      size_t n = strlen(path) + strlen(e->d_name) + 2;
      char *p = malloc(n);
      if (p == NULL) break;
      snprintf(p, n, "%s/%s", path, e->d_name);
      unlink(p);
      free(p);
    }
    closedir(d);
  }
  rmdir(path);
}

/* the statistics entry of the pending checkpoint, or NULL */
static flow_checkpoint_stats_t *pending_stats(flow_checkpoint_coordinator_t *cc) {
  if (cc->n_stats == 0) return NULL;
  flow_checkpoint_stats_t *s = &cc->stats[(cc->n_stats - 1) % FLOW_CC_HISTORY];
  return s->id == cc->pending_id && s->status == FLOW_CK_IN_PROGRESS ? s : NULL;
}

static int64_t file_size(const char *path) {
  struct stat st;
  return path != NULL && stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

static void clear_pending(flow_checkpoint_coordinator_t *cc, int total) {
  if (cc->files != NULL)
    for (int i = 0; i < total; i++) free(cc->files[i]);
  free(cc->files);
  free(cc->acked);
  free(cc->pending_dir);
  cc->files = NULL;
  cc->acked = NULL;
  cc->pending_dir = NULL;
  cc->pending_id = 0;
  cc->pending_savepoint = 0;
  cc->n_acked = 0;
}

void flow_cc_report_savepoint(flow_job_master_t *jm) {
  flow_msg_t *m = flow_msg_new(FLOW_MSG_SAVEPOINT_DONE, &jm->ep, &jm->dispatcher->ep);
  m->savepoint_done.result = flow_strdup(jm->cc.savepoint_result ? jm->cc.savepoint_result : "error: unknown");
  flow_rpc_send(jm->ep.rpc, m);
}

void flow_cc_abort(flow_job_master_t *jm, const char *why) {
  flow_checkpoint_coordinator_t *cc = &jm->cc;
  if (cc->pending_id == 0) return;
  if (cc->pending_savepoint) {
    free(cc->savepoint_result);
    size_t n = strlen(why) + 64;
    cc->savepoint_result = flow_xmalloc(n);
    snprintf(cc->savepoint_result, n, "error: savepoint aborted: %s", why);
    flow_cc_report_savepoint(jm);
  }
  if (!cc->pending_savepoint && cc->pending_dir != NULL) remove_tree(cc->pending_dir);
  cc->aborted++;
  cc->last_end_ms = now_ms();
  flow_checkpoint_stats_t *s = pending_stats(cc);
  if (s != NULL) {
    s->status = FLOW_CK_FAILED;
    s->duration_ms = cc->last_end_ms - cc->pending_start_ms;
    snprintf(s->failure, sizeof(s->failure), "%s", why);
    cc->latest_failed = *s;
  }
  clear_pending(cc, n_vertices_total(jm));
}

/* Sends checkpoint id to every TaskExecutor running a task of the job, once
 * each: NOTIFY_CHECKPOINT (dir NULL: it completed), else TRIGGER_CHECKPOINT
 * naming no task (its directory, for the job's networks there). */
static void to_each_te(flow_job_master_t *jm, int64_t id, const char *dir) {
  int total = jm->eg->n_subtasks_total;
  for (int i = 0; i < total; i++) {
    flow_endpoint_t *te = jm->exec_te[i];
    int seen = te == NULL || te->lost;
    for (int k = 0; k < i && !seen; k++) seen = jm->exec_te[k] == te;
    if (seen) continue;
    flow_msg_t *m;
    if (dir == NULL) {
      m = flow_msg_new(FLOW_MSG_NOTIFY_CHECKPOINT, &jm->ep, te);
      m->notify_checkpoint.job_master = &jm->ep;
      m->notify_checkpoint.checkpoint_id = id;
    } else {
      m = flow_msg_new(FLOW_MSG_TRIGGER_CHECKPOINT, &jm->ep, te);
      m->trigger_checkpoint.job_master = &jm->ep;
      m->trigger_checkpoint.checkpoint_id = id;
      m->trigger_checkpoint.dir = flow_strdup(dir);
    }
    flow_rpc_send(jm->ep.rpc, m);
  }
}

static void notify_tasks(flow_job_master_t *jm, int64_t id) { to_each_te(jm, id, NULL); }

static int write_metadata(flow_job_master_t *jm, char *err, size_t errlen) {
  flow_checkpoint_coordinator_t *cc = &jm->cc;
  size_t cap = 256, len = 0;
  char *buf = flow_xmalloc(cap);
#define APPEND(...)                                                      \
  do {                                                                   \
    int need = snprintf(NULL, 0, __VA_ARGS__);                           \
    while (len + (size_t)need + 1 > cap) buf = flow_xrealloc(buf, cap *= 2); \
    snprintf(buf + len, cap - len, __VA_ARGS__);                         \
    len += (size_t)need;                                                 \
  } while (0)
  APPEND("flowlua checkpoint v%d\njob %s\ncheckpoint %lld\n", META_VERSION, jm->job_id,
         (long long)cc->pending_id);
  int idx = 0;
  for (int v = 0; v < jm->eg->n_ejv; v++) {
    flow_execution_job_vertex_t *ejv = &jm->eg->ejv[v];
    for (int s = 0; s < ejv->parallelism; s++, idx++) {
      const char *base = cc->files[idx] ? strrchr(cc->files[idx], '/') : NULL;
      if (cc->files[idx] == NULL) /* finished before the barrier: it stays finished on restore */
        APPEND("finished %d %d %d ", ejv->job_vertex, s, ejv->parallelism);
      else
        APPEND("task %d %d %d %s ", ejv->job_vertex, s, ejv->parallelism, base ? base + 1 : cc->files[idx]);
      const flow_job_vertex_t *jv = &jm->jg->vertices[ejv->job_vertex - 1];
      for (int i = 0; i < jv->n_ops; i++) {
        const flow_stream_node_t *n = flow_sg_node(jm->jg->sg, jv->ops[i]);
        if (n->uid != NULL) APPEND("%s%s", i ? "," : "", n->uid);
        else APPEND("%sop-%d", i ? "," : "", n->id);
      }
      APPEND("\n");
    }
  }
  APPEND("end %u\n", flow_crc32(buf, len));
#undef APPEND
  size_t n = strlen(cc->pending_dir) + 16;
  char *path = flow_xmalloc(n);
  snprintf(path, n, "%s/_metadata", cc->pending_dir);
  int rc = flow_file_write_atomic(path, buf, len, err, errlen);
  free(path);
  free(buf);
  return rc;
}

static void complete(flow_job_master_t *jm) {
  flow_checkpoint_coordinator_t *cc = &jm->cc;
  char err[256];
  if (write_metadata(jm, err, sizeof(err)) != 0) {
    flow_cc_abort(jm, err);
    return;
  }
  int64_t id = cc->pending_id;
  int savepoint = cc->pending_savepoint;
  cc->completed++;
  cc->last_end_ms = now_ms();
  cc->last_duration_ms = cc->last_end_ms - cc->pending_start_ms;
  /* lastCheckpointSize: its state files and metadata, as stored */
  int64_t size = 0;
  int total = n_vertices_total(jm);
  for (int i = 0; i < total; i++) size += file_size(cc->files[i]);
  size_t mlen = strlen(cc->pending_dir) + 16;
  char *meta = flow_xmalloc(mlen);
  snprintf(meta, mlen, "%s/_metadata", cc->pending_dir);
  size += file_size(meta);
  free(meta);
  cc->last_size = size;
  flow_checkpoint_stats_t *s = pending_stats(cc);
  if (s != NULL) {
    s->n_acked = cc->n_acked;
    s->status = FLOW_CK_COMPLETED;
    s->duration_ms = cc->last_duration_ms;
    s->state_size = size;
    cc->latest_completed = *s;
  }
  if (savepoint) {
    free(cc->savepoint_result);
    cc->savepoint_result = flow_strdup(cc->pending_dir);
    flow_cc_report_savepoint(jm);
  }
  /* a savepoint is restorable too, but retained by its owner, not by us */
  free(cc->latest_dir);
  cc->latest_dir = flow_strdup(cc->pending_dir);
  cc->latest_id = id;
  if (!savepoint) {
    cc->retained_dirs = flow_xrealloc(cc->retained_dirs, sizeof(char *) * (size_t)(cc->n_retained + 1));
    cc->retained_dirs[cc->n_retained++] = flow_strdup(cc->pending_dir);
    while (cc->n_retained > (cc->cfg.retained > 0 ? cc->cfg.retained : 1)) {
      remove_tree(cc->retained_dirs[0]);
      free(cc->retained_dirs[0]);
      memmove(cc->retained_dirs, cc->retained_dirs + 1, sizeof(char *) * (size_t)(cc->n_retained - 1));
      cc->n_retained--;
    }
  }
  clear_pending(cc, n_vertices_total(jm));
  notify_tasks(jm, id); /* sinks commit what this checkpoint covers */
  if (savepoint == 2 && jm->status == FLOW_JOB_RUNNING) {
    /* stop-with-savepoint: the job ends FINISHED once its tasks stopped */
    jm->stopping = 1;
    flow_rpc_send(jm->ep.rpc, flow_msg_new(FLOW_MSG_CANCEL_JOB, &jm->ep, &jm->ep));
  }
}

static int all_running(flow_job_master_t *jm) {
  for (int v = 0; v < jm->eg->n_ejv; v++) {
    flow_execution_job_vertex_t *ejv = &jm->eg->ejv[v];
    for (int s = 0; s < ejv->parallelism; s++) {
      flow_execution_state_t st = ejv->subtasks[s].current.state;
      if (st != FLOW_EXEC_RUNNING && st != FLOW_EXEC_FINISHED) return 0;
    }
  }
  return 1;
}

/* Starts the next checkpoint (or savepoint) into dir: 0, FLOW_EIO when dir
 * cannot be created, FLOW_ESTATE when no source is left to inject its
 * barrier (the checkpoint is aborted). */
static int trigger(flow_job_master_t *jm, const char *dir, int savepoint) {
  flow_checkpoint_coordinator_t *cc = &jm->cc;
  if (flow_mkdir_p(dir) != 0) return FLOW_EIO;
  int total = n_vertices_total(jm);
  cc->pending_id = ++cc->next_id;
  cc->pending_dir = flow_strdup(dir);
  cc->pending_savepoint = savepoint;
  cc->pending_start_ms = now_ms();
  cc->acked = flow_xcalloc((size_t)total, 1);
  cc->files = flow_xcalloc((size_t)total, sizeof(char *));
  cc->n_acked = 0;
  flow_checkpoint_stats_t *st = &cc->stats[cc->n_stats++ % FLOW_CC_HISTORY];
  memset(st, 0, sizeof(*st));
  st->id = cc->pending_id;
  st->status = FLOW_CK_IN_PROGRESS;
  st->savepoint = savepoint != 0;
  st->trigger_ms = flow_now_ms();
  st->latest_ack_ms = -1;
  st->duration_ms = -1;
  st->n_total = total;
  snprintf(st->path, sizeof(st->path), "%s", dir);
  /* every TaskExecutor of the job learns the directory first: tasks that
   * see the barrier arrive (on another taskmanager than the source) write
   * there (no task: the job's network only) */
  to_each_te(jm, cc->pending_id, dir);
  int idx = 0, sources = 0;
  for (int v = 0; v < jm->eg->n_ejv; v++) {
    flow_execution_job_vertex_t *ejv = &jm->eg->ejv[v];
    const flow_job_vertex_t *jv = &jm->jg->vertices[ejv->job_vertex - 1];
    int is_source = flow_sg_node(jm->jg->sg, jv->ops[0])->is_source;
    for (int s = 0; s < ejv->parallelism; s++, idx++) {
      flow_execution_t *ex = &ejv->subtasks[s].current;
      if (ex->state == FLOW_EXEC_FINISHED) { /* finished tasks have nothing left to snapshot */
        cc->acked[idx] = 1;
        cc->n_acked++;
        continue;
      }
      if (!is_source) continue;
      flow_msg_t *m = flow_msg_new(FLOW_MSG_TRIGGER_CHECKPOINT, &jm->ep, flow_job_master_task_te(jm, v, s));
      m->trigger_checkpoint.job_master = &jm->ep;
      m->trigger_checkpoint.task = (flow_task_id_t){ejv->job_vertex, s, ex->attempt};
      m->trigger_checkpoint.checkpoint_id = cc->pending_id;
      m->trigger_checkpoint.dir = flow_strdup(dir);
      flow_rpc_send(jm->ep.rpc, m);
      sources++;
    }
  }
  if (sources == 0) { /* every source finished: no barrier can flow any more */
    flow_cc_abort(jm, "all sources have finished");
    return FLOW_ESTATE;
  }
  if (cc->n_acked == total) complete(jm);
  return 0;
}

static void on_tick(uv_timer_t *h) {
  flow_job_master_t *jm = h->data;
  flow_checkpoint_coordinator_t *cc = &jm->cc;
  int64_t now = now_ms();
  if (cc->pending_id != 0) {
    if (now - cc->pending_start_ms >= cc->cfg.timeout_ms) flow_cc_abort(jm, "checkpoint timed out");
    return;
  }
  if (jm->status != FLOW_JOB_RUNNING || !all_running(jm)) return;
  if (cc->last_end_ms != 0 && now - cc->last_end_ms < cc->cfg.min_pause_ms) return;
  if (cc->last_end_ms != 0 && now - cc->last_end_ms < cc->cfg.interval_ms) return;
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s/chk-%lld", cc->cfg.dir, (long long)(cc->next_id + 1));
  (void)trigger(jm, dir, 0);
}

void flow_cc_init(flow_job_master_t *jm, const flow_checkpoint_config_t *cfg) {
  flow_checkpoint_coordinator_t *cc = &jm->cc;
  memset(cc, 0, sizeof(*cc));
  cc->last_duration_ms = -1;
  cc->last_size = -1;
  cc->cfg = *cfg;
  cc->cfg.dir = NULL;
  if (cfg->dir != NULL) { /* as Flink: <dir>/<job id>/chk-<n> */
    size_t n = strlen(cfg->dir) + 40;
    cc->cfg.dir = flow_xmalloc(n);
    snprintf(cc->cfg.dir, n, "%s/%s", cfg->dir, jm->job_id);
  }
  cc->cfg.restore_dir = flow_strdup(cfg->restore_dir);
  if (cc->cfg.timeout_ms <= 0) cc->cfg.timeout_ms = 600000;
  if (cc->cfg.retained <= 0) cc->cfg.retained = 1;
}

void flow_cc_free(flow_job_master_t *jm) {
  flow_checkpoint_coordinator_t *cc = &jm->cc;
  flow_cc_stop(jm);
  if (jm->eg != NULL) clear_pending(cc, n_vertices_total(jm));
  for (int i = 0; i < cc->n_retained; i++) free(cc->retained_dirs[i]);
  free(cc->retained_dirs);
  free(cc->latest_dir);
  free(cc->cfg.dir);
  free(cc->cfg.restore_dir);
  free(cc->savepoint_result);
}

void flow_cc_on_deployed(flow_job_master_t *jm) {
  flow_checkpoint_coordinator_t *cc = &jm->cc;
  if (cc->cfg.interval_ms <= 0 || cc->cfg.dir == NULL) return;
  if (cc->timer == NULL) {
    cc->timer = flow_xcalloc(1, sizeof(uv_timer_t));
    uv_timer_init(jm->ep.rpc->loop, cc->timer);
    cc->timer->data = jm;
    /* tick often enough to honour the interval and the timeout */
    uint64_t tick = (uint64_t)(cc->cfg.interval_ms < 50 ? cc->cfg.interval_ms : 50);
    uv_timer_start(cc->timer, on_tick, (uint64_t)cc->cfg.interval_ms, tick > 0 ? tick : 1);
  }
  cc->last_end_ms = now_ms(); /* the first checkpoint comes one interval after (re)deployment */
}

void flow_cc_stop(flow_job_master_t *jm) {
  flow_checkpoint_coordinator_t *cc = &jm->cc;
  if (cc->timer != NULL) {
    uv_close((uv_handle_t *)cc->timer, on_timer_closed);
    cc->timer = NULL;
  }
}

static void ack(flow_job_master_t *jm, int vertex, int subtask, char *file) {
  flow_checkpoint_coordinator_t *cc = &jm->cc;
  int idx = ev_index(jm, vertex, subtask);
  if (cc->acked[idx]) {
    free(file);
    return;
  }
  cc->acked[idx] = 1;
  cc->files[idx] = file;
  cc->n_acked++;
  flow_checkpoint_stats_t *s = pending_stats(cc);
  if (s != NULL) {
    s->n_acked = cc->n_acked;
    s->latest_ack_ms = flow_now_ms();
  }
  if (cc->n_acked == n_vertices_total(jm)) complete(jm);
}

void flow_cc_on_ack(flow_job_master_t *jm, flow_msg_ack_checkpoint_t *p) {
  flow_checkpoint_coordinator_t *cc = &jm->cc;
  if (cc->pending_id == 0 || p->checkpoint_id != cc->pending_id) return; /* late or aborted */
  flow_execution_vertex_t *ev = flow_eg_vertex(jm->eg, p->task.vertex, p->task.subtask);
  if (ev == NULL || ev->current.attempt != p->task.attempt) return;
  if (p->state_file == NULL) { /* declined */
    flow_cc_abort(jm, "a task declined the checkpoint");
    return;
  }
  ack(jm, p->task.vertex, p->task.subtask, p->state_file);
  p->state_file = NULL;
}

void flow_cc_on_task_finished(flow_job_master_t *jm, int vertex, int subtask) {
  flow_checkpoint_coordinator_t *cc = &jm->cc;
  if (cc->pending_id == 0) return;
  /* its barrier may never come: a finished task has no state left to save */
  int idx = ev_index(jm, vertex, subtask);
  if (!cc->acked[idx]) ack(jm, vertex, subtask, NULL);
}

int flow_cc_trigger_savepoint(flow_job_master_t *jm, const char *dir, int stop) {
  flow_checkpoint_coordinator_t *cc = &jm->cc;
  if (jm->status != FLOW_JOB_RUNNING || cc->pending_id != 0 || !all_running(jm)) return FLOW_ESTATE;
  return trigger(jm, dir, stop ? 2 : 1);
}

const char *flow_cc_restore_dir(flow_job_master_t *jm) {
  if (jm->cc.latest_dir != NULL) return jm->cc.latest_dir;
  return jm->cc.cfg.restore_dir;
}
