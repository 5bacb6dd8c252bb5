/* Built-in keyed aggregations in C: sum, min and max of a numeric tuple
 * field per key (Flink's SumAggregator / ComparableAggregator semantics: the
 * other fields are the first record's). Used as the pre-shuffle combiner
 * after C operators. Config: "<sum|min|max> <field> <key field> <batch|streaming>"
 * (fields 1-based). In batch mode results come at the end of input; in
 * streaming mode an updated record per input record. */
#include "flowlua.h"

#include <stdio.h>
#include <stdlib.h>

typedef enum { AGG_SUM, AGG_MIN, AGG_MAX } agg_kind_t;

#define INLINE_KEY 22

/* A key of up to INLINE_KEY bytes lives in the entry itself (no pointer to
 * chase on every lookup); a longer one on the heap. */
typedef struct entry {
  uint64_t hash;
  uint32_t key_len;
  uint8_t used;
  uint8_t inline_key[INLINE_KEY];
  uint8_t *heap_key; /* encoded key value when longer than INLINE_KEY */
  uint8_t *first;    /* the first record of the key, encoded */
  size_t first_len;
  double acc;
} entry_t;

static inline const uint8_t *entry_key(const entry_t *e) {
  return e->key_len <= INLINE_KEY ? e->inline_key : e->heap_key;
}

typedef struct agg {
  agg_kind_t kind;
  uint32_t field, key; /* 0-based */
  int streaming;
  int words; /* input: strings, tokenized as flow.ops.words() into (word, 1) */
  entry_t *slots;
  size_t cap, used; /* cap is a power of two; used < 0.7 cap */
} agg_t;

static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

