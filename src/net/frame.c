/* Wire frames: header encoding, the incremental decoder, whole frames in a
 * flow_wbuf_t. See frame.h for the layout and docs/wire.md for the rules. */
#include "net/frame.h"

#include "util/common.h"

#include <stdlib.h>
#include <string.h>

/* Buffers bigger than this are released after their frame was delivered, so
 * one large frame does not pin its memory for the connection's lifetime. */
#define KEEP_BUF_MAX (1u << 20)

/* ------------------------------------------------------ little endian --- */

static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get_u32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

int flow_frame_header(uint8_t out[FLOW_FRAME_HEADER_LEN], uint8_t type, uint16_t flags,
                      uint32_t len) {
  if (type == 0) return FLOW_EINVAL;
  if (len > FLOW_FRAME_MAX) return FLOW_EFULL;
  memcpy(out, FLOW_FRAME_MAGIC, 4);
  out[4] = FLOW_FRAME_VERSION;
  out[5] = type;
  put_u16(out + 6, flags);
  put_u32(out + 8, len);
  return 0;
}

/* ------------------------------------------------------------ decoder --- */

void flow_frame_decoder_init(flow_frame_decoder_t *d, uint32_t max) {
  memset(d, 0, sizeof *d);
  d->max = max ? max : FLOW_FRAME_MAX;
}

void flow_frame_decoder_free(flow_frame_decoder_t *d) {
  free(d->buf);
  d->buf = NULL;
  d->cap = d->have = 0;
}

static int fail(flow_frame_decoder_t *d, int code, const char *reason) {
  d->error = code;
  d->reason = reason;
  return code;
}

/* The header in d->hdr is complete: validate it and enter the payload state. */
static int parse_header(flow_frame_decoder_t *d) {
  if (memcmp(d->hdr, FLOW_FRAME_MAGIC, 4) != 0) return fail(d, FLOW_EINVAL, "bad frame magic");
  if (d->hdr[4] != FLOW_FRAME_VERSION) return fail(d, FLOW_EINVAL, "unsupported frame version");
  if (d->hdr[5] == 0) return fail(d, FLOW_EINVAL, "frame type 0 is reserved");
  uint32_t len = get_u32(d->hdr + 8);
  if (len > d->max) return fail(d, FLOW_EFULL, "frame larger than the maximum frame size");
  d->cur.type = d->hdr[5];
  d->cur.flags = get_u16(d->hdr + 6);
  d->cur.len = len;
  d->cur.payload = NULL;
  d->in_payload = 1;
  d->have = 0;
  return 0;
}

/* Delivers the current frame (payload from p) and resets for the next header. */
static int deliver(flow_frame_decoder_t *d, const uint8_t *p, flow_frame_cb cb, void *ud) {
  flow_frame_t f = d->cur;
  f.payload = f.len ? p : NULL;
  d->in_payload = 0;
  d->hdr_have = 0;
  d->have = 0;
  d->frames++;
  int rc = cb ? cb(ud, &f) : 0;
  if (d->cap > KEEP_BUF_MAX) flow_frame_decoder_free(d);
  if (rc != 0) return fail(d, rc, "the frame handler refused a frame");
  return 0;
}

/* Makes room for `more` payload bytes: grows geometrically but never past the
 * announced length, so a peer that announces a large frame and sends little
 * costs little memory. Precondition: have + more <= cur.len. */
static int reserve(flow_frame_decoder_t *d, uint32_t more) {
  uint32_t need = d->have + more;
  if (need <= d->cap) return 0;
  uint64_t cap = d->cap ? d->cap : 4096;
  while (cap < need) cap *= 2;
  if (cap > d->cur.len) cap = d->cur.len;
  uint8_t *nb = realloc(d->buf, (size_t)cap);
  if (nb == NULL) return fail(d, FLOW_ENOMEM, "out of memory buffering a frame");
  d->buf = nb;
  d->cap = (uint32_t)cap;
  return 0;
}

int flow_frame_decoder_feed(flow_frame_decoder_t *d, const void *data, size_t n, flow_frame_cb cb,
                            void *ud) {
  const uint8_t *p = data;
  if (d->error) return d->error;
  while (n > 0) {
    if (!d->in_payload) {
      size_t k = FLOW_FRAME_HEADER_LEN - d->hdr_have;
      if (k > n) k = n;
      memcpy(d->hdr + d->hdr_have, p, k);
      d->hdr_have += k;
      p += k;
      n -= k;
      if (d->hdr_have < FLOW_FRAME_HEADER_LEN) break;
      int rc = parse_header(d);
      if (rc != 0) return rc;
    }
    uint32_t missing = d->cur.len - d->have;
    if (d->have == 0 && n >= missing) {
      /* the whole payload is in this chunk: hand it out without copying */
      const uint8_t *payload = p;
      p += missing;
      n -= missing;
      int rc = deliver(d, payload, cb, ud);
      if (rc != 0) return rc;
      continue;
    }
    if (n == 0) break; /* header complete, payload still to come */
    uint32_t k = n < missing ? (uint32_t)n : missing;
    int rc = reserve(d, k);
    if (rc != 0) return rc;
    memcpy(d->buf + d->have, p, k);
    d->have += k;
    p += k;
    n -= k;
    if (d->have == d->cur.len) {
      rc = deliver(d, d->buf, cb, ud);
      if (rc != 0) return rc;
    }
  }
  return 0;
}

int flow_frame_decoder_idle(const flow_frame_decoder_t *d) {
  return d->error == 0 && !d->in_payload && d->hdr_have == 0;
}

const char *flow_frame_decoder_reason(const flow_frame_decoder_t *d) {
  return d->reason ? d->reason : "no error";
}

size_t flow_frame_begin(flow_wbuf_t *w, uint8_t type, uint16_t flags) {
  uint8_t hdr[FLOW_FRAME_HEADER_LEN];
  size_t start = w->len;
  /* provisional header with length 0; flow_frame_finish patches it */
  if (flow_frame_header(hdr, type, flags, 0) != 0) {
    if (!w->err) w->err = FLOW_EINVAL;
    return start;
  }
  flow_wr_raw(w, hdr, sizeof hdr);
  return start;
}

int flow_frame_finish(flow_wbuf_t *w, size_t start) {
  if (w->err) return w->err;
  if (start > w->len || w->len - start < FLOW_FRAME_HEADER_LEN ||
      memcmp(w->data + start, FLOW_FRAME_MAGIC, 4) != 0)
    return w->err = FLOW_EINVAL;
  size_t len = w->len - start - FLOW_FRAME_HEADER_LEN;
  if (len > FLOW_FRAME_MAX) return w->err = FLOW_EFULL;
  put_u32(w->data + start + 8, (uint32_t)len);
  return 0;
}
