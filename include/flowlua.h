/* flowlua's C operator ABI.
 *
 * A C operator is a map, filter or flat_map (or a keyed aggregation) that
 * the runtime calls once per *batch* of records: `process` receives encoded
 * records (the same format tasks exchange, docs/record_format.md) and writes
 * its output records into a flowlua_out_t. Operators run on task threads;
 * each subtask opens its own instance, so an instance is never used by two
 * threads at once.
 *
 * A shared library exports, for each operator, a function returning its
 * descriptor:   const flowlua_operator_t *my_operator(void);
 * and a script uses it with  flow.c_operator("./libmy.so", "my_operator", config).
 * Build it with  cc -O2 -shared -fPIC -I<flowlua>/include my.c -o libmy.so
 * (examples/c_operator/ has one with its build). This header is the only
 * one an operator includes.
 */
#ifndef FLOWLUA_H
#define FLOWLUA_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FLOWLUA_ABI_VERSION 1

/* value tags */
enum {
  FLOWLUA_NIL = 0,
  FLOWLUA_FALSE = 1,
  FLOWLUA_TRUE = 2,
  FLOWLUA_INT32 = 3,        /* 4 bytes, little endian */
  FLOWLUA_INT64 = 4,        /* 8 bytes */
  FLOWLUA_DOUBLE = 5,       /* 8 bytes IEEE 754 */
  FLOWLUA_SHORT_STRING = 6, /* u8 length + bytes */
  FLOWLUA_LONG_STRING = 7,  /* u32 length + bytes */
  FLOWLUA_ARRAY = 8,        /* u32 count + count values: a tuple */
  FLOWLUA_LUA = 9           /* u32 length + LuaJIT string.buffer bytes (other tables) */
};

/* ---- output ------------------------------------------------------------- */

/* A growable output batch. The runtime owns it; operators append records
 * with the flowlua_put_* helpers and count each finished record with
 * flowlua_end_record. */
typedef struct flowlua_out {
  uint8_t *data;
  size_t size;     /* bytes written */
  size_t capacity; /* bytes available */
  size_t records;  /* records written */
  /* makes room for `need` more bytes; 0 or -1 (out of memory) */
  int (*grow)(struct flowlua_out *o, size_t need);
} flowlua_out_t;

static inline uint8_t *flowlua_reserve(flowlua_out_t *o, size_t n) {
  if (n > SIZE_MAX - o->size) return NULL; /* size + n would wrap */
  if (o->size + n > o->capacity && o->grow(o, n) != 0) return NULL;
  return o->data + o->size;
}

static inline int flowlua_put_raw(flowlua_out_t *o, const void *bytes, size_t n) {
  uint8_t *p = flowlua_reserve(o, n);
  if (p == NULL) return -1;
  memcpy(p, bytes, n);
  o->size += n;
  return 0;
}

static inline int flowlua_put_tag(flowlua_out_t *o, uint8_t tag) { return flowlua_put_raw(o, &tag, 1); }
static inline int flowlua_put_nil(flowlua_out_t *o) { return flowlua_put_tag(o, FLOWLUA_NIL); }
static inline int flowlua_put_bool(flowlua_out_t *o, int b) {
  return flowlua_put_tag(o, b ? FLOWLUA_TRUE : FLOWLUA_FALSE);
}

static inline int flowlua_put_int(flowlua_out_t *o, int64_t v) {
  uint8_t *p = flowlua_reserve(o, 9);
  if (p == NULL) return -1;
  if (v >= INT32_MIN && v <= INT32_MAX) {
    int32_t x = (int32_t)v;
    p[0] = FLOWLUA_INT32;
    memcpy(p + 1, &x, 4);
    o->size += 5;
  } else {
    p[0] = FLOWLUA_INT64;
    memcpy(p + 1, &v, 8);
    o->size += 9;
  }
  return 0;
}

/* Lua has one number type: integral doubles travel as integers. */
static inline int flowlua_put_number(flowlua_out_t *o, double d) {
  /* range first: converting NaN, infinities or huge doubles is undefined */
  if (d > -9007199254740992.0 && d < 9007199254740992.0 && d == (double)(int64_t)d)
    return flowlua_put_int(o, (int64_t)d);
  uint8_t *p = flowlua_reserve(o, 9);
  if (p == NULL) return -1;
  p[0] = FLOWLUA_DOUBLE;
  memcpy(p + 1, &d, 8);
  o->size += 9;
  return 0;
}

