/* Restart strategy tests: none, fixed delay, failure rate, exponential delay.
 * Expectations come from Flink's RestartBackoffTimeStrategy implementations
 * (NoRestart-, FixedDelay-, FailureRate-, ExponentialDelayRestartBackoffTime-
 * Strategy) and RestartStrategyOptions defaults, written down by hand. Time is
 * a fake clock: every call gets an explicit now_ms. */
#include "util/common.h"
#include "runtime/restart_strategy.h"

#include "ctest_assert.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static char err[256];

/* Reports a failure at `now` and answers can_restart at the same instant,
 * as the JobMaster does. */
static int fail_at(flow_restart_strategy_t *rs, int64_t now) {
  flow_restart_notify_failure(rs, now);
  return flow_restart_can_restart(rs, now);
}

static int validates(const flow_restart_strategy_t *rs) {
  err[0] = '\0';
  return flow_restart_validate(rs, err, sizeof err);
}

/* --------------------------------------------------- defaults, names --- */

static void test_defaults(void) {
  flow_restart_strategy_t rs;
  CTEST_CASE("defaults");

  flow_restart_init(&rs, FLOW_RESTART_NONE);
  CHECK_EQ_INT(rs.kind, FLOW_RESTART_NONE);
  CHECK_EQ_INT(validates(&rs), 0);

  flow_restart_init(&rs, FLOW_RESTART_FIXED_DELAY);
  CHECK_EQ_INT(rs.kind, FLOW_RESTART_FIXED_DELAY);
  CHECK_EQ_INT(rs.attempts, 1);
  CHECK_EQ_INT(rs.delay_ms, 1000);
  CHECK_EQ_INT(validates(&rs), 0);

  flow_restart_init(&rs, FLOW_RESTART_FAILURE_RATE);
  CHECK_EQ_INT(rs.kind, FLOW_RESTART_FAILURE_RATE);
  CHECK_EQ_INT(rs.max_failures, 1);
  CHECK_EQ_INT(rs.interval_ms, 60000);
  CHECK_EQ_INT(rs.delay_ms, 1000);
  CHECK_EQ_INT(validates(&rs), 0);

  flow_restart_init(&rs, FLOW_RESTART_EXPONENTIAL_DELAY);
  CHECK_EQ_INT(rs.kind, FLOW_RESTART_EXPONENTIAL_DELAY);
  CHECK_EQ_INT(rs.initial_ms, 1000);
  CHECK_EQ_INT(rs.max_ms, 60000);
  CHECK(rs.multiplier == 1.5);
  CHECK(rs.jitter == 0.1);
  CHECK_EQ_INT(rs.reset_ms, 3600000);
  CHECK(rs.attempts == INT64_MAX);
  CHECK_EQ_INT(validates(&rs), 0);

  /* init clears any previous state */
  flow_restart_init(&rs, FLOW_RESTART_FIXED_DELAY);
  rs.attempts = 1;
  CHECK(fail_at(&rs, 0));
  CHECK(!fail_at(&rs, 10));
  flow_restart_init(&rs, FLOW_RESTART_FIXED_DELAY);
  CHECK(fail_at(&rs, 20));
}

static void test_names(void) {
  static const struct { const char *name; flow_restart_kind_t kind; } kinds[] = {
      {"none", FLOW_RESTART_NONE},
      {"fixed_delay", FLOW_RESTART_FIXED_DELAY},
      {"failure_rate", FLOW_RESTART_FAILURE_RATE},
      {"exponential_delay", FLOW_RESTART_EXPONENTIAL_DELAY},
  };
  CTEST_CASE("parse/name round trip");
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    flow_restart_kind_t k = (flow_restart_kind_t)-1;
    CHECK_EQ_INT(flow_restart_parse_kind(kinds[i].name, &k), 0);
    CHECK_EQ_INT(k, kinds[i].kind);
    CHECK_STR(flow_restart_kind_name(kinds[i].kind), kinds[i].name);
    k = (flow_restart_kind_t)-1;
    CHECK_EQ_INT(flow_restart_parse_kind(flow_restart_kind_name(kinds[i].kind), &k), 0);
    CHECK_EQ_INT(k, kinds[i].kind);
  }
  flow_restart_kind_t k = FLOW_RESTART_FAILURE_RATE;
  CHECK_EQ_INT(flow_restart_parse_kind("", &k), FLOW_EINVAL);
  CHECK_EQ_INT(flow_restart_parse_kind("fixed", &k), FLOW_EINVAL);
  CHECK_EQ_INT(flow_restart_parse_kind("fixed_delay_x", &k), FLOW_EINVAL);
  CHECK_EQ_INT(flow_restart_parse_kind("exponential", &k), FLOW_EINVAL);
  CHECK_EQ_INT(k, FLOW_RESTART_FAILURE_RATE); /* untouched on error */
  CHECK_STR(flow_restart_kind_name((flow_restart_kind_t)4), "?");
  CHECK_STR(flow_restart_kind_name((flow_restart_kind_t)-1), "?");
}

