/* The C half of the FFI door's check (lua/flow/ffi.lua).
 *
 * At compile time: ffi_prototypes.h, generated from lua/flow/ffi.lua by
 * spec/c/ffi_prototypes.lua, repeats every prototype Lua declares after the
 * real headers, so a prototype that disagrees with its header does not
 * compile, and a function that does not exist does not link.
 *
 * At run time: prints, one `name value` per line, every enum value Lua
 * uses and the sizeof and offsetof of every struct Lua declares;
 * spec/unit/ffi_spec.lua compares them with LuaJIT's view. Built by CMake,
 * run by that spec only (not a ctest test of its own). */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "flowlua.h"
#include "runtime/buffer.h"
#include "runtime/c_operator.h"
#include "runtime/fd_source.h"
#include "runtime/line_reader.h"
#include "runtime/record_format.h"
#include "runtime/task.h"
#include "runtime/text_format.h"
#include "util/clock.h"
#include "util/common.h"
#include "util/fs.h"
#include "util/hash.h"

#include "nexmark.h" /* stdlib/ */

#include "ffi_prototypes.h" /* generated: must come after the headers */

#define ENUM(name) printf("%s %lld\n", #name, (long long)(name));
#define SIZE(type) printf("sizeof(%s) %zu\n", #type, sizeof(type));
#define FIELD(type, field) printf("offsetof(%s,%s) %zu\n", #type, #field, offsetof(type, field));

typedef void (*any_fn)(void);
#define ADDRESS(f) (any_fn) f,
static const any_fn functions[] = {FFI_FUNCTIONS(ADDRESS)};

int main(void) {
  /* enum flow_error (util/common.h) */
  ENUM(FLOW_OK)
  ENUM(FLOW_ENOMEM)
  ENUM(FLOW_EINVAL)
  ENUM(FLOW_ESTATE)
  ENUM(FLOW_EGRAPH)
  ENUM(FLOW_EIO)
  ENUM(FLOW_ECANCELED)
  ENUM(FLOW_ELUA)
  ENUM(FLOW_EFULL)
  ENUM(FLOW_ETIMEDOUT)
  ENUM(FLOW_EBLOCKED)
  /* enum flow_record_tag (runtime/record_format.h) */
  ENUM(FLOW_TAG_NIL)
  ENUM(FLOW_TAG_FALSE)
  ENUM(FLOW_TAG_TRUE)
  ENUM(FLOW_TAG_INT32)
  ENUM(FLOW_TAG_INT64)
  ENUM(FLOW_TAG_DOUBLE)
  ENUM(FLOW_TAG_SHORT_STRING)
  ENUM(FLOW_TAG_LONG_STRING)
  ENUM(FLOW_TAG_ARRAY)
  ENUM(FLOW_TAG_LUA)
  ENUM(FLOW_TAG_TS)
  ENUM(FLOW_TAG_WATERMARK)
  ENUM(FLOW_TAG_STATUS)
  ENUM(FLOW_TAG_BARRIER)
  /* enum flow_buffer_kind (runtime/buffer.h) */
  ENUM(FLOW_BUF_DATA)
  ENUM(FLOW_BUF_END_OF_PARTITION)
  /* enum flow_nexmark_type (stdlib/nexmark.h) */
  ENUM(FLOW_NEXMARK_PERSON)
  ENUM(FLOW_NEXMARK_AUCTION)
  ENUM(FLOW_NEXMARK_BID)

  SIZE(enum flow_error)
  SIZE(enum flow_record_tag)
  SIZE(enum flow_buffer_kind)

  SIZE(flow_buffer_t)
  FIELD(flow_buffer_t, next)
  FIELD(flow_buffer_t, prev)
  FIELD(flow_buffer_t, data)
  FIELD(flow_buffer_t, size)
  FIELD(flow_buffer_t, capacity)
  FIELD(flow_buffer_t, kind)
  FIELD(flow_buffer_t, channel)

  SIZE(flow_operator_metrics_t)
  FIELD(flow_operator_metrics_t, records_in)
  FIELD(flow_operator_metrics_t, records_out)
  FIELD(flow_operator_metrics_t, late_dropped)
  FIELD(flow_operator_metrics_t, input_watermark)
  FIELD(flow_operator_metrics_t, output_watermark)

  SIZE(flow_task_metrics_t)
  FIELD(flow_task_metrics_t, records_in)
  FIELD(flow_task_metrics_t, records_out)
  FIELD(flow_task_metrics_t, bytes_in)
  FIELD(flow_task_metrics_t, bytes_out)
  FIELD(flow_task_metrics_t, source_records)
  FIELD(flow_task_metrics_t, progress_read)
  FIELD(flow_task_metrics_t, progress_total)
  FIELD(flow_task_metrics_t, idle_ns)
  FIELD(flow_task_metrics_t, backpressured_ns)
  FIELD(flow_task_metrics_t, idle_since_ns)
  FIELD(flow_task_metrics_t, backpressured_since_ns)
  FIELD(flow_task_metrics_t, start_ns)
  FIELD(flow_task_metrics_t, input_watermark)
  FIELD(flow_task_metrics_t, output_watermark)
  FIELD(flow_task_metrics_t, n_ops)
  FIELD(flow_task_metrics_t, attempt)
  FIELD(flow_task_metrics_t, ops)

  SIZE(flowlua_out_t)
  FIELD(flowlua_out_t, data)
  FIELD(flowlua_out_t, size)
  FIELD(flowlua_out_t, capacity)
  FIELD(flowlua_out_t, records)
  FIELD(flowlua_out_t, grow)

  SIZE(flowlua_operator_t)
  FIELD(flowlua_operator_t, abi_version)
  FIELD(flowlua_operator_t, name)
  FIELD(flowlua_operator_t, open)
  FIELD(flowlua_operator_t, process)
  FIELD(flowlua_operator_t, finish)
  FIELD(flowlua_operator_t, close)

  SIZE(flow_nexmark_event_t)
  FIELD(flow_nexmark_event_t, id)
  FIELD(flow_nexmark_event_t, ref)
  FIELD(flow_nexmark_event_t, price)
  FIELD(flow_nexmark_event_t, reserve)
  FIELD(flow_nexmark_event_t, date_time)
  FIELD(flow_nexmark_event_t, expires)
  FIELD(flow_nexmark_event_t, type)
  FIELD(flow_nexmark_event_t, category)
  FIELD(flow_nexmark_event_t, str_off)
  FIELD(flow_nexmark_event_t, str_len)
  FIELD(flow_nexmark_event_t, extra_off)
  FIELD(flow_nexmark_event_t, extra_len)

  /* every function Lua declares exists (the array keeps them linked) */
  size_t missing = 0;
  for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
    if (functions[i] == NULL) missing++;
  printf("functions %zu\n", sizeof(functions) / sizeof(functions[0]) - missing);
  return 0;
}
