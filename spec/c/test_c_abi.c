/* The C operator ABI helpers in include/flowlua.h: writing and reading
 * records, skipping nested values without recursion, and refusing sizes that
 * would wrap instead of corrupting memory. */
#include "flowlua.h"
#include "runtime/c_operator.h"

#include "ctest_assert.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_round_trip(void) {
  CTEST_CASE("round trip");
  flowlua_out_t *o = flow_out_new(0);
  CHECK_NOT_NULL(o);
  CHECK_EQ_INT(flowlua_put_array(o, 3), 0);
  CHECK_EQ_INT(flowlua_put_string(o, "word", 4), 0);
  CHECK_EQ_INT(flowlua_put_number(o, 42), 0);
  CHECK_EQ_INT(flowlua_put_number(o, 0.5), 0);
  flowlua_end_record(o);
  char big[300];
  memset(big, 'x', sizeof(big));
  CHECK_EQ_INT(flowlua_put_string(o, big, sizeof(big)), 0); /* a long string */
  flowlua_end_record(o);
  CHECK_EQ_INT((int)o->records, 2);

  const uint8_t *p = o->data, *end = o->data + o->size;
  flowlua_value_t v;
  p = flowlua_read(p, end, &v);
  CHECK(p != NULL && v.tag == FLOWLUA_ARRAY && v.n == 3);
  p = flowlua_read(p, end, &v);
  CHECK(p != NULL && v.tag == FLOWLUA_SHORT_STRING && v.len == 4 && memcmp(v.s, "word", 4) == 0);
  p = flowlua_read(p, end, &v);
  CHECK(p != NULL && v.tag == FLOWLUA_INT32 && v.i == 42);
  p = flowlua_read(p, end, &v);
  CHECK(p != NULL && v.tag == FLOWLUA_DOUBLE && v.d == 0.5);
  p = flowlua_read(p, end, &v);
  CHECK(p != NULL && v.tag == FLOWLUA_LONG_STRING && v.len == sizeof(big));
  CHECK(p == end);
  /* skipping the first record lands on the second */
  const uint8_t *second = flowlua_skip(o->data, end);
  CHECK(second != NULL && second[0] == FLOWLUA_LONG_STRING);
  flow_out_free(o);
}

/* A million nested one-field arrays: recursion would overflow a task
 * thread's stack; the iterative skip walks it. */
static void test_deep_nesting(void) {
  CTEST_CASE("deep nesting");
  const size_t depth = 1000000;
  flowlua_out_t *o = flow_out_new(0);
  int put_failed = 0;
  for (size_t i = 0; i < depth; i++) put_failed |= flowlua_put_array(o, 1);
  CHECK_EQ_INT(put_failed, 0);
  CHECK_EQ_INT(flowlua_put_nil(o), 0);
  const uint8_t *end = o->data + o->size;
  CHECK(flowlua_skip(o->data, end) == end);
  /* without the innermost value it is malformed */
  CHECK_NULL(flowlua_skip(o->data, end - 1));
  flow_out_free(o);
}

static void test_malformed(void) {
  CTEST_CASE("malformed");
  /* an array announcing 4 billion fields in a 5-byte buffer */
  uint8_t huge[5] = {FLOWLUA_ARRAY, 0xff, 0xff, 0xff, 0xff};
  CHECK_NULL(flowlua_skip(huge, huge + sizeof(huge)));
  /* a long string whose length runs past the end */
  uint8_t s[8] = {FLOWLUA_LONG_STRING, 100, 0, 0, 0, 'a', 'b', 'c'};
  CHECK_NULL(flowlua_skip(s, s + sizeof(s)));
  /* an unknown tag */
  uint8_t bad[1] = {0xee};
  CHECK_NULL(flowlua_skip(bad, bad + 1));
}

static void test_wrapping_sizes(void) {
  CTEST_CASE("wrapping sizes");
  flowlua_out_t *o = flow_out_new(16);
  CHECK_EQ_INT(flowlua_put_nil(o), 0);
  CHECK_NULL(flowlua_reserve(o, SIZE_MAX));     /* size + n wraps */
  CHECK_NULL(flowlua_reserve(o, SIZE_MAX - 8)); /* doubling the capacity would wrap */
  CHECK_EQ_INT((int)o->size, 1);               /* nothing written */
#if SIZE_MAX > UINT32_MAX
  /* longer than the 32-bit length field: refused before anything is read */
  CHECK_EQ_INT(flowlua_put_string(o, "", (size_t)UINT32_MAX + 1), -1);
#endif
  CHECK_EQ_INT(flowlua_put_string(o, "ok", 2), 0); /* still usable */
  CHECK_EQ_INT((int)o->size, 5);
  flow_out_free(o);
}

int main(void) {
  test_round_trip();
  test_deep_nesting();
  test_malformed();
  test_wrapping_sizes();
  return CTEST_SUMMARY();
}