/* ---------------------------------------------------------- validate --- */

static void expect_invalid(const flow_restart_strategy_t *rs, const char *kind_word,
                           const char *param_word) {
  CHECK_EQ_INT(validates(rs), FLOW_EINVAL);
  CHECK_CONTAINS(err, kind_word);
  CHECK_CONTAINS(err, param_word);
}

static void test_validate(void) {
  flow_restart_strategy_t rs;

  CTEST_CASE("validate fixed_delay");
  flow_restart_init(&rs, FLOW_RESTART_FIXED_DELAY);
  rs.attempts = -1;
  expect_invalid(&rs, "fixed_delay", "attempts");
  flow_restart_init(&rs, FLOW_RESTART_FIXED_DELAY);
  rs.delay_ms = -1;
  expect_invalid(&rs, "fixed_delay", "delay");
  flow_restart_init(&rs, FLOW_RESTART_FIXED_DELAY);
  rs.attempts = 0; /* Flink: maxNumberRestartAttempts >= 0, backoff >= 0 */
  rs.delay_ms = 0;
  CHECK_EQ_INT(validates(&rs), 0);

  CTEST_CASE("validate failure_rate");
  flow_restart_init(&rs, FLOW_RESTART_FAILURE_RATE);
  rs.max_failures = 0;
  expect_invalid(&rs, "failure_rate", "max_failures");
  flow_restart_init(&rs, FLOW_RESTART_FAILURE_RATE);
  rs.max_failures = -3;
  expect_invalid(&rs, "failure_rate", "max_failures");
  flow_restart_init(&rs, FLOW_RESTART_FAILURE_RATE);
  rs.max_failures = FLOW_FAILURE_RATE_MAX_WINDOW + 1; /* window is bounded */
  expect_invalid(&rs, "failure_rate", "max_failures");
  flow_restart_init(&rs, FLOW_RESTART_FAILURE_RATE);
  rs.max_failures = FLOW_FAILURE_RATE_MAX_WINDOW;
  CHECK_EQ_INT(validates(&rs), 0);
  flow_restart_init(&rs, FLOW_RESTART_FAILURE_RATE);
  rs.interval_ms = 0;
  expect_invalid(&rs, "failure_rate", "interval");
  flow_restart_init(&rs, FLOW_RESTART_FAILURE_RATE);
  rs.delay_ms = -1;
  expect_invalid(&rs, "failure_rate", "delay");
  flow_restart_init(&rs, FLOW_RESTART_FAILURE_RATE);
  rs.interval_ms = 1;
  rs.delay_ms = 0;
  CHECK_EQ_INT(validates(&rs), 0);

  CTEST_CASE("validate exponential_delay");
  flow_restart_init(&rs, FLOW_RESTART_EXPONENTIAL_DELAY);
  rs.initial_ms = 0;
  expect_invalid(&rs, "exponential_delay", "initial");
  flow_restart_init(&rs, FLOW_RESTART_EXPONENTIAL_DELAY);
  rs.initial_ms = 5000;
  rs.max_ms = 4999;
  expect_invalid(&rs, "exponential_delay", "max");
  flow_restart_init(&rs, FLOW_RESTART_EXPONENTIAL_DELAY);
  rs.multiplier = 1.0;
  expect_invalid(&rs, "exponential_delay", "multiplier");
  flow_restart_init(&rs, FLOW_RESTART_EXPONENTIAL_DELAY);
  rs.multiplier = 0.5;
  expect_invalid(&rs, "exponential_delay", "multiplier");
  flow_restart_init(&rs, FLOW_RESTART_EXPONENTIAL_DELAY);
  rs.multiplier = NAN;
  expect_invalid(&rs, "exponential_delay", "multiplier");
  flow_restart_init(&rs, FLOW_RESTART_EXPONENTIAL_DELAY);
  rs.reset_ms = 0;
  expect_invalid(&rs, "exponential_delay", "reset");
  flow_restart_init(&rs, FLOW_RESTART_EXPONENTIAL_DELAY);
  rs.jitter = -0.01;
  expect_invalid(&rs, "exponential_delay", "jitter");
  flow_restart_init(&rs, FLOW_RESTART_EXPONENTIAL_DELAY);
  rs.jitter = 1.01;
  expect_invalid(&rs, "exponential_delay", "jitter");
  flow_restart_init(&rs, FLOW_RESTART_EXPONENTIAL_DELAY);
  rs.jitter = NAN;
  expect_invalid(&rs, "exponential_delay", "jitter");
  flow_restart_init(&rs, FLOW_RESTART_EXPONENTIAL_DELAY);
  rs.attempts = -1;
  expect_invalid(&rs, "exponential_delay", "attempts");
  /* boundaries Flink accepts: jitter in [0, 1], initial == max, multiplier > 1 */
  flow_restart_init(&rs, FLOW_RESTART_EXPONENTIAL_DELAY);
  rs.jitter = 0;
  CHECK_EQ_INT(validates(&rs), 0);
  rs.jitter = 1;
  CHECK_EQ_INT(validates(&rs), 0);
  rs.initial_ms = rs.max_ms = 1;
  rs.multiplier = 1.0001;
  rs.reset_ms = 1;
  CHECK_EQ_INT(validates(&rs), 0);

  CTEST_CASE("validate: small error buffer");
  char small[8];
  memset(small, 'x', sizeof small);
  flow_restart_init(&rs, FLOW_RESTART_FIXED_DELAY);
  rs.attempts = -1;
  CHECK_EQ_INT(flow_restart_validate(&rs, small, sizeof small), FLOW_EINVAL);
  CHECK_EQ_INT(strlen(small), sizeof small - 1);
}

