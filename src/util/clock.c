#include "util/clock.h"

#include <time.h>
#include <uv.h>

void flow_sleep_ms(int64_t ms) {
  if (ms > 0) uv_sleep((unsigned)ms);
}

int64_t flow_mono_ms(void) { return (int64_t)(uv_hrtime() / 1000000u); }

int64_t flow_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
