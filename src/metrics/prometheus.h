/* The Prometheus text exposition format (version 0.0.4) as Flink's
 * PrometheusReporter writes it: samples are gathered, then written grouped
 * by metric name, each family once with its "# HELP" and "# TYPE ... gauge"
 * lines (Flink exports counters as gauges, without a _total suffix).
 * Names keep [a-zA-Z0-9_:] and the rest become '_'; label values are
 * escaped (\\, \", \n). Plain data: any thread, one owner. */
#ifndef FLOW_METRICS_PROMETHEUS_H
#define FLOW_METRICS_PROMETHEUS_H

#include <stddef.h>

#define FLOW_PROM_MAX_LABELS 12

typedef struct flow_prom flow_prom_t;

flow_prom_t *flow_prom_new(void);
void flow_prom_free(flow_prom_t *p);
/* Adds a sample of metric `name` (sanitized) with n label pairs
 * (labels[i][0] = name, labels[i][1] = value; copied). */
void flow_prom_add(flow_prom_t *p, const char *name, const char *const (*labels)[2], int n, double value);
/* The exposition text (malloc'd, NUL-terminated; its length in *len). */
char *flow_prom_render(flow_prom_t *p, size_t *len);

#endif