/* -------------------------------------------------------------- none --- */

static void test_none(void) {
  flow_restart_strategy_t rs;
  CTEST_CASE("none");
  flow_restart_init(&rs, FLOW_RESTART_NONE);
  CHECK(!flow_restart_can_restart(&rs, 0)); /* not even before any failure */
  for (int i = 0; i < 5; i++) CHECK(!fail_at(&rs, (int64_t)i * 1000000));
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 0); /* NoRestart: backoff 0 */
}

/* ------------------------------------------------------- fixed delay --- */

static void test_fixed_delay(void) {
  flow_restart_strategy_t rs;

  CTEST_CASE("fixed_delay attempts=2");
  flow_restart_init(&rs, FLOW_RESTART_FIXED_DELAY);
  rs.attempts = 2;
  rs.delay_ms = 250;
  CHECK(fail_at(&rs, 0));
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 250);
  CHECK(fail_at(&rs, 10)); /* attempt 2 of 2 */
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 250);
  CHECK(!fail_at(&rs, 20)); /* attempt 3 > 2 */
  /* attempts are not time-windowed: a long quiet period does not refill them */
  CHECK(!fail_at(&rs, 1000000000));

  CTEST_CASE("fixed_delay default (attempts=1)");
  flow_restart_init(&rs, FLOW_RESTART_FIXED_DELAY);
  CHECK(fail_at(&rs, 0));
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 1000);
  CHECK(!fail_at(&rs, 5000));

  CTEST_CASE("fixed_delay attempts=0");
  flow_restart_init(&rs, FLOW_RESTART_FIXED_DELAY);
  rs.attempts = 0;
  CHECK(!fail_at(&rs, 0));
  CHECK(!fail_at(&rs, 100000));

  CTEST_CASE("fixed_delay delay=0");
  flow_restart_init(&rs, FLOW_RESTART_FIXED_DELAY);
  rs.attempts = 3;
  rs.delay_ms = 0;
  CHECK(fail_at(&rs, 0));
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 0);
}

/* ------------------------------------------------------ failure rate --- */