/* short keys compare inline (most words); long ones with memcmp */
static inline int same_bytes(const uint8_t *a, const uint8_t *b, size_t n) {
  if (n > 24) return memcmp(a, b, n) == 0;
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

static void init_word_tables(void);

static void *agg_open(const char *config, size_t len, int subtask, int parallelism, char *err, size_t errlen) {
  (void)len, (void)subtask, (void)parallelism;
  char kind[16] = "", mode[16] = "batch", input[16] = "";
  unsigned field = 0, key = 0;
  if (sscanf(config, "%15s %u %u %15s %15s", kind, &field, &key, mode, input) < 3 || field == 0 || key == 0) {
    snprintf(err, errlen, "aggregate: config must be '<sum|min|max> <field> <key field> [batch|streaming]'");
    return NULL;
  }
  agg_t *a = calloc(1, sizeof(*a));
  if (a == NULL) return NULL;
  if (strcmp(kind, "sum") == 0) a->kind = AGG_SUM;
  else if (strcmp(kind, "min") == 0) a->kind = AGG_MIN;
  else if (strcmp(kind, "max") == 0) a->kind = AGG_MAX;
  else {
    snprintf(err, errlen, "aggregate: unknown aggregation '%s'", kind);
    free(a);
    return NULL;
  }
  a->field = field - 1;
  a->key = key - 1;
  a->streaming = strcmp(mode, "streaming") == 0;
  /* "words": the tokenizer of flow.ops.words() fused in front (the records
   * (word, 1) are never written out and parsed again) */
  a->words = strcmp(input, "words") == 0;
  if (a->words && (a->kind != AGG_SUM || field != 2 || key != 1)) {
    snprintf(err, errlen, "aggregate: 'words' input needs sum of field 2 keyed by field 1");
    free(a);
    return NULL;
  }
  init_word_tables();
  a->cap = 1024;
  a->slots = calloc(a->cap, sizeof(entry_t));
  if (a->slots == NULL) {
    free(a);
    return NULL;
  }
  return a;
}

static int grow(agg_t *a) {
  size_t cap = a->cap * 2;
  entry_t *s = calloc(cap, sizeof(entry_t));
  if (s == NULL) return -1;
  for (size_t i = 0; i < a->cap; i++) {
    if (!a->slots[i].used) continue;
    size_t j = a->slots[i].hash & (cap - 1);
    while (s[j].used) j = (j + 1) & (cap - 1);
    s[j] = a->slots[i];
  }
  free(a->slots);
  a->slots = s;
  a->cap = cap;
  return 0;
}

/* The record with its aggregated field replaced by the accumulator. */
static int emit(const entry_t *e, const agg_t *a, flowlua_out_t *out) {
  const uint8_t *p = e->first, *end = e->first + e->first_len;
  flowlua_value_t v = {0};
  p = flowlua_read(p, end, &v); /* checked when the record was stored */
  if (p == NULL || flowlua_put_array(out, v.n) != 0) return -1;
  for (uint32_t j = 0; j < v.n; j++) {
    const uint8_t *start = p;
    p = flowlua_skip(p, end);
    int rc = j == a->field ? flowlua_put_number(out, e->acc) : flowlua_put_raw(out, start, (size_t)(p - start));
    if (rc != 0) return -1;
  }
  flowlua_end_record(out);
  return 0;
}

/* The entry of key (created with `first` as its first record when new), or
 * NULL when out of memory. *created tells which. */
static entry_t *upsert(agg_t *a, const uint8_t *key, size_t klen, const uint8_t *first, size_t first_len, int *created) {
  uint64_t h = fnv1a(key, klen);
  size_t i = h & (a->cap - 1);
  while (a->slots[i].used &&
         !(a->slots[i].hash == h && a->slots[i].key_len == klen && same_bytes(entry_key(&a->slots[i]), key, klen)))
    i = (i + 1) & (a->cap - 1);
  entry_t *e = &a->slots[i];
  *created = 0;
  if (e->used) return e;
  e->heap_key = klen > INLINE_KEY ? malloc(klen) : NULL;
  e->first = malloc(first_len);
  if ((klen > INLINE_KEY && e->heap_key == NULL) || e->first == NULL) {
    free(e->heap_key);
    free(e->first);
    e->heap_key = e->first = NULL;
    return NULL;
  }
  memcpy(klen > INLINE_KEY ? e->heap_key : e->inline_key, key, klen);
  memcpy(e->first, first, first_len);
  e->used = 1;
  e->hash = h;
  e->key_len = (uint32_t)klen;
  e->first_len = first_len;
  a->used++;
  *created = 1;
  return e;
}

/* After an entry changed: streaming mode emits it; the table grows at 70 %. */
static int updated(agg_t *a, const entry_t *e, flowlua_out_t *out, char *err, size_t errlen) {
  if ((a->streaming && emit(e, a, out) != 0) || (a->used * 10 >= a->cap * 7 && grow(a) != 0)) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  return 0;
}

/* Flink WordCount's tokenizer tables; the same as stdlib/text_ops.c's
 * (stdlib operators include only the public header, so each has its own). */
static unsigned char word_lower[256], word_char[256];

static void init_word_tables(void) {
  static int ready; /* idempotent: racing threads write the same bytes */
  if (ready) return;
  for (int c = 0; c < 256; c++) {
    word_lower[c] = (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    word_char[c] = (unsigned char)((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                                   c == '_');
  }
  ready = 1;
}

/* "words" input: each string record is tokenized as flow.ops.words() does
 * and every word counted, as if (word, 1) had come in. */
static int words_process(agg_t *a, const uint8_t *rec, size_t len, flowlua_out_t *out, char *err, size_t errlen) {
  const uint8_t *p = rec, *end = rec + len;
  uint8_t stack[512];
  while (p < end) {
    flowlua_value_t v;
    p = flowlua_read(p, end, &v);
    if (p == NULL || (v.tag != FLOWLUA_SHORT_STRING && v.tag != FLOWLUA_LONG_STRING)) {
      snprintf(err, errlen, "words() expects string records");
      return -1;
    }
    const unsigned char *s = (const unsigned char *)v.s;
    size_t i = 0, n = v.len;
    while (i < n) {
      while (i < n && !word_char[s[i]]) i++;
      size_t start = i;
      while (i < n && word_char[s[i]]) i++;
      size_t w = i - start;
      if (w == 0) break;
      /* the key as the tuple's first field: an encoded string */
      size_t hdr = w < 256 ? 2 : 5, klen = hdr + w;
      uint8_t *rec_buf = 5 + klen + 5 <= sizeof(stack) ? stack : malloc(5 + klen + 5);
      if (rec_buf == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
      }
      /* (word, 1) laid out whole: array header, key, int32 1 */
      uint32_t two = 2;
      int32_t one = 1;
      rec_buf[0] = FLOWLUA_ARRAY;
      memcpy(rec_buf + 1, &two, 4);
      uint8_t *key = rec_buf + 5;
      if (w < 256) {
        key[0] = FLOWLUA_SHORT_STRING;
        key[1] = (uint8_t)w;
      } else {
        uint32_t lw = (uint32_t)w;
        key[0] = FLOWLUA_LONG_STRING;
        memcpy(key + 1, &lw, 4);
      }
      for (size_t k = 0; k < w; k++) key[hdr + k] = word_lower[s[start + k]];
      key[klen] = FLOWLUA_INT32;
      memcpy(key + klen + 1, &one, 4);
      int created;
      entry_t *e = upsert(a, key, klen, rec_buf, 5 + klen + 5, &created);
      if (rec_buf != stack) free(rec_buf);
      if (e == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
      }
      if (created) e->acc = 1;
      else e->acc += 1;
      if (updated(a, e, out, err, errlen) != 0) return -1;
    }
  }
  return 0;
}

static int agg_process(void *self, const uint8_t *rec, size_t len, size_t count, flowlua_out_t *out, char *err,
                       size_t errlen) {
  (void)count;
  agg_t *a = self;
  if (a->words) return words_process(a, rec, len, out, err, errlen);
  const uint8_t *p = rec, *end = rec + len;
  while (p < end) {
    const uint8_t *start = p;
    flowlua_value_t v;
    p = flowlua_read(p, end, &v);
    if (p == NULL || v.tag != FLOWLUA_ARRAY || v.n <= a->field || v.n <= a->key) {
      snprintf(err, errlen, "aggregate: records must be tuples with fields %u and %u", a->field + 1, a->key + 1);
      return -1;
    }
    const uint8_t *key = NULL, *key_end = NULL;
    double x = 0;
    int have_x = 0;
    for (uint32_t j = 0; j < v.n; j++) {
      const uint8_t *f = p;
      /* the common field shapes inline; anything else through flowlua_skip */
      uint8_t tag = p < end ? p[0] : 0xff;
      if (tag == FLOWLUA_SHORT_STRING && end - p >= 2 && end - p >= 2 + p[1]) {
        p += 2 + p[1];
      } else if (tag == FLOWLUA_INT32 && end - p >= 5) {
        if (j == a->field) {
          int32_t i32;
          memcpy(&i32, p + 1, 4);
          x = i32;
          have_x = 1;
        }
        p += 5;
      } else {
        if (j == a->field) {
          flowlua_value_t fv = {0};
          if (flowlua_read(f, end, &fv) == NULL ||
              (fv.tag != FLOWLUA_INT32 && fv.tag != FLOWLUA_INT64 && fv.tag != FLOWLUA_DOUBLE)) {
            snprintf(err, errlen, "aggregate: field %u is not a number", a->field + 1);
            return -1;
          }
          x = fv.d;
          have_x = 1;
        }
        p = flowlua_skip(p, end);
        if (p == NULL) {
          snprintf(err, errlen, "aggregate: malformed record");
          return -1;
        }
      }
      if (j == a->key) key = f, key_end = p;
    }
    if (!have_x) {
      snprintf(err, errlen, "aggregate: field %u is not a number", a->field + 1);
      return -1;
    }
    size_t klen = (size_t)(key_end - key);
    int created;
    entry_t *e = upsert(a, key, klen, start, (size_t)(p - start), &created);
    if (e == NULL) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    if (created) {
      e->acc = x;
    } else if (a->kind == AGG_SUM) {
      e->acc += x;
    } else if (a->kind == AGG_MIN) {
      if (x < e->acc) e->acc = x;
    } else if (x > e->acc) {
      e->acc = x;
    }
    if (updated(a, e, out, err, errlen) != 0) return -1;
  }
  return 0;
}

static int agg_finish(void *self, flowlua_out_t *out, char *err, size_t errlen) {
  agg_t *a = self;
  if (a->streaming) return 0;
  for (size_t i = 0; i < a->cap; i++) {
    if (a->slots[i].used && emit(&a->slots[i], a, out) != 0) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
  }
  return 0;
}

static void agg_close(void *self) {
  agg_t *a = self;
  if (a == NULL) return;
  for (size_t i = 0; i < a->cap; i++) {
    free(a->slots[i].heap_key);
    free(a->slots[i].first);
  }
  free(a->slots);
  free(a);
}

static const flowlua_operator_t aggregate_op = {FLOWLUA_ABI_VERSION, "aggregate", agg_open, agg_process, agg_finish,
                                                agg_close};

const flowlua_operator_t *flowlua_op_aggregate(void);
const flowlua_operator_t *flowlua_op_aggregate(void) { return &aggregate_op; }
