/* Checkpointing of a job (Flink's CheckpointConfig): what a client submits,
 * the Dispatcher keeps and each JobMaster's CheckpointCoordinator follows. */
#ifndef FLOW_COORDINATION_CHECKPOINT_CONFIG_H
#define FLOW_COORDINATION_CHECKPOINT_CONFIG_H

#include <stdint.h>

typedef struct flow_checkpoint_config {
  int64_t interval_ms;  /* 0: off */
  int exactly_once;     /* aligned barriers (1) or not (0) */
  char *dir;            /* where chk-<id>/ directories go */
  int64_t timeout_ms;   /* a pending checkpoint is aborted after this */
  int64_t min_pause_ms; /* between the end of one and the start of the next */
  int retained;         /* completed checkpoints kept */
  char *restore_dir;    /* start from this checkpoint or savepoint, or NULL */
} flow_checkpoint_config_t;

#endif
