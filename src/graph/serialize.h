/* StreamGraph <-> bytes, so a client can submit a job to a remote
 * jobmanager (cluster mode). The bytes are a frame payload (net/frame.h)
 * written with wire.h; the layout, versioned by its first byte, is in
 * docs/wire.md.
 * Plain data: no threads, no libuv, no Lua. */
#ifndef FLOW_GRAPH_SERIALIZE_H
#define FLOW_GRAPH_SERIALIZE_H

#include "util/wire.h"
#include "graph/stream_graph.h"

#include <stddef.h>

#define FLOW_SG_WIRE_VERSION 1

/* Appends the encoding of sg to w. sg must be finalized (FLOW_ESTATE
 * otherwise): the bytes describe a graph whose default partitioners and max
 * parallelisms are resolved. Returns 0 or w's sticky error (FLOW_ENOMEM,
 * FLOW_EFULL) or FLOW_EINVAL for a value the format cannot carry. */
int flow_sg_encode(const flow_stream_graph_t *sg, flow_wbuf_t *w);

/* Decodes untrusted bytes into a new, finalized graph (*out; NULL on error).
 * Every count, length, id and enum is checked before it is used, the whole
 * input must be consumed, and the result must pass flow_sg_finalize with the
 * partitioners it carried. Returns 0, FLOW_EINVAL (malformed bytes),
 * FLOW_EGRAPH (well-formed bytes, invalid graph) or FLOW_ENOMEM; on error err
 * (may be NULL) says what was wrong, for the log line. */
int flow_sg_decode(const void *data, size_t len, flow_stream_graph_t **out, char *err,
                   size_t errlen);

/* 1 when both graphs have the same job fields, nodes (every field, payload
 * bytes included) and edges in the same order; 0 otherwise. */
int flow_sg_equal(const flow_stream_graph_t *a, const flow_stream_graph_t *b);

#endif