static void test_failure_rate(void) {
  flow_restart_strategy_t rs;

  CTEST_CASE("failure_rate 3 per 1000ms: third failure inside the interval");
  flow_restart_init(&rs, FLOW_RESTART_FAILURE_RATE);
  rs.max_failures = 3;
  rs.interval_ms = 1000;
  rs.delay_ms = 300;
  CHECK(fail_at(&rs, 0));
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 300);
  CHECK(fail_at(&rs, 100));
  CHECK(!fail_at(&rs, 200)); /* 3 failures within 1000ms */
  /* can_restart reads the clock: once the earliest of the last 3 is older
   * than the interval (strictly), a restart is allowed again */
  CHECK(!flow_restart_can_restart(&rs, 1000));
  CHECK(flow_restart_can_restart(&rs, 1001));

  CTEST_CASE("failure_rate 3 per 1000ms: earliest of last 3 is old");
  flow_restart_init(&rs, FLOW_RESTART_FAILURE_RATE);
  rs.max_failures = 3;
  rs.interval_ms = 1000;
  CHECK(fail_at(&rs, 0));
  CHECK(fail_at(&rs, 100));
  CHECK(fail_at(&rs, 1500));  /* 1500 - 0 > 1000 */
  CHECK(fail_at(&rs, 1600));  /* last 3: 100, 1500, 1600 -> 1500 > 1000 */
  CHECK(!fail_at(&rs, 1700)); /* last 3: 1500, 1600, 1700 -> 200 */
  CHECK(fail_at(&rs, 2601));  /* last 3: 1600, 1700, 2601 -> 1001 */

  CTEST_CASE("failure_rate: exactly the interval is still inside it");
  flow_restart_init(&rs, FLOW_RESTART_FAILURE_RATE);
  rs.max_failures = 3;
  rs.interval_ms = 1000;
  CHECK(fail_at(&rs, 0));
  CHECK(fail_at(&rs, 100));
  CHECK(!fail_at(&rs, 1000)); /* Flink: (now - earliest) > interval, strict */

  CTEST_CASE("failure_rate max_failures=1");
  /* Flink's FailureRateRestartBackoffTimeStrategy counts the queue as full
   * once it holds max_failures timestamps and then restarts only if
   * now - earliest > interval. With max_failures=1 the first failure fills
   * the queue and is 0ms old, so Flink refuses the very first failure: the
   * job fails without any restart. (The default is therefore "no restart"
   * unless max_failures is raised.) */
  flow_restart_init(&rs, FLOW_RESTART_FAILURE_RATE);
  CHECK(!fail_at(&rs, 0));
  CHECK(!flow_restart_can_restart(&rs, 60000));
  CHECK(flow_restart_can_restart(&rs, 60001));
  CHECK(!fail_at(&rs, 70000));

  CTEST_CASE("failure_rate: window of 1024 wraps around");
  flow_restart_init(&rs, FLOW_RESTART_FAILURE_RATE);
  rs.max_failures = FLOW_FAILURE_RATE_MAX_WINDOW;
  rs.interval_ms = 10239; /* last 1024 failures 10ms apart span 10230ms */
  int bad = 0;
  for (int i = 0; i < 3000; i++) {
    int ok = fail_at(&rs, (int64_t)i * 10);
    if (ok != (i < FLOW_FAILURE_RATE_MAX_WINDOW - 1)) bad++;
  }
  CHECK_EQ_INT(bad, 0);
  flow_restart_init(&rs, FLOW_RESTART_FAILURE_RATE);
  rs.max_failures = FLOW_FAILURE_RATE_MAX_WINDOW;
  rs.interval_ms = 10229; /* now the span 10230 exceeds the interval */
  bad = 0;
  for (int i = 0; i < 3000; i++)
    if (!fail_at(&rs, (int64_t)i * 10)) bad++;
  CHECK_EQ_INT(bad, 0);
  /* ...but a 1024th failure at the same spacing, before wrap-around, is
   * judged against the first one */
  flow_restart_init(&rs, FLOW_RESTART_FAILURE_RATE);
  rs.max_failures = FLOW_FAILURE_RATE_MAX_WINDOW;
  rs.interval_ms = 10229;
  for (int i = 0; i < FLOW_FAILURE_RATE_MAX_WINDOW - 1; i++) flow_restart_notify_failure(&rs, i * 10);
  CHECK(!fail_at(&rs, 10229)); /* 10229 - 0 is not > 10229 */
}

/* ------------------------------------------------- exponential delay --- */

static flow_restart_strategy_t exp_no_jitter(void) {
  flow_restart_strategy_t rs;
  flow_restart_init(&rs, FLOW_RESTART_EXPONENTIAL_DELAY);
  rs.jitter = 0;
  return rs;
}

