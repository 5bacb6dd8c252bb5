/* The tags of the record format (docs/record_format.md): the first byte of
 * every value, and of every in-band event that travels between records in a
 * data buffer. One enum for both, declared once more in lua/flow/ffi.lua
 * (ffi.cdef reads no #define); spec/unit/ffi_spec.lua checks that the two
 * agree. The value tags are include/flowlua.h's (the C operator ABI). */
#ifndef FLOW_RUNTIME_RECORD_FORMAT_H
#define FLOW_RUNTIME_RECORD_FORMAT_H

#include "flowlua.h"

enum flow_record_tag {
  /* values: a record is exactly one of them */
  FLOW_TAG_NIL = FLOWLUA_NIL,
  FLOW_TAG_FALSE = FLOWLUA_FALSE,
  FLOW_TAG_TRUE = FLOWLUA_TRUE,
  FLOW_TAG_INT32 = FLOWLUA_INT32,
  FLOW_TAG_INT64 = FLOWLUA_INT64,
  FLOW_TAG_DOUBLE = FLOWLUA_DOUBLE,
  FLOW_TAG_SHORT_STRING = FLOWLUA_SHORT_STRING,
  FLOW_TAG_LONG_STRING = FLOWLUA_LONG_STRING,
  FLOW_TAG_ARRAY = FLOWLUA_ARRAY,
  FLOW_TAG_LUA = FLOWLUA_LUA,
  /* in-band events, between records (never inside one); every tag from
   * FLOW_TAG_TS up is an event */
  FLOW_TAG_TS = 10,        /* i64 event timestamp (ms) of the record that follows */
  FLOW_TAG_WATERMARK = 11, /* i64 watermark (ms); INT64_MAX: end of event time */
  FLOW_TAG_STATUS = 12,    /* u8: 1 the channel went idle, 0 it is active again */
  FLOW_TAG_BARRIER = 13,   /* i64 checkpoint id: a checkpoint barrier */
};

#endif
