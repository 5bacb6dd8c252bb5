/* An example C operator for flowlua: upper-cases string records and drops
 * the ones shorter than a configured length (a map and a filter in one).
 *
 *   cc -O2 -shared -fPIC -I../../include upper.c -o libupper.so
 *   flowlua upper.lua
 *
 * Config (from the script): "min=N" — records shorter than N bytes are
 * dropped. Each subtask gets its own instance from open(). */
#include "flowlua.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct upper {
  size_t min;
} upper_t;

static void *upper_open(const char *config, size_t len, int subtask, int parallelism, char *err, size_t errlen) {
  (void)len, (void)subtask, (void)parallelism;
  upper_t *u = calloc(1, sizeof(*u));
  if (u == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  const char *m = strstr(config, "min=");
  if (m != NULL) u->min = (size_t)strtoul(m + 4, NULL, 10);
  return u;
}

static int upper_process(void *self, const uint8_t *rec, size_t len, size_t count, flowlua_out_t *out, char *err,
                         size_t errlen) {
  (void)count;
  upper_t *u = self;
  const uint8_t *p = rec, *end = rec + len;
  char tmp[256];
  while (p < end) {
    flowlua_value_t v;
    p = flowlua_read(p, end, &v);
    if (p == NULL || (v.tag != FLOWLUA_SHORT_STRING && v.tag != FLOWLUA_LONG_STRING)) {
      snprintf(err, errlen, "upper expects string records");
      return -1;
    }
    if (v.len < u->min) continue; /* filtered out */
    char *s = v.len <= sizeof(tmp) ? tmp : malloc(v.len);
    if (s == NULL) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    for (size_t i = 0; i < v.len; i++) {
      char c = v.s[i];
      s[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    int rc = flowlua_put_string(out, s, v.len);
    if (s != tmp) free(s);
    if (rc != 0) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    flowlua_end_record(out);
  }
  return 0;
}

static void upper_close(void *self) { free(self); }

static const flowlua_operator_t upper_op = {FLOWLUA_ABI_VERSION, "upper", upper_open, upper_process, NULL,
                                            upper_close};

const flowlua_operator_t *upper_operator(void) { return &upper_op; }
