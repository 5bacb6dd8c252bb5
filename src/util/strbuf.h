/* Growable string used inside src/graph/ (private, not installed). */
#ifndef FLOW_GRAPH_STRBUF_H
#define FLOW_GRAPH_STRBUF_H

#include "util/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  char *s;
  size_t len, cap;
} flow_strbuf_t;

static inline void sb_reserve(flow_strbuf_t *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra + 1) cap *= 2;
  b->s = flow_xrealloc(b->s, cap);
  b->cap = cap;
}

static inline void sb_putn(flow_strbuf_t *b, const char *s, size_t n) {
  sb_reserve(b, n);
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static inline void sb_puts(flow_strbuf_t *b, const char *s) { sb_putn(b, s, strlen(s)); }

static inline void sb_putc(flow_strbuf_t *b, char c) { sb_putn(b, &c, 1); }

static inline void sb_printf(flow_strbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void sb_printf(flow_strbuf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n <= 0) return;
  sb_reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* Hands the string over (never NULL: an empty buffer yields ""). */
static inline char *sb_take(flow_strbuf_t *b) {
  sb_reserve(b, 0);
  b->s[b->len] = '\0'; /* (a buffer never written to was not terminated yet) */
  char *s = b->s;
  b->s = NULL;
  b->len = b->cap = 0;
  return s;
}

#endif
