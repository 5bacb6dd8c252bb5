/* Payload writer and reader: see wire.h. */
#include "util/wire.h"

#include "util/common.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------ little endian --- */

static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get_u32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* ------------------------------------------------------------- writer --- */

void flow_wbuf_init(flow_wbuf_t *w) { memset(w, 0, sizeof *w); }

void flow_wbuf_free(flow_wbuf_t *w) {
  free(w->data);
  memset(w, 0, sizeof *w);
}

/* Returns a pointer to n fresh bytes at the end, or NULL (sticky error set). */
static uint8_t *grow(flow_wbuf_t *w, size_t n) {
  if (w->err) return NULL;
  if (n > SIZE_MAX / 2 - w->len) {
    w->err = FLOW_EFULL;
    return NULL;
  }
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n) cap *= 2;
    uint8_t *nd = realloc(w->data, cap);
    if (nd == NULL) {
      w->err = FLOW_ENOMEM;
      return NULL;
    }
    w->data = nd;
    w->cap = cap;
  }
  uint8_t *at = w->data + w->len;
  w->len += n;
  return at;
}

void flow_wr_u8(flow_wbuf_t *w, uint8_t v) {
  uint8_t *p = grow(w, 1);
  if (p) p[0] = v;
}
void flow_wr_u16(flow_wbuf_t *w, uint16_t v) {
  uint8_t *p = grow(w, 2);
  if (p) put_u16(p, v);
}
void flow_wr_u32(flow_wbuf_t *w, uint32_t v) {
  uint8_t *p = grow(w, 4);
  if (p) put_u32(p, v);
}
void flow_wr_i32(flow_wbuf_t *w, int32_t v) { flow_wr_u32(w, (uint32_t)v); }
void flow_wr_i64(flow_wbuf_t *w, int64_t v) {
  uint8_t *p = grow(w, 8);
  if (p) put_u64(p, (uint64_t)v);
}
void flow_wr_f64(flow_wbuf_t *w, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits); /* IEEE 754 binary64 bit pattern */
  uint8_t *p = grow(w, 8);
  if (p) put_u64(p, bits);
}
void flow_wr_raw(flow_wbuf_t *w, const void *src, size_t n) {
  if (n == 0) return;
  uint8_t *p = grow(w, n);
  if (p) memcpy(p, src, n);
}
void flow_wr_bytes(flow_wbuf_t *w, const void *src, size_t n) {
  if (n >= FLOW_WIRE_NULL_LEN) {
    if (!w->err) w->err = FLOW_EFULL;
    return;
  }
  flow_wr_u32(w, (uint32_t)n);
  flow_wr_raw(w, src, n);
}
void flow_wr_str(flow_wbuf_t *w, const char *s) {
  if (s == NULL) flow_wr_u32(w, FLOW_WIRE_NULL_LEN);
  else flow_wr_bytes(w, s, strlen(s));
}

/* ------------------------------------------------------------- reader --- */

void flow_rbuf_init(flow_rbuf_t *r, const void *p, size_t len) {
  static const uint8_t empty[1] = {0};
  r->p = p ? p : empty; /* never NULL, so p + pos is always defined */
  r->len = p ? len : 0;
  r->pos = 0;
  r->err = 0;
}

size_t flow_rd_left(const flow_rbuf_t *r) { return r->len - r->pos; }

/* Returns a pointer to the next n bytes and advances, or NULL (sticky). */
static const uint8_t *take(flow_rbuf_t *r, size_t n) {
  if (r->err || n > r->len - r->pos) {
    r->err = FLOW_EINVAL;
    return NULL;
  }
  const uint8_t *at = r->p + r->pos;
  r->pos += n;
  return at;
}

int flow_rd_u8(flow_rbuf_t *r, uint8_t *v) {
  const uint8_t *p = take(r, 1);
  if (p == NULL) return FLOW_EINVAL;
  *v = p[0];
  return 0;
}
int flow_rd_u16(flow_rbuf_t *r, uint16_t *v) {
  const uint8_t *p = take(r, 2);
  if (p == NULL) return FLOW_EINVAL;
  *v = get_u16(p);
  return 0;
}
int flow_rd_u32(flow_rbuf_t *r, uint32_t *v) {
  const uint8_t *p = take(r, 4);
  if (p == NULL) return FLOW_EINVAL;
  *v = get_u32(p);
  return 0;
}
int flow_rd_i32(flow_rbuf_t *r, int32_t *v) {
  uint32_t u;
  if (flow_rd_u32(r, &u) != 0) return FLOW_EINVAL;
  *v = (int32_t)u; /* two's complement on every supported target */
  return 0;
}
int flow_rd_i64(flow_rbuf_t *r, int64_t *v) {
  const uint8_t *p = take(r, 8);
  if (p == NULL) return FLOW_EINVAL;
  *v = (int64_t)get_u64(p);
  return 0;
}
int flow_rd_f64(flow_rbuf_t *r, double *v) {
  const uint8_t *p = take(r, 8);
  if (p == NULL) return FLOW_EINVAL;
  uint64_t bits = get_u64(p);
  memcpy(v, &bits, sizeof *v);
  return 0;
}
int flow_rd_raw(flow_rbuf_t *r, size_t n, const uint8_t **out) {
  const uint8_t *p = take(r, n);
  if (p == NULL) return FLOW_EINVAL;
  *out = p;
  return 0;
}
int flow_rd_bytes(flow_rbuf_t *r, const uint8_t **out, uint32_t *n) {
  uint32_t len;
  size_t save = r->pos;
  if (flow_rd_u32(r, &len) != 0) return FLOW_EINVAL;
  const uint8_t *p = len == FLOW_WIRE_NULL_LEN ? NULL : take(r, len);
  if (p == NULL) {
    r->pos = save;
    r->err = FLOW_EINVAL;
    return FLOW_EINVAL;
  }
  *out = p;
  *n = len;
  return 0;
}
int flow_rd_str(flow_rbuf_t *r, char **s, int allow_null) {
  uint32_t len;
  size_t save = r->pos;
  if (flow_rd_u32(r, &len) != 0) return FLOW_EINVAL;
  if (len == FLOW_WIRE_NULL_LEN && allow_null) {
    *s = NULL;
    return 0;
  }
  const uint8_t *p = len == FLOW_WIRE_NULL_LEN ? NULL : take(r, len);
  if (p == NULL || memchr(p, '\0', len) != NULL) {
    r->pos = save;
    r->err = FLOW_EINVAL;
    return FLOW_EINVAL;
  }
  char *c = malloc((size_t)len + 1);
  if (c == NULL) {
    r->err = FLOW_ENOMEM;
    return FLOW_ENOMEM;
  }
  memcpy(c, p, len);
  c[len] = '\0';
  *s = c;
  return 0;
}
