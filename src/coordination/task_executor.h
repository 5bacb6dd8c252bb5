/* TaskExecutor (Flink's): offers its slots, runs the subtasks deployed into
 * them on threads of their own and passes their reports on to their
 * JobMaster (task_executor.c). An endpoint: loop thread only, driven by
 * messages (messages.h); task threads only post messages. */
#ifndef FLOW_COORDINATION_TASK_EXECUTOR_H
#define FLOW_COORDINATION_TASK_EXECUTOR_H

#include "coordination/messages.h"
#include "coordination/resource_manager.h"
#include "coordination/rpc.h"
#include "runtime/task.h"
#include "runtime/task_slot_table.h"

/* A running task and the JobMaster it belongs to. */
typedef struct flow_te_task {
  flow_task_t *task;
  flow_endpoint_t *jm;  /* the job's JobMaster (or its proxy): the owner of its slots */
  struct flow_te_task *next;
} flow_te_task_t;

typedef struct flow_task_executor {
  flow_endpoint_t ep;
  flow_resource_manager_t *rm;
  flow_task_slot_table_t slots;
  flow_te_task_t *tasks; /* running tasks */
  flow_task_body_fn task_body;
} flow_task_executor_t;

/* Registers with rm (a message). body: what every task of this TaskExecutor
 * runs (src/lua/task_body.c). 0 or the slot table's error. */
int flow_task_executor_init(flow_task_executor_t *te, flow_rpc_t *rpc, flow_resource_manager_t *rm,
                            int n_slots, flow_task_body_fn body);
/* Loop thread, after every job ended: no task may still run here. */
void flow_task_executor_destroy(flow_task_executor_t *te);

#endif
