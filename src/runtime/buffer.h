/* Network buffers: records cross threads in fixed 32 KiB segments (Flink's
 * memory segment size). A buffer carries either data (whole encoded records,
 * see docs/record_format.md) or one event (end of partition). A record larger
 * than a segment travels alone in an oversize buffer. */
#ifndef FLOW_RUNTIME_BUFFER_H
#define FLOW_RUNTIME_BUFFER_H

#include <stdint.h>
#include <stddef.h>

#define FLOW_BUFFER_SIZE (32 * 1024)

typedef enum flow_buffer_kind {
  FLOW_BUF_DATA = 0,
  FLOW_BUF_END_OF_PARTITION = 1 /* the producer subtask finished; no data */
} flow_buffer_kind_t;

/* Layout is shared with Lua through the FFI (lua/flow/ffi.lua; spec/unit/ffi_spec.lua
 * checks that the two agree). */
typedef struct flow_buffer {
  struct flow_buffer *next; /* queue link; owned by whichever queue holds it */
  struct flow_buffer *prev; /* link in a task's list of buffers held by Lua */
  uint8_t *data;            /* payload; points into this allocation */
  uint32_t size;            /* bytes used */
  uint32_t capacity;        /* bytes available at data */
  uint32_t kind;            /* flow_buffer_kind_t */
  int32_t channel;          /* input channel it arrived on (set by the gate) */
} flow_buffer_t;

/* capacity 0 means FLOW_BUFFER_SIZE. NULL on OOM. */
flow_buffer_t *flow_buffer_new(uint32_t capacity);
void flow_buffer_free(flow_buffer_t *b); /* NULL-safe */
/* A data buffer holding a copy of n bytes. */
flow_buffer_t *flow_buffer_from(const void *bytes, size_t n);

#endif