static inline int flowlua_put_string(flowlua_out_t *o, const char *s, size_t n) {
  if (n > UINT32_MAX) return -1; /* the length field is 32 bits */
  uint8_t *p = flowlua_reserve(o, n + 5);
  if (p == NULL) return -1;
  if (n < 256) {
    p[0] = FLOWLUA_SHORT_STRING;
    p[1] = (uint8_t)n;
    memcpy(p + 2, s, n);
    o->size += n + 2;
  } else {
    uint32_t len = (uint32_t)n;
    p[0] = FLOWLUA_LONG_STRING;
    memcpy(p + 1, &len, 4);
    memcpy(p + 5, s, n);
    o->size += n + 5;
  }
  return 0;
}

/* A tuple header; the n field values follow. */
static inline int flowlua_put_array(flowlua_out_t *o, uint32_t n) {
  uint8_t *p = flowlua_reserve(o, 5);
  if (p == NULL) return -1;
  p[0] = FLOWLUA_ARRAY;
  memcpy(p + 1, &n, 4);
  o->size += 5;
  return 0;
}

static inline void flowlua_end_record(flowlua_out_t *o) { o->records++; }

/* ---- input -------------------------------------------------------------- */

typedef struct flowlua_value {
  int tag;
  int64_t i;     /* INT32, INT64 */
  double d;      /* DOUBLE (and INT32/INT64 as a double) */
  const char *s; /* strings and LUA: the bytes */
  size_t len;    /* strings and LUA: their length */
  uint32_t n;    /* ARRAY: the number of fields that follow */
} flowlua_value_t;

/* Reads the value at p (not past end). For an array only its header is
 * read: the fields follow at the returned pointer. Returns the position
 * after what was read, or NULL on a malformed record. */
static inline const uint8_t *flowlua_read(const uint8_t *p, const uint8_t *end, flowlua_value_t *v) {
  if (p >= end) return NULL;
  v->tag = p[0];
  switch (p[0]) {
  case FLOWLUA_NIL:
  case FLOWLUA_FALSE:
  case FLOWLUA_TRUE: return p + 1;
  case FLOWLUA_INT32: {
    int32_t x;
    if (end - p < 5) return NULL;
    memcpy(&x, p + 1, 4);
    v->i = x;
    v->d = x;
    return p + 5;
  }
  case FLOWLUA_INT64:
    if (end - p < 9) return NULL;
    memcpy(&v->i, p + 1, 8);
    v->d = (double)v->i;
    return p + 9;
  case FLOWLUA_DOUBLE:
    if (end - p < 9) return NULL;
    memcpy(&v->d, p + 1, 8);
    v->i = v->d > -9223372036854775808.0 && v->d < 9223372036854775808.0 ? (int64_t)v->d : 0;
    return p + 9;
  case FLOWLUA_SHORT_STRING:
    if (end - p < 2 || end - p < 2 + p[1]) return NULL;
    v->len = p[1];
    v->s = (const char *)p + 2;
    return p + 2 + v->len;
  case FLOWLUA_LONG_STRING:
  case FLOWLUA_LUA: {
    uint32_t n;
    if (end - p < 5) return NULL;
    memcpy(&n, p + 1, 4);
    if ((size_t)(end - p - 5) < n) return NULL;
    v->len = n;
    v->s = (const char *)p + 5;
    return p + 5 + n;
  }
  case FLOWLUA_ARRAY:
    if (end - p < 5) return NULL;
    memcpy(&v->n, p + 1, 4);
    return p + 5;
  default: return NULL;
  }
}

/* Skips one whole value (an array with all its fields). NULL if malformed.
 * Iterative: `pending` counts values still to skip, so deeply nested input
 * cannot exhaust the stack; every value takes at least one byte, so more
 * pending values than bytes left is malformed. */
static inline const uint8_t *flowlua_skip(const uint8_t *p, const uint8_t *end) {
  uint64_t pending = 1;
  while (pending > 0) {
    flowlua_value_t v;
    p = flowlua_read(p, end, &v);
    if (p == NULL) return NULL;
    pending--;
    if (v.tag == FLOWLUA_ARRAY) {
      pending += v.n;
      if (pending > (uint64_t)(end - p)) return NULL;
    }
  }
  return p;
}

/* ---- the operator --------------------------------------------------------- */

typedef struct flowlua_operator {
  int abi_version; /* FLOWLUA_ABI_VERSION */
  const char *name;
  /* One instance per subtask. config is the string the script gave (may be
   * empty). NULL with a message in err refuses to start (the task fails). */
  void *(*open)(const char *config, size_t config_len, int subtask, int parallelism, char *err, size_t errlen);
  /* A batch of `count` records in `len` bytes. Returns 0, or -1 with a
   * message in err (the task fails with it). */
  int (*process)(void *self, const uint8_t *records, size_t len, size_t count, flowlua_out_t *out, char *err,
                 size_t errlen);
  /* End of input: emit what is held back (aggregations). May be NULL. */
  int (*finish)(void *self, flowlua_out_t *out, char *err, size_t errlen);
  void (*close)(void *self);
} flowlua_operator_t;

#endif