static void test_exponential_sequence(void) {
  flow_restart_strategy_t rs = exp_no_jitter();
  CTEST_CASE("exponential_delay backoffs, jitter 0");
  /* Flink: currentBackoffMS *= multiplier (long *= double truncates), then
   * clamped into [initial, max]. Failures 1ms apart: never quiet. */
  static const int64_t want[] = {1000, 1500, 2250, 3375, 5062, 7593, 11389, 17083,
                                 25624, 38436, 57654, 60000, 60000, 60000};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    CHECK(fail_at(&rs, (int64_t)i));
    CHECK_EQ_INT(flow_restart_backoff_ms(&rs), want[i]);
  }
  /* asking twice does not advance anything */
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 60000);

  CTEST_CASE("exponential_delay capped at a small max");
  rs = exp_no_jitter();
  rs.max_ms = 5000;
  static const int64_t want2[] = {1000, 1500, 2250, 3375, 5000, 5000, 5000};
  for (size_t i = 0; i < sizeof want2 / sizeof want2[0]; i++) {
    CHECK(fail_at(&rs, (int64_t)i * 100));
    CHECK_EQ_INT(flow_restart_backoff_ms(&rs), want2[i]);
  }

  CTEST_CASE("exponential_delay multiplier 2, initial 10");
  rs = exp_no_jitter();
  rs.initial_ms = 10;
  rs.max_ms = 100;
  rs.multiplier = 2.0;
  static const int64_t want3[] = {10, 20, 40, 80, 100, 100};
  for (size_t i = 0; i < sizeof want3 / sizeof want3[0]; i++) {
    CHECK(fail_at(&rs, (int64_t)i));
    CHECK_EQ_INT(flow_restart_backoff_ms(&rs), want3[i]);
  }

  CTEST_CASE("exponential_delay initial == max");
  rs = exp_no_jitter();
  rs.initial_ms = rs.max_ms = 700;
  for (int i = 0; i < 4; i++) {
    CHECK(fail_at(&rs, i));
    CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 700);
  }

  CTEST_CASE("exponential_delay: the first failure starts at initial at any clock");
  rs = exp_no_jitter();
  CHECK(fail_at(&rs, 1700000000000LL)); /* wall-clock-like timestamps */
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 1000);
  CHECK(fail_at(&rs, 1700000000500LL));
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 1500);
}

static void test_exponential_reset(void) {
  flow_restart_strategy_t rs;

  CTEST_CASE("exponential_delay reset after a quiet period");
  /* Flink: if now - lastFailure >= reset + currentBackoff, back to initial */
  rs = exp_no_jitter();
  rs.reset_ms = 10000;
  int64_t t = 0;
  CHECK(fail_at(&rs, t));
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 1000);
  t += 100;
  CHECK(fail_at(&rs, t));
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 1500);
  t += 100;
  CHECK(fail_at(&rs, t));
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 2250);
  /* one ms short of reset + current backoff (2250): keeps growing */
  t += 10000 + 2250 - 1;
  CHECK(fail_at(&rs, t));
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 3375);
  /* exactly reset + current backoff (3375): back to initial */
  t += 10000 + 3375;
  CHECK(fail_at(&rs, t));
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 1000);
  t += 1;
  CHECK(fail_at(&rs, t));
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 1500);

  CTEST_CASE("exponential_delay reset with the default threshold");
  rs = exp_no_jitter();
  for (int i = 0; i < 20; i++) fail_at(&rs, i);
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 60000);
  /* quiet for reset (1h) but not reset + backoff (1h + 60s) */
  CHECK(fail_at(&rs, 19 + 3600000));
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 60000);
  CHECK(fail_at(&rs, 19 + 3600000 + 3600000 + 60000));
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 1000);
}

static void test_exponential_attempts(void) {
  flow_restart_strategy_t rs;

  CTEST_CASE("exponential_delay attempts=3");
  rs = exp_no_jitter();
  rs.attempts = 3;
  CHECK(fail_at(&rs, 0));
  CHECK(fail_at(&rs, 10));
  CHECK(fail_at(&rs, 20));
  CHECK(!fail_at(&rs, 30)); /* 4th failure since the last reset */

  CTEST_CASE("exponential_delay attempts count since the last reset");
  rs = exp_no_jitter();
  rs.attempts = 2;
  rs.reset_ms = 5000;
  CHECK(fail_at(&rs, 0));
  CHECK(fail_at(&rs, 10)); /* backoff now 1500 */
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 1500);
  int64_t t = 10 + 5000 + 1500; /* quiet long enough: reset */
  CHECK(fail_at(&rs, t));
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 1000);
  CHECK(fail_at(&rs, t + 10));   /* 2nd since the reset */
  CHECK(!fail_at(&rs, t + 20));  /* 3rd since the reset */

  CTEST_CASE("exponential_delay attempts=0");
  rs = exp_no_jitter();
  rs.attempts = 0;
  CHECK(!fail_at(&rs, 0));

  CTEST_CASE("exponential_delay unlimited attempts by default");
  rs = exp_no_jitter();
  int refused = 0;
  for (int i = 0; i < 10000; i++)
    if (!fail_at(&rs, i)) refused++;
  CHECK_EQ_INT(refused, 0);
}

