/* The taskmanager process of a standalone cluster (Flink's
 * TaskManagerRunner): one TaskExecutor (the MiniCluster's code) whose
 * ResourceManager and JobMasters are proxies encoding their messages onto
 * the connection to the jobmanager, plus the data plane: a server other
 * taskmanagers send buffers to, with credit-based flow control.
 *
 * Data plane: every job attempt that has tasks here gets a full
 * flow_job_network_t. Gates of consumers deployed here are read by their
 * tasks as in-process; the gate of a consumer deployed elsewhere stands in
 * for it (a proxy): local producers push into it as usual (bounded, so they
 * block when it is full) and the loop thread forwards its buffers to the
 * consumer's taskmanager, one per credit. The consumer's taskmanager grants
 * FLOW_CHANNEL_CREDITS per remote channel when it creates the network and
 * one more each time its task takes a data buffer from that channel, so
 * the receiving gate can always accept what arrives without blocking the
 * loop (the sender never floods). */
#ifndef FLOW_CLUSTER_TASKMANAGER_H
#define FLOW_CLUSTER_TASKMANAGER_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/task.h"

typedef struct flow_taskmanager_options {
  const char *jobmanager_host; /* NULL = 127.0.0.1 */
  int jobmanager_port;         /* 6123 */
  int slots;                   /* Flink's taskmanager.numberOfTaskSlots (1) */
  const char *bind_host;       /* the data plane; NULL = 127.0.0.1 */
  const char *advertise_host;  /* the address peers reach it at; NULL = bind_host (needed
                                  when that is a wildcard address) */
  int data_port;               /* 0 = ephemeral */
  const char *secret;          /* NULL: none */
  size_t secret_len;
  int64_t heartbeat_interval_ms;
  int64_t heartbeat_timeout_ms;
  int64_t connect_timeout_ms;  /* give up reaching the jobmanager after this (0: 60000) */
  flow_task_body_fn task_body; /* what every task runs (src/lua/task_body.c) */
  const char *prom_ports;      /* metrics.reporter.prom.port ("9249", "9250-9260"), NULL: no reporter */
} flow_taskmanager_options_t;

void flow_taskmanager_options_init(flow_taskmanager_options_t *o);
/* Runs until SIGINT/SIGTERM or the jobmanager is lost; the exit code. */
int flow_taskmanager_run(const flow_taskmanager_options_t *o);

#endif
