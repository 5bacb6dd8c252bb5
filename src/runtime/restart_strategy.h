/* Restart strategies (Flink's RestartBackoffTimeStrategy): after a task
 * failure the JobMaster reports it with notify_failure(now), then asks
 * can_restart(now) and, if so, waits backoff_ms() before deploying new
 * attempts. Time is passed in (milliseconds), so tests drive a fake clock.
 * Defaults are Flink's RestartStrategyOptions. */
#ifndef FLOW_RUNTIME_RESTART_STRATEGY_H
#define FLOW_RUNTIME_RESTART_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  FLOW_RESTART_NONE = 0,
  FLOW_RESTART_FIXED_DELAY,
  FLOW_RESTART_FAILURE_RATE,
  FLOW_RESTART_EXPONENTIAL_DELAY
} flow_restart_kind_t;

#define FLOW_FAILURE_RATE_MAX_WINDOW 1024

typedef struct flow_restart_strategy {
  flow_restart_kind_t kind;
  /* fixed_delay: attempts (default 1), delay_ms (1000) */
  int64_t attempts;
  int64_t delay_ms;
  /* failure_rate: max_failures per interval (1), interval_ms (60000), delay_ms */
  int64_t max_failures;
  int64_t interval_ms;
  /* exponential_delay: initial_ms (1000), max_ms (60000), multiplier (1.5),
   * jitter (0.1), reset_ms (3600000), attempts (unlimited: INT64_MAX) */
  int64_t initial_ms, max_ms, reset_ms;
  double multiplier, jitter;
  /* state */
  int64_t failures;          /* notified failures (fixed delay: restarts asked) */
  int64_t current_backoff_ms;
  int64_t last_failure_ms;
  int64_t exp_attempts;      /* failures since the backoff was last reset */
  int64_t window[FLOW_FAILURE_RATE_MAX_WINDOW]; /* failure timestamps, ring */
  int window_head, window_len;
  uint64_t rng;              /* xorshift state for the jitter */
} flow_restart_strategy_t;

/* Sets kind and Flink's defaults for it; tune fields afterwards. */
void flow_restart_init(flow_restart_strategy_t *rs, flow_restart_kind_t kind);
int flow_restart_parse_kind(const char *name, flow_restart_kind_t *out); /* 0 or FLOW_EINVAL */
const char *flow_restart_kind_name(flow_restart_kind_t kind);
/* Validates parameters; on error writes a message. */
int flow_restart_validate(const flow_restart_strategy_t *rs, char *err, size_t errlen);
void flow_restart_notify_failure(flow_restart_strategy_t *rs, int64_t now_ms);
int flow_restart_can_restart(const flow_restart_strategy_t *rs, int64_t now_ms);
int64_t flow_restart_backoff_ms(flow_restart_strategy_t *rs);

#endif
