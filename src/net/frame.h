/* The cluster-mode wire format: length-prefixed, versioned frames over a byte
 * stream (TCP), plus a bounds-checked payload writer and reader.
 * Plain data: no libuv, no threads, no Lua; the transport feeds bytes in and
 * takes frames out. Payloads are written and read with wire.h. Layout and rules: docs/wire.md.
 *
 *   offset size  field
 *   0      4     magic "FLW1"
 *   4      1     version (FLOW_FRAME_VERSION)
 *   5      1     type (opaque to this layer; 0 is reserved and refused)
 *   6      2     flags (u16 little endian; opaque to this layer)
 *   8      4     payload length (u32 little endian, <= the decoder's maximum)
 *   12     len   payload
 *
 * Every multi-byte integer on the wire is little endian. */
#ifndef FLOW_NET_FRAME_H
#define FLOW_NET_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "util/wire.h"

#define FLOW_FRAME_MAGIC "FLW1"
#define FLOW_FRAME_VERSION 1
#define FLOW_FRAME_HEADER_LEN 12
#define FLOW_FRAME_MAX (64u * 1024u * 1024u) /* largest payload accepted by default */

/* A decoded frame. payload points into the decoder (or into the chunk being
 * fed) and is valid only during the callback that receives it. */
typedef struct flow_frame {
  uint8_t type;
  uint16_t flags;
  uint32_t len;
  const uint8_t *payload; /* NULL when len == 0 */
} flow_frame_t;

/* Returns 0 to go on, anything else stops the feed, which returns that value
 * (and the decoder stays failed). The callback must not feed or free the
 * decoder it is called from. */
typedef int (*flow_frame_cb)(void *ud, const flow_frame_t *f);

/* Incremental decoder: feed arbitrary chunks of the stream in order.
 * Invariants: hdr_have < FLOW_FRAME_HEADER_LEN while a header is incomplete;
 * once a header is complete, need holds its payload length (<= max) and
 * have < need counts the payload bytes buffered in buf (cap >= need).
 * After an error the decoder is dead: every later feed returns the same code. */
typedef struct flow_frame_decoder {
  uint32_t max;          /* payload limit (FLOW_FRAME_MAX unless set otherwise) */
  uint8_t hdr[FLOW_FRAME_HEADER_LEN];
  size_t hdr_have;       /* header bytes collected for the current frame */
  int in_payload;        /* the header is complete and valid */
  flow_frame_t cur;      /* the current frame's header fields */
  uint8_t *buf;          /* payload bytes of a frame split across chunks */
  uint32_t cap, have;
  int error;             /* 0 or the sticky FLOW_E* code */
  const char *reason;    /* static text naming the last error, for the log line */
  uint64_t frames;       /* frames delivered so far */
} flow_frame_decoder_t;

/* max == 0 means FLOW_FRAME_MAX. */
void flow_frame_decoder_init(flow_frame_decoder_t *d, uint32_t max);
void flow_frame_decoder_free(flow_frame_decoder_t *d);
/* Consumes all n bytes, calling cb once per complete frame, in stream order.
 * Returns 0; FLOW_EINVAL on bad magic, version or a type of 0; FLOW_EFULL when
 * a header announces a payload larger than max; FLOW_ENOMEM; or the callback's
 * non-zero value. On any non-zero return the caller should close the
 * connection (flow_frame_decoder_reason says why). */
int flow_frame_decoder_feed(flow_frame_decoder_t *d, const void *data, size_t n, flow_frame_cb cb,
                            void *ud);
/* Whether the stream ended cleanly: no partial frame is buffered. */
int flow_frame_decoder_idle(const flow_frame_decoder_t *d);
const char *flow_frame_decoder_reason(const flow_frame_decoder_t *d);

/* Writes the 12-byte header. Returns 0, FLOW_EINVAL for type 0 or FLOW_EFULL
 * when len > FLOW_FRAME_MAX. */
int flow_frame_header(uint8_t out[FLOW_FRAME_HEADER_LEN], uint8_t type, uint16_t flags,
                      uint32_t len);

/* A frame appended to a buffer (which may already hold earlier frames): begin
 * appends a provisional header and returns its offset, the caller writes the
 * payload, finish(offset) patches the payload length in. finish returns 0 or
 * the buffer's sticky error (FLOW_EINVAL for type 0 or a bad offset,
 * FLOW_EFULL when the payload exceeds FLOW_FRAME_MAX). */
size_t flow_frame_begin(flow_wbuf_t *w, uint8_t type, uint16_t flags);
int flow_frame_finish(flow_wbuf_t *w, size_t start);

#endif
