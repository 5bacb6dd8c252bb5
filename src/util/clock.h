/* Clocks. Any thread. */
#ifndef FLOW_UTIL_CLOCK_H
#define FLOW_UTIL_CLOCK_H

#include <stdint.h>

int64_t flow_now_ms(void);  /* wall clock (processing time) */
int64_t flow_mono_ms(void); /* monotonic (timeouts) */
void flow_sleep_ms(int64_t ms);

#endif
