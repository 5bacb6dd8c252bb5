#include "metrics/prometheus.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"
#include "util/strbuf.h"

typedef struct sample {
  char *name;
  char *labels; /* rendered: {a="x",b="y"} or "" */
  double value;
  size_t seq;   /* insertion order, for a stable sort */
} sample_t;

struct flow_prom {
  sample_t *s;
  size_t n, cap;
};

flow_prom_t *flow_prom_new(void) { return flow_xcalloc(1, sizeof(flow_prom_t)); }

void flow_prom_free(flow_prom_t *p) {
  if (p == NULL) return;
  for (size_t i = 0; i < p->n; i++) {
    free(p->s[i].name);
    free(p->s[i].labels);
  }
  free(p->s);
  free(p);
}

static int name_char(char c, int first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

static char *sanitize(const char *name) {
  size_t n = strlen(name);
  char *out = flow_xmalloc(n + 2);
  size_t k = 0;
  if (n == 0 || !name_char(name[0], 1)) out[k++] = '_';
  for (size_t i = 0; i < n; i++) out[k++] = name_char(name[i], 0) ? name[i] : '_';
  out[k] = '\0';
  return out;
}

void flow_prom_add(flow_prom_t *p, const char *name, const char *const (*labels)[2], int n, double value) {
  flow_strbuf_t b = {0};
  if (n > 0) {
    sb_printf(&b, "{");
    for (int i = 0; i < n && i < FLOW_PROM_MAX_LABELS; i++) {
      char *ln = sanitize(labels[i][0]);
      sb_printf(&b, "%s%s=\"", i > 0 ? "," : "", ln);
      free(ln);
      for (const char *c = labels[i][1] != NULL ? labels[i][1] : ""; *c != '\0'; c++) {
        if (*c == '\\') sb_printf(&b, "\\\\");
        else if (*c == '"') sb_printf(&b, "\\\"");
        else if (*c == '\n') sb_printf(&b, "\\n");
        else sb_printf(&b, "%c", *c);
      }
      sb_printf(&b, "\"");
    }
    sb_printf(&b, "}");
  }
  if (p->n == p->cap) {
    p->cap = p->cap ? p->cap * 2 : 64;
    p->s = flow_xrealloc(p->s, p->cap * sizeof(*p->s));
  }
  sample_t *s = &p->s[p->n];
  s->name = sanitize(name);
  s->labels = sb_take(&b);
  s->value = value;
  s->seq = p->n++;
}

static int by_name(const void *a, const void *b) {
  const sample_t *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c != 0) return c;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

char *flow_prom_render(flow_prom_t *p, size_t *len) {
  if (p->n > 1) qsort(p->s, p->n, sizeof(*p->s), by_name); /* (qsort wants a non-NULL base) */
  flow_strbuf_t b = {0};
  for (size_t i = 0; i < p->n; i++) {
    sample_t *s = &p->s[i];
    if (i == 0 || strcmp(s->name, p->s[i - 1].name) != 0)
      sb_printf(&b, "# HELP %s %s (scope: flowlua)\n# TYPE %s gauge\n", s->name, s->name, s->name);
    if (isnan(s->value)) sb_printf(&b, "%s%s NaN\n", s->name, s->labels);
    else if (isinf(s->value)) sb_printf(&b, "%s%s %s\n", s->name, s->labels, s->value > 0 ? "+Inf" : "-Inf");
    else if (s->value == floor(s->value) && fabs(s->value) < 1e15) sb_printf(&b, "%s%s %.1f\n", s->name, s->labels, s->value);
    else sb_printf(&b, "%s%s %.17g\n", s->name, s->labels, s->value);
  }
  char *out = sb_take(&b);
  *len = strlen(out);
  return out;
}
