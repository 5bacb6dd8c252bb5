/* Output batches of C operators (include/flowlua.h): malloc'd, grown on
 * demand, owned by the task that created them. Called from Lua (FFI). */
#ifndef FLOW_RUNTIME_C_OPERATOR_H
#define FLOW_RUNTIME_C_OPERATOR_H

#include "flowlua.h"

flowlua_out_t *flow_out_new(size_t capacity);
void flow_out_free(flowlua_out_t *o);
int flow_out_grow(flowlua_out_t *o, size_t need);

#endif
