#include "util/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *flow_strerror(int code) {
  switch (code) {
  case FLOW_OK: return "ok";
  case FLOW_ENOMEM: return "out of memory";
  case FLOW_EINVAL: return "invalid argument";
  case FLOW_ESTATE: return "illegal state transition";
  case FLOW_EGRAPH: return "invalid job graph";
  case FLOW_EIO: return "i/o error";
  case FLOW_ECANCELED: return "canceled";
  case FLOW_ELUA: return "lua error";
  case FLOW_EFULL: return "full";
  case FLOW_ETIMEDOUT: return "timed out";
  case FLOW_EBLOCKED: return "only blocked channels left";
  default: return "unknown error";
  }
}

static void oom(void) {
  fputs("flowlua: out of memory\n", stderr);
  abort();
}

char *flow_strdup(const char *s) {
  if (s == NULL) return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d != NULL) memcpy(d, s, n);
  return d;
}

char *flow_xmemdup(const void *p, size_t n) {
  if (p == NULL) return NULL;
  char *d = flow_xmalloc(n + 1);
  memcpy(d, p, n);
  d[n] = '\0';
  return d;
}

void *flow_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (p == NULL) oom();
  return p;
}

void *flow_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (p == NULL) oom();
  return p;
}

void *flow_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (q == NULL) oom();
  return q;
}
