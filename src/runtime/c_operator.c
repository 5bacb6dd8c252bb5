#include "runtime/c_operator.h"

#include <stdint.h>
#include <stdlib.h>

#include "util/common.h"

int flow_out_grow(flowlua_out_t *o, size_t need) {
  if (need > SIZE_MAX - o->size) return FLOW_ENOMEM;
  size_t want = o->size + need;
  size_t cap = o->capacity ? o->capacity : 4096;
  while (cap < want) {
    if (cap > SIZE_MAX / 2) return FLOW_ENOMEM; /* doubling would wrap */
    cap *= 2;
  }
  uint8_t *d = realloc(o->data, cap);
  if (d == NULL) return FLOW_ENOMEM;
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
