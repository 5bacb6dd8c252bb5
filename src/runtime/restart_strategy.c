#include "runtime/restart_strategy.h"

#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "util/common.h"

void flow_restart_init(flow_restart_strategy_t *rs, flow_restart_kind_t kind) {
  memset(rs, 0, sizeof(*rs));
  rs->kind = kind;
  rs->attempts = kind == FLOW_RESTART_EXPONENTIAL_DELAY ? INT64_MAX : 1;
  rs->delay_ms = 1000;
  rs->max_failures = 1;
  rs->interval_ms = 60000;
  rs->initial_ms = 1000;
  rs->max_ms = 60000;
  rs->multiplier = 1.5;
  rs->jitter = 0.1;
  rs->reset_ms = 3600000;
  rs->current_backoff_ms = rs->initial_ms;
  rs->rng = 0x9e3779b97f4a7c15ull ^ uv_hrtime(); /* jitter differs between jobs, as Flink's */
  if (rs->rng == 0) rs->rng = 1;
}

static const char *names[] = {"none", "fixed_delay", "failure_rate", "exponential_delay"};

int flow_restart_parse_kind(const char *name, flow_restart_kind_t *out) {
  for (int i = 0; i < 4; i++)
    if (strcmp(name, names[i]) == 0) {
      *out = (flow_restart_kind_t)i;
      return 0;
    }
  return FLOW_EINVAL;
}

const char *flow_restart_kind_name(flow_restart_kind_t kind) {
  return (unsigned)kind < 4 ? names[kind] : "?";
}

int flow_restart_validate(const flow_restart_strategy_t *rs, char *err, size_t errlen) {
  const char *bad = NULL;
  switch (rs->kind) {
  case FLOW_RESTART_NONE: break;
  case FLOW_RESTART_FIXED_DELAY:
    if (rs->attempts < 0) bad = "fixed_delay: attempts must be >= 0";
    else if (rs->delay_ms < 0) bad = "fixed_delay: delay_ms must be >= 0";
    break;
  case FLOW_RESTART_FAILURE_RATE:
    if (rs->max_failures < 1 || rs->max_failures > FLOW_FAILURE_RATE_MAX_WINDOW)
      bad = "failure_rate: max_failures must be in 1..1024";
    else if (rs->interval_ms < 1) bad = "failure_rate: interval_ms must be >= 1";
    else if (rs->delay_ms < 0) bad = "failure_rate: delay_ms must be >= 0";
    break;
  case FLOW_RESTART_EXPONENTIAL_DELAY:
    if (rs->initial_ms < 1) bad = "exponential_delay: initial_ms must be >= 1";
    else if (rs->max_ms < rs->initial_ms) bad = "exponential_delay: initial_ms cannot exceed max_ms";
    else if (!(rs->multiplier > 1)) bad = "exponential_delay: multiplier must be greater than 1";
    else if (rs->reset_ms < 1) bad = "exponential_delay: reset_ms must be >= 1";
    else if (!(rs->jitter >= 0 && rs->jitter <= 1)) bad = "exponential_delay: jitter must be in 0..1";
    else if (rs->attempts < 0) bad = "exponential_delay: attempts must be >= 0";
    break;
  }
  if (bad == NULL) return 0;
  snprintf(err, errlen, "%s", bad);
  return FLOW_EINVAL;
}

void flow_restart_notify_failure(flow_restart_strategy_t *rs, int64_t now_ms) {
  rs->failures++;
  switch (rs->kind) {
  case FLOW_RESTART_FAILURE_RATE: {
    /* a bounded window of the last max_failures failure times */
    if (rs->window_len >= rs->max_failures) {
      rs->window_head = (rs->window_head + 1) % FLOW_FAILURE_RATE_MAX_WINDOW;
      rs->window_len--;
    }
    rs->window[(rs->window_head + rs->window_len) % FLOW_FAILURE_RATE_MAX_WINDOW] = now_ms;
    rs->window_len++;
    break;
  }
  case FLOW_RESTART_EXPONENTIAL_DELAY:
    /* in double: reset_ms + backoff and backoff * multiplier must not
     * overflow (Flink's long arithmetic saturates) */
    if (rs->failures > 1 &&
        (double)now_ms - (double)rs->last_failure_ms < (double)rs->reset_ms + (double)rs->current_backoff_ms) {
      double next = (double)rs->current_backoff_ms * rs->multiplier;
      rs->current_backoff_ms = next >= (double)rs->max_ms ? rs->max_ms : (int64_t)next;
      if (rs->current_backoff_ms < rs->initial_ms) rs->current_backoff_ms = rs->initial_ms;
      rs->exp_attempts++;
    } else { /* first failure, or stable for long enough: back to the start */
      rs->current_backoff_ms = rs->initial_ms;
      rs->exp_attempts = 1;
    }
    rs->last_failure_ms = now_ms;
    break;
  default: break;
  }
}

int flow_restart_can_restart(const flow_restart_strategy_t *rs, int64_t now_ms) {
  switch (rs->kind) {
  case FLOW_RESTART_NONE: return 0;
  case FLOW_RESTART_FIXED_DELAY: return rs->failures <= rs->attempts;
  case FLOW_RESTART_FAILURE_RATE:
    /* Flink: when the window holds max_failures failures, restart only if
     * the earliest of them is older than the interval */
    if (rs->window_len >= rs->max_failures) return now_ms - rs->window[rs->window_head] > rs->interval_ms;
    return 1;
  case FLOW_RESTART_EXPONENTIAL_DELAY: return rs->exp_attempts <= rs->attempts;
  }
  return 0;
}

int64_t flow_restart_backoff_ms(flow_restart_strategy_t *rs) {
  switch (rs->kind) {
  case FLOW_RESTART_FIXED_DELAY:
  case FLOW_RESTART_FAILURE_RATE: return rs->delay_ms;
  case FLOW_RESTART_EXPONENTIAL_DELAY: {
    int64_t b = rs->current_backoff_ms;
    int64_t off = (int64_t)((double)b * rs->jitter);
    if (off > 0) { /* uniform in [-off, off]; off <= b, so no overflow */
      rs->rng ^= rs->rng << 13;
      rs->rng ^= rs->rng >> 7;
      rs->rng ^= rs->rng << 17;
      int64_t j = (int64_t)(rs->rng % ((uint64_t)off * 2 + 1)) - off;
      b = j > 0 && b > INT64_MAX - j ? INT64_MAX : b + j;
    }
    return b < rs->max_ms ? b : rs->max_ms;
  }
  default: return 0;
  }
}
