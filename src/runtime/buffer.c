#include "runtime/buffer.h"

#include <stdlib.h>
#include <string.h>

flow_buffer_t *flow_buffer_new(uint32_t capacity) {
  if (capacity == 0) capacity = FLOW_BUFFER_SIZE;
  flow_buffer_t *b = malloc(sizeof(*b) + capacity);
  if (b == NULL) return NULL;
  b->next = b->prev = NULL;
  b->data = (uint8_t *)(b + 1);
  b->size = 0;
  b->capacity = capacity;
  b->kind = FLOW_BUF_DATA;
  b->channel = -1;
  return b;
}

void flow_buffer_free(flow_buffer_t *b) { free(b); }

flow_buffer_t *flow_buffer_from(const void *bytes, size_t n) {
  flow_buffer_t *b = flow_buffer_new(n > 0 ? (uint32_t)n : 1);
  if (b == NULL) return NULL;
  memcpy(b->data, bytes, n);
  b->size = (uint32_t)n;
  return b;
}
