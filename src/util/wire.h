/* Bounds-checked little-endian byte writer and reader: the encoding of every
 * cluster-mode payload (docs/wire.md). Plain bytes, shared by every layer:
 * src/graph/serialize.c encodes graphs with it, src/net/frame.c frames.
 * Every multi-byte integer is little endian; f64 is the IEEE 754 bit pattern. */
#ifndef FLOW_WIRE_H
#define FLOW_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------
 * Payload writer: a growable buffer. Errors are sticky: after an allocation
 * failure or an oversize value every later write is a no-op and err is set,
 * so a caller writes everything and checks once at the end.
 * Invariant: len <= cap; data is NULL only while cap == 0. */
typedef struct flow_wbuf {
  uint8_t *data;
  size_t len, cap;
  int err; /* 0, FLOW_ENOMEM or FLOW_EFULL */
} flow_wbuf_t;

void flow_wbuf_init(flow_wbuf_t *w);
void flow_wbuf_free(flow_wbuf_t *w);
void flow_wr_u8(flow_wbuf_t *w, uint8_t v);
void flow_wr_u16(flow_wbuf_t *w, uint16_t v);
void flow_wr_u32(flow_wbuf_t *w, uint32_t v);
void flow_wr_i32(flow_wbuf_t *w, int32_t v);
void flow_wr_i64(flow_wbuf_t *w, int64_t v);
void flow_wr_f64(flow_wbuf_t *w, double v);
void flow_wr_raw(flow_wbuf_t *w, const void *p, size_t n); /* no length prefix */
/* u32 length + bytes; n > UINT32_MAX - 1 sets FLOW_EFULL. */
void flow_wr_bytes(flow_wbuf_t *w, const void *p, size_t n);
/* A C string as bytes without the NUL. NULL is written as the length
 * FLOW_WIRE_NULL_LEN (0xFFFFFFFF) with no bytes, so optional strings round trip. */
#define FLOW_WIRE_NULL_LEN UINT32_MAX
void flow_wr_str(flow_wbuf_t *w, const char *s);

/* ------------------------------------------------------------------------
 * Payload reader over borrowed bytes. Every read is bounds-checked: reading
 * past the end, or a length prefix larger than what is left, fails with
 * FLOW_EINVAL, leaves the output untouched and makes the reader sticky-failed.
 * Invariant: pos <= len. */
typedef struct flow_rbuf {
  const uint8_t *p;
  size_t len, pos;
  int err;
} flow_rbuf_t;

void flow_rbuf_init(flow_rbuf_t *r, const void *p, size_t len);
size_t flow_rd_left(const flow_rbuf_t *r);
int flow_rd_u8(flow_rbuf_t *r, uint8_t *v);
int flow_rd_u16(flow_rbuf_t *r, uint16_t *v);
int flow_rd_u32(flow_rbuf_t *r, uint32_t *v);
int flow_rd_i32(flow_rbuf_t *r, int32_t *v);
int flow_rd_i64(flow_rbuf_t *r, int64_t *v);
int flow_rd_f64(flow_rbuf_t *r, double *v);
/* Borrows n bytes from the buffer (no copy). */
int flow_rd_raw(flow_rbuf_t *r, size_t n, const uint8_t **p);
/* Length-prefixed bytes, borrowed; a NULL-length marker is refused here. */
int flow_rd_bytes(flow_rbuf_t *r, const uint8_t **p, uint32_t *n);
/* Length-prefixed string, copied into a malloc'd NUL-terminated string
 * (*s = NULL for the NULL marker when allow_null, else refused). Embedded NUL
 * bytes are refused. Returns 0, FLOW_EINVAL or FLOW_ENOMEM. */
int flow_rd_str(flow_rbuf_t *r, char **s, int allow_null);

#endif
