/* TaskSlotTable tests: allocation by owner, FLOW_EFULL, task add/remove
 * moving slots ACTIVE <-> ALLOCATED, freeing an owner's idle slots. */
#include "util/common.h"
#include "runtime/task_slot_table.h"

#include "ctest_assert.h"

static const int job_a = 1, job_b = 2; /* owners: any distinct addresses */
#define A ((const void *)&job_a)
#define B ((const void *)&job_b)

static void test_allocate_free(void) {
  CTEST_CASE("allocate and free by owner");
  flow_task_slot_table_t st;
  CHECK_EQ_INT(flow_slot_table_init(&st, 4), 0);
  CHECK_EQ_INT(st.n_slots, 4);
  CHECK_EQ_INT(flow_slot_table_free_count(&st), 4);
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(st.slots[i].state, FLOW_SLOT_FREE);

  int out[4] = {-1, -1, -1, -1};
  CHECK_EQ_INT(flow_slot_table_allocate(&st, A, 2, out), 0);
  CHECK_INTS(out, 2, 0, 1);
  CHECK_EQ_INT(flow_slot_table_free_count(&st), 2);
  CHECK_EQ_INT(st.slots[0].state, FLOW_SLOT_ALLOCATED);
  CHECK(st.slots[0].owner == A && st.slots[1].owner == A);

  int outb[4] = {-1, -1, -1, -1};
  CHECK_EQ_INT(flow_slot_table_allocate(&st, B, 3, outb), FLOW_EFULL);
  CHECK_EQ_INT(outb[0], -1); /* nothing written, nothing taken */
  CHECK_EQ_INT(flow_slot_table_free_count(&st), 2);
  CHECK_EQ_INT(flow_slot_table_allocate(&st, B, 1, outb), 0);
  CHECK_EQ_INT(outb[0], 2);
  CHECK(st.slots[2].owner == B);

  CHECK_EQ_INT(flow_slot_table_free_owner(&st, A), 2);
  CHECK_EQ_INT(flow_slot_table_free_count(&st), 3);
  CHECK_EQ_INT(st.slots[0].state, FLOW_SLOT_FREE);
  CHECK_NULL(st.slots[0].owner);
  CHECK_EQ_INT(st.slots[2].state, FLOW_SLOT_ALLOCATED); /* B's untouched */
  CHECK_EQ_INT(flow_slot_table_free_owner(&st, A), 0);

  /* freed slots are reused, lowest index first */
  CHECK_EQ_INT(flow_slot_table_allocate(&st, B, 3, outb), 0);
  CHECK_INTS(outb, 3, 0, 1, 3);
  CHECK_EQ_INT(flow_slot_table_free_count(&st), 0);
  CHECK_EQ_INT(flow_slot_table_allocate(&st, A, 1, out), FLOW_EFULL);
  CHECK_EQ_INT(flow_slot_table_allocate(&st, A, 0, out), 0); /* zero always fits */
  CHECK_EQ_INT(flow_slot_table_free_owner(&st, B), 4);
  CHECK_EQ_INT(flow_slot_table_free_count(&st), 4);
  flow_slot_table_destroy(&st);
  CHECK_NULL(st.slots);
  CHECK_EQ_INT(st.n_slots, 0);
}

static void test_tasks(void) {
  CTEST_CASE("add/remove task");
  flow_task_slot_table_t st;
  CHECK_EQ_INT(flow_slot_table_init(&st, 3), 0);
  int out[3];
  CHECK_EQ_INT(flow_slot_table_allocate(&st, A, 2, out), 0);

  /* invalid: free slot, wrong owner, out of range */
  CHECK_EQ_INT(flow_slot_table_add_task(&st, 2, A), FLOW_EINVAL);
  CHECK_EQ_INT(flow_slot_table_add_task(&st, 0, B), FLOW_EINVAL);
  CHECK_EQ_INT(flow_slot_table_add_task(&st, -1, A), FLOW_EINVAL);
  CHECK_EQ_INT(flow_slot_table_add_task(&st, 3, A), FLOW_EINVAL);
  CHECK_EQ_INT(st.slots[2].state, FLOW_SLOT_FREE);
  CHECK_EQ_INT(st.slots[0].tasks, 0);

  /* slot sharing: two tasks in slot 0 */
  CHECK_EQ_INT(flow_slot_table_add_task(&st, 0, A), 0);
  CHECK_EQ_INT(st.slots[0].state, FLOW_SLOT_ACTIVE);
  CHECK_EQ_INT(flow_slot_table_add_task(&st, 0, A), 0);
  CHECK_EQ_INT(st.slots[0].tasks, 2);
  CHECK_EQ_INT(flow_slot_table_add_task(&st, 1, A), 0);
  CHECK_EQ_INT(st.slots[1].state, FLOW_SLOT_ACTIVE);

  flow_slot_table_remove_task(&st, 0);
  CHECK_EQ_INT(st.slots[0].state, FLOW_SLOT_ACTIVE);
  CHECK_EQ_INT(st.slots[0].tasks, 1);

  /* free_owner keeps slots with running tasks */
  flow_slot_table_remove_task(&st, 1);
  CHECK_EQ_INT(st.slots[1].state, FLOW_SLOT_ALLOCATED);
  CHECK_EQ_INT(flow_slot_table_free_owner(&st, A), 1);
  CHECK_EQ_INT(st.slots[1].state, FLOW_SLOT_FREE);
  CHECK_EQ_INT(st.slots[0].state, FLOW_SLOT_ACTIVE);
  CHECK(st.slots[0].owner == A);
  CHECK_EQ_INT(flow_slot_table_free_count(&st), 2);

  flow_slot_table_remove_task(&st, 0);
  CHECK_EQ_INT(st.slots[0].state, FLOW_SLOT_ALLOCATED);
  CHECK_EQ_INT(st.slots[0].tasks, 0);
  /* extra removes and bad indices are ignored */
  flow_slot_table_remove_task(&st, 0);
  flow_slot_table_remove_task(&st, 2);
  flow_slot_table_remove_task(&st, -1);
  flow_slot_table_remove_task(&st, 99);
  CHECK_EQ_INT(st.slots[0].state, FLOW_SLOT_ALLOCATED);
  CHECK_EQ_INT(st.slots[0].tasks, 0);
  CHECK_EQ_INT(st.slots[2].state, FLOW_SLOT_FREE);

  CHECK_EQ_INT(flow_slot_table_free_owner(&st, A), 1);
  CHECK_EQ_INT(flow_slot_table_free_count(&st), 3);
  /* a freed slot no longer accepts the old owner's tasks */
  CHECK_EQ_INT(flow_slot_table_add_task(&st, 0, A), FLOW_EINVAL);
  flow_slot_table_destroy(&st);
}

int main(void) {
  test_allocate_free();
  test_tasks();
  return CTEST_SUMMARY();
}
