#include "runtime/text_format.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/record_format.h"

#define MIN_NORMAL 2.2250738585072014e-308

/* Mirrors format.double in lua/flow/format.lua step by step. */
int flow_format_double(double d, char *out) {
  if (d != d) return sprintf(out, "NaN");
  if (isinf(d)) return sprintf(out, d > 0 ? "Infinity" : "-Infinity");
  if (d == 0) return sprintf(out, signbit(d) ? "-0.0" : "0.0");
  int neg = d < 0;
  if (neg) d = -d;
  char s[64];
  if (d < MIN_NORMAL) {
    for (int prec = 1; prec <= 16; prec++) {
      snprintf(s, sizeof(s), "%.*e", prec, d);
      if (strtod(s, NULL) == d) break;
    }
  } else {
    snprintf(s, sizeof(s), "%.14e", d);
    if (strtod(s, NULL) != d) {
      snprintf(s, sizeof(s), "%.15e", d);
      if (strtod(s, NULL) != d) snprintf(s, sizeof(s), "%.16e", d);
    }
  }
  char *e = strchr(s, 'e');
  int exp = atoi(e + 1);
  char digits[40];
  int nd = 0;
  digits[nd++] = s[0];
  for (char *q = s + 2; q < e; q++) digits[nd++] = *q;
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  int n = 0;
  if (neg) out[n++] = '-';
  if (d >= 1e-3 && d < 1e7) {
    if (exp >= 0) {
      int int_len = exp + 1;
      if (nd <= int_len) {
        memcpy(out + n, digits, (size_t)nd);
        n += nd;
        for (int i = nd; i < int_len; i++) out[n++] = '0';
        out[n++] = '.';
        out[n++] = '0';
      } else {
        memcpy(out + n, digits, (size_t)int_len);
        n += int_len;
        out[n++] = '.';
        memcpy(out + n, digits + int_len, (size_t)(nd - int_len));
        n += nd - int_len;
      }
    } else {
      out[n++] = '0';
      out[n++] = '.';
      for (int i = 0; i < -exp - 1; i++) out[n++] = '0';
      memcpy(out + n, digits, (size_t)nd);
      n += nd;
    }
  } else {
    out[n++] = digits[0];
    out[n++] = '.';
    if (nd > 1) {
      memcpy(out + n, digits + 1, (size_t)(nd - 1));
      n += nd - 1;
    } else {
      out[n++] = '0';
    }
    n += sprintf(out + n, "E%d", exp);
  }
  out[n] = '\0';
  return n;
}

static int put(flowlua_out_t *o, const void *s, size_t n) { return flowlua_put_raw(o, s, n); }

/* One value; returns the position after it, or NULL when it cannot be
 * formatted here (a Lua-encoded table, or malformed). */
static const uint8_t *value(const uint8_t *p, const uint8_t *end, flowlua_out_t *o) {
  flowlua_value_t v = {0};
  const uint8_t *q = flowlua_read(p, end, &v);
  if (q == NULL) return NULL;
  char num[64];
  int n;
  switch (v.tag) {
  case FLOWLUA_NIL: return put(o, "null", 4) == 0 ? q : NULL;
  case FLOWLUA_FALSE: return put(o, "false", 5) == 0 ? q : NULL;
  case FLOWLUA_TRUE: return put(o, "true", 4) == 0 ? q : NULL;
  case FLOWLUA_INT32:
  case FLOWLUA_INT64:
    n = snprintf(num, sizeof(num), "%lld", (long long)v.i);
    return put(o, num, (size_t)n) == 0 ? q : NULL;
  case FLOWLUA_DOUBLE:
    /* as format.number: integral values with |v| < 2^63 as integers */
    if (v.d == floor(v.d) && fabs(v.d) < 9223372036854775808.0)
      n = snprintf(num, sizeof(num), "%lld", (long long)v.d);
    else
      n = flow_format_double(v.d, num);
    return put(o, num, (size_t)n) == 0 ? q : NULL;
  case FLOWLUA_SHORT_STRING:
  case FLOWLUA_LONG_STRING: return put(o, v.s, v.len) == 0 ? q : NULL;
  case FLOWLUA_ARRAY:
    if (put(o, "(", 1) != 0) return NULL;
    for (uint32_t i = 0; i < v.n; i++) {
      if (i > 0 && put(o, ",", 1) != 0) return NULL;
      q = value(q, end, o);
      if (q == NULL) return NULL;
    }
    return put(o, ")", 1) == 0 ? q : NULL;
  default: return NULL; /* FLOWLUA_LUA: Lua formats it */
  }
}

size_t flow_format_lines(const uint8_t *p, size_t len, const char *prefix, size_t prefix_len, flowlua_out_t *out,
                         size_t *records) {
  const uint8_t *start = p, *end = p + len;
  *records = 0;
  while (p < end) {
    const uint8_t *rec = p;
    if (*rec == FLOW_TAG_TS) {
      if (end - rec < 9) break;
      rec += 9;
    } else if (*rec > FLOW_TAG_TS) {
      break; /* watermark, idleness, barrier: Lua handles it */
    }
    size_t mark = out->size;
    if (prefix_len > 0 && put(out, prefix, prefix_len) != 0) break;
    const uint8_t *next = value(rec, end, out);
    if (next == NULL || put(out, "\n", 1) != 0) {
      out->size = mark; /* not formatted here: leave the record to Lua */
      break;
    }
    (*records)++;
    p = next;
  }
  return (size_t)(p - start);
}