static void check_jitter(flow_restart_strategy_t *rs, int64_t base, double jitter,
                         int expect_both_sides) {
  int64_t off = (int64_t)((double)base * jitter);
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  int out = 0, over = 0;
  for (int i = 0; i < 1000; i++) {
    int64_t b = flow_restart_backoff_ms(rs);
    if (b < base - off || b > base + off) out++;
    if (b > rs->max_ms) over++;
    if (b < lo) lo = b;
    if (b > hi) hi = b;
  }
  CHECK_EQ_INT(out, 0);
  CHECK_EQ_INT(over, 0);
  CHECK(lo >= 0);
  if (expect_both_sides) { /* uniform in [-off, off]: both halves show up */
    CHECK(lo < base);
    CHECK(hi > base);
    CHECK(hi - lo > off); /* spread, not a constant */
  } else {
    CHECK(lo < hi);
  }
}

static void test_exponential_jitter(void) {
  flow_restart_strategy_t rs;
  CTEST_CASE("exponential_delay jitter 0.25");
  flow_restart_init(&rs, FLOW_RESTART_EXPONENTIAL_DELAY);
  rs.jitter = 0.25;
  CHECK_EQ_INT(validates(&rs), 0);
  CHECK(fail_at(&rs, 0));
  check_jitter(&rs, 1000, 0.25, 1);
  CHECK(fail_at(&rs, 1));
  CHECK(fail_at(&rs, 2));
  check_jitter(&rs, 2250, 0.25, 1);
  /* jitter does not leak into the un-jittered progression */
  rs.jitter = 0;
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 2250);
  CHECK(fail_at(&rs, 3));
  CHECK_EQ_INT(flow_restart_backoff_ms(&rs), 3375);
  rs.jitter = 0.25;
  for (int i = 4; i < 30; i++) fail_at(&rs, i);
  /* at the cap: within [max - 25%, max], never above */
  check_jitter(&rs, 60000, 0.25, 0);

  CTEST_CASE("exponential_delay jitter near a low cap");
  flow_restart_init(&rs, FLOW_RESTART_EXPONENTIAL_DELAY);
  rs.jitter = 0.25;
  rs.max_ms = 1200;
  CHECK(fail_at(&rs, 0));
  check_jitter(&rs, 1000, 0.25, 1); /* 1000±250, but capped at 1200 */
  CHECK(fail_at(&rs, 1));           /* 1500 capped to 1200 */
  check_jitter(&rs, 1200, 0.25, 0);

  CTEST_CASE("exponential_delay jitter 1");
  flow_restart_init(&rs, FLOW_RESTART_EXPONENTIAL_DELAY);
  rs.jitter = 1;
  CHECK(fail_at(&rs, 0));
  check_jitter(&rs, 1000, 1.0, 1); /* [0, 2000] */
}

static void test_exponential_huge_max(void) {
  /* max_ms near INT64_MAX (an "unbounded" cap; reset + backoff still fits
   * in int64). Flink's `currentBackoffMS *= multiplier` narrows a double to
   * long, which saturates at Long.MAX_VALUE, then min(max) keeps it at max:
   * the backoff only ever grows and settles at max_ms. */
  flow_restart_strategy_t rs = exp_no_jitter();
  rs.max_ms = INT64_MAX - 8000000;
  CTEST_CASE("exponential_delay huge max_ms is monotone");
  CHECK_EQ_INT(validates(&rs), 0);
  int64_t prev = 0;
  int drops = 0;
  for (int i = 0; i < 200; i++) {
    fail_at(&rs, i);
    int64_t b = flow_restart_backoff_ms(&rs);
    if (b < prev) drops++;
    prev = b;
  }
  CHECK_EQ_INT(drops, 0);
  CHECK(prev == rs.max_ms);
}

int main(void) {
  test_defaults();
  test_names();
  test_validate();
  test_none();
  test_fixed_delay();
  test_failure_rate();
  test_exponential_sequence();
  test_exponential_reset();
  test_exponential_attempts();
  test_exponential_jitter();
  test_exponential_huge_max();
  return CTEST_SUMMARY();
}
