/* Built-in C operators on text: flow.ops.words() and flow.ops.lower().
 * They include only the public operator header. */
#include "flowlua.h"

#include <stdio.h>

/* byte classes: Flink WordCount's tokenizer splits on [^A-Za-z0-9_] */
static unsigned char lower_of[256];
static unsigned char is_word[256];

static void init_tables(void) {
  static int ready; /* idempotent: racing threads write the same bytes */
  if (ready) return;
  for (int c = 0; c < 256; c++) {
    lower_of[c] = (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    is_word[c] = (unsigned char)((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                                 c == '_');
  }
  ready = 1;
}

static int instance; /* stateless operators share one dummy instance */

static void *open_stateless(const char *config, size_t len, int subtask, int parallelism, char *err, size_t errlen) {
  (void)config, (void)len, (void)subtask, (void)parallelism, (void)err, (void)errlen;
  init_tables();
  return &instance;
}

static void close_stateless(void *self) { (void)self; }

static int not_a_string(const char *op, char *err, size_t errlen) {
  snprintf(err, errlen, "%s expects string records", op);
  return -1;
}

/* words: each string record -> one (word, 1) tuple per lower-cased run of
 * [A-Za-z0-9_], written straight into the output. */
static int words_process(void *self, const uint8_t *rec, size_t len, size_t count, flowlua_out_t *out, char *err,
                         size_t errlen) {
  (void)self, (void)count;
  const uint8_t *p = rec, *end = rec + len;
  while (p < end) {
    flowlua_value_t v;
    p = flowlua_read(p, end, &v);
    if (p == NULL) return not_a_string("words()", err, errlen);
    if (v.tag != FLOWLUA_SHORT_STRING && v.tag != FLOWLUA_LONG_STRING) return not_a_string("words()", err, errlen);
    const unsigned char *s = (const unsigned char *)v.s;
    size_t i = 0, n = v.len;
    while (i < n) {
      while (i < n && !is_word[s[i]]) i++;
      size_t start = i;
      while (i < n && is_word[s[i]]) i++;
      size_t w = i - start;
      if (w == 0) break;
      /* (word, 1): array header, string, int32 */
      uint8_t *o = flowlua_reserve(out, 5 + 5 + w + 5);
      if (o == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
      }
      uint8_t *q = o;
      uint32_t two = 2;
      *q++ = FLOWLUA_ARRAY;
      memcpy(q, &two, 4);
      q += 4;
      if (w < 256) {
        *q++ = FLOWLUA_SHORT_STRING;
        *q++ = (uint8_t)w;
      } else {
        uint32_t lw = (uint32_t)w;
        *q++ = FLOWLUA_LONG_STRING;
        memcpy(q, &lw, 4);
        q += 4;
      }
      for (size_t k = 0; k < w; k++) *q++ = lower_of[s[start + k]];
      int32_t one = 1;
      *q++ = FLOWLUA_INT32;
      memcpy(q, &one, 4);
      q += 4;
      out->size += (size_t)(q - o);
      out->records++;
    }
  }
  return 0;
}

/* lower: each string record -> the same string, lower-cased (ASCII). */
static int lower_process(void *self, const uint8_t *rec, size_t len, size_t count, flowlua_out_t *out, char *err,
                         size_t errlen) {
  (void)self, (void)count;
  const uint8_t *p = rec, *end = rec + len;
  while (p < end) {
    const uint8_t *start = p;
    flowlua_value_t v;
    p = flowlua_read(p, end, &v);
    if (p == NULL || (v.tag != FLOWLUA_SHORT_STRING && v.tag != FLOWLUA_LONG_STRING))
      return not_a_string("lower()", err, errlen);
    size_t header = (size_t)((const uint8_t *)v.s - start);
    uint8_t *o = flowlua_reserve(out, header + v.len);
    if (o == NULL) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    memcpy(o, start, header);
    for (size_t k = 0; k < v.len; k++) o[header + k] = lower_of[(unsigned char)v.s[k]];
    out->size += header + v.len;
    out->records++;
  }
  return 0;
}

static const flowlua_operator_t words_op = {FLOWLUA_ABI_VERSION, "words", open_stateless, words_process, NULL,
                                            close_stateless};
static const flowlua_operator_t lower_op = {FLOWLUA_ABI_VERSION, "lower", open_stateless, lower_process, NULL,
                                            close_stateless};

const flowlua_operator_t *flowlua_op_words(void);
const flowlua_operator_t *flowlua_op_lower(void);
const flowlua_operator_t *flowlua_op_words(void) { return &words_op; }
const flowlua_operator_t *flowlua_op_lower(void) { return &lower_op; }
