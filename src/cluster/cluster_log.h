/* The jobmanager's and taskmanagers' log lines on stderr:
 * "2026-11-22 01:02:03 INFO  jobmanager: message" (their logs are files). */
#ifndef FLOW_CLUSTER_CLUSTER_LOG_H
#define FLOW_CLUSTER_CLUSTER_LOG_H

void flow_cluster_log(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
