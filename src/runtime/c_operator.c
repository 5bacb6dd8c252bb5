#include "runtime/c_operator.h"

#include <stdint.h>
#include <stdlib.h>

int flow_out_grow(flowlua_out_t *o, size_t need) {
  if (need > SIZE_MAX - o->size) return -1;
  size_t want = o->size + need;
  size_t cap = o->capacity ? o->capacity : 4096;
  while (cap < want) {
    if (cap > SIZE_MAX / 2) return -1; /* doubling would wrap */
    cap *= 2;
  }
  uint8_t *d = realloc(o->data, cap);
  if (d == NULL) return -1;
  o->data = d;
  o->capacity = cap;
  return 0;
}

flowlua_out_t *flow_out_new(size_t capacity) {
  flowlua_out_t *o = calloc(1, sizeof(*o));
  if (o == NULL) return NULL;
  o->grow = flow_out_grow;
  if (capacity > 0 && flow_out_grow(o, capacity) != 0) {
    free(o);
    return NULL;
  }
  return o;
}

void flow_out_free(flowlua_out_t *o) {
  if (o == NULL) return;
  free(o->data);
  free(o);
}
