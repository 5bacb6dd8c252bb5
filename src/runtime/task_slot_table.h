/* TaskSlotTable: the slots of one TaskExecutor. A slot is FREE, ALLOCATED to
 * a job (owner), or ACTIVE while tasks of that job run in it. With slot
 * sharing, one slot holds one subtask of every vertex of a sharing group.
 * Loop thread only. */
#ifndef FLOW_RUNTIME_TASK_SLOT_TABLE_H
#define FLOW_RUNTIME_TASK_SLOT_TABLE_H

typedef enum { FLOW_SLOT_FREE = 0, FLOW_SLOT_ALLOCATED, FLOW_SLOT_ACTIVE } flow_slot_state_t;

typedef struct flow_task_slot {
  flow_slot_state_t state;
  const void *owner; /* the job (its JobMaster) */
  int tasks;         /* running tasks in the slot */
} flow_task_slot_t;

typedef struct flow_task_slot_table {
  flow_task_slot_t *slots;
  int n_slots;
} flow_task_slot_table_t;

int flow_slot_table_init(flow_task_slot_table_t *st, int n_slots);
void flow_slot_table_destroy(flow_task_slot_table_t *st);
int flow_slot_table_free_count(const flow_task_slot_table_t *st);
/* Allocates n free slots to owner; writes their indices to out. Returns 0 or FLOW_EFULL. */
int flow_slot_table_allocate(flow_task_slot_table_t *st, const void *owner, int n, int *out);
/* A task starts/ends in slot i (must be allocated to owner). */
int flow_slot_table_add_task(flow_task_slot_table_t *st, int i, const void *owner);
void flow_slot_table_remove_task(flow_task_slot_table_t *st, int i);
/* Frees every slot of owner; returns how many. Slots with running tasks stay. */
int flow_slot_table_free_owner(flow_task_slot_table_t *st, const void *owner);
/* Frees the listed slots that owner holds (without tasks); returns how many. */
int flow_slot_table_free_slots(flow_task_slot_table_t *st, const void *owner, const int *idx, int n);

#endif
