/* CheckpointCoordinator (Flink's, in the JobMaster): triggers checkpoints
 * and savepoints, collects the tasks' acknowledgements and completes or
 * aborts them (checkpoint_coordinator.c; on-disk layout in
 * docs/checkpoints.md). Its state lives in the JobMaster (jm->cc); every
 * function runs on the loop thread. */
#ifndef FLOW_COORDINATION_CHECKPOINT_COORDINATOR_H
#define FLOW_COORDINATION_CHECKPOINT_COORDINATOR_H

#include <stdint.h>
#include <uv.h>

#include "coordination/checkpoint_config.h"
#include "coordination/messages.h"

typedef struct flow_job_master flow_job_master_t;

/* One checkpoint as Flink's CheckpointStatsTracker keeps it (REST
 * /jobs/:id/checkpoints). */
typedef enum { FLOW_CK_IN_PROGRESS = 0, FLOW_CK_COMPLETED = 1, FLOW_CK_FAILED = 2 } flow_checkpoint_status_t;
typedef struct flow_checkpoint_stats {
  int64_t id;
  int status;             /* flow_checkpoint_status_t */
  int savepoint;
  int64_t trigger_ms;     /* wall clock */
  int64_t latest_ack_ms;  /* wall clock, -1: none yet */
  int64_t duration_ms;    /* trigger to completion or failure, -1: under way */
  int64_t state_size;     /* bytes of its state files and metadata */
  int n_acked, n_total;
  char path[192];         /* its directory */
  char failure[160];      /* why it failed */
} flow_checkpoint_stats_t;

#define FLOW_CC_HISTORY 10 /* Flink's web.checkpoints.history default */

/* The CheckpointCoordinator's state inside a JobMaster (loop thread only). */
typedef struct flow_checkpoint_coordinator {
  flow_checkpoint_config_t cfg;
  uv_timer_t *timer;      /* heap: freed by its close callback */
  int64_t next_id;
  int64_t pending_id;     /* 0: none */
  int64_t pending_start_ms;
  char *pending_dir;      /* chk-<id> or a savepoint directory */
  int pending_savepoint;  /* 1: savepoint, 2: savepoint then cancel */
  unsigned char *acked;   /* per execution vertex (vertex-major order) */
  char **files;           /* per execution vertex: state file, once acked */
  int n_acked;
  int64_t last_end_ms;
  int64_t latest_id;      /* latest completed checkpoint, 0: none */
  int64_t last_duration_ms; /* trigger to completion of the latest completed one, -1: none */
  char *latest_dir;
  char **retained_dirs;   /* oldest first */
  int n_retained;
  int64_t completed;      /* counters, for results and tests */
  int64_t aborted;
  int64_t last_size;      /* state size of the latest completed one, -1: none */
  /* statistics: the latest FLOW_CC_HISTORY checkpoints, a ring (entry
   * (n_stats - 1) % FLOW_CC_HISTORY is the newest); n_stats counts all */
  flow_checkpoint_stats_t stats[FLOW_CC_HISTORY];
  int64_t n_stats;
  flow_checkpoint_stats_t latest_completed, latest_failed; /* id 0: none */
  char *savepoint_result; /* path of the last savepoint, or an error (prefix "error: ") */
} flow_checkpoint_coordinator_t;

/* Called by the JobMaster. */
void flow_cc_init(flow_job_master_t *jm, const flow_checkpoint_config_t *cfg);
void flow_cc_free(flow_job_master_t *jm);
void flow_cc_on_deployed(flow_job_master_t *jm);
/* A task acknowledged (or declined) a checkpoint; takes ack->state_file. */
void flow_cc_on_ack(flow_job_master_t *jm, flow_msg_ack_checkpoint_t *ack);
void flow_cc_on_task_finished(flow_job_master_t *jm, int vertex, int subtask);
void flow_cc_abort(flow_job_master_t *jm, const char *why);
void flow_cc_stop(flow_job_master_t *jm);
/* Starts a savepoint into dir now (stop: cancel the job once it completed):
 * 0, FLOW_ESTATE when the job is not running or a checkpoint is pending (or
 * no source is left), FLOW_EIO when dir cannot be created. */
int flow_cc_trigger_savepoint(flow_job_master_t *jm, const char *dir, int stop);
/* The checkpoint new attempts restore from: the latest completed, else the
 * configured restore directory, else NULL. */
const char *flow_cc_restore_dir(flow_job_master_t *jm);
/* Sends the savepoint result (cc.savepoint_result) to the Dispatcher. */
void flow_cc_report_savepoint(flow_job_master_t *jm);

#endif
