#include "cluster/cluster_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void flow_cluster_log(const char *who, const char *fmt, ...) {
  char ts[32], line[2048];
  time_t now = time(NULL);
  struct tm tmv;
  localtime_r(&now, &tmv);
  strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tmv);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s INFO  %s: %s\n", ts, who, line); /* one write per line */
  fflush(stderr);
}
