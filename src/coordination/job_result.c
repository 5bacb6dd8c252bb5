#include "coordination/job_result.h"

#include <stdlib.h>

void flow_job_result_clear(flow_job_result_t *r) {
  free(r->failure);
  r->failure = NULL;
  flow_buffer_t *lists[2] = {r->collected, r->accumulators};
  for (int i = 0; i < 2; i++) {
    flow_buffer_t *b = lists[i];
    while (b != NULL) {
      flow_buffer_t *next = b->next;
      flow_buffer_free(b);
      b = next;
    }
  }
  r->collected = r->accumulators = NULL;
}
