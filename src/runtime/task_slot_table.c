#include "runtime/task_slot_table.h"

#include <stdlib.h>

#include "util/common.h"

int flow_slot_table_init(flow_task_slot_table_t *st, int n_slots) {
  st->slots = calloc((size_t)(n_slots > 0 ? n_slots : 1), sizeof(*st->slots));
  if (st->slots == NULL) return FLOW_ENOMEM;
  st->n_slots = n_slots;
  return 0;
}

void flow_slot_table_destroy(flow_task_slot_table_t *st) {
  free(st->slots);
  st->slots = NULL;
  st->n_slots = 0;
}

int flow_slot_table_free_count(const flow_task_slot_table_t *st) {
  int n = 0;
  for (int i = 0; i < st->n_slots; i++) n += st->slots[i].state == FLOW_SLOT_FREE;
  return n;
}

int flow_slot_table_allocate(flow_task_slot_table_t *st, const void *owner, int n, int *out) {
  if (flow_slot_table_free_count(st) < n) return FLOW_EFULL;
  int k = 0;
  for (int i = 0; i < st->n_slots && k < n; i++) {
    if (st->slots[i].state != FLOW_SLOT_FREE) continue;
    st->slots[i].state = FLOW_SLOT_ALLOCATED;
    st->slots[i].owner = owner;
    st->slots[i].tasks = 0;
    out[k++] = i;
  }
  return 0;
}

int flow_slot_table_add_task(flow_task_slot_table_t *st, int i, const void *owner) {
  if (i < 0 || i >= st->n_slots || st->slots[i].state == FLOW_SLOT_FREE ||
      st->slots[i].owner != owner)
    return FLOW_EINVAL;
  st->slots[i].state = FLOW_SLOT_ACTIVE;
  st->slots[i].tasks++;
  return 0;
}

void flow_slot_table_remove_task(flow_task_slot_table_t *st, int i) {
  if (i < 0 || i >= st->n_slots || st->slots[i].tasks == 0) return;
  if (--st->slots[i].tasks == 0) st->slots[i].state = FLOW_SLOT_ALLOCATED;
}

int flow_slot_table_free_owner(flow_task_slot_table_t *st, const void *owner) {
  int n = 0;
  for (int i = 0; i < st->n_slots; i++) {
    flow_task_slot_t *s = &st->slots[i];
    if (s->state == FLOW_SLOT_FREE || s->owner != owner || s->tasks > 0) continue;
    s->state = FLOW_SLOT_FREE;
    s->owner = NULL;
    n++;
  }
  return n;
}

int flow_slot_table_free_slots(flow_task_slot_table_t *st, const void *owner, const int *idx, int n) {
  int freed = 0;
  for (int k = 0; k < n; k++) {
    if (idx[k] < 0 || idx[k] >= st->n_slots) continue;
    flow_task_slot_t *s = &st->slots[idx[k]];
    if (s->state == FLOW_SLOT_FREE || s->owner != owner || s->tasks > 0) continue;
    s->state = FLOW_SLOT_FREE;
    s->owner = NULL;
    freed++;
  }
  return freed;
}
