/* Records printed as Flink prints them, in C: the same text as
 * lua/flow/format.lua (tuples "(a,1,(b,2))", integral numbers without a
 * decimal point, other numbers as Java's Double.toString, null, true/false).
 * Used by print / write_as_text / the file sink on whole buffers. */
#ifndef FLOW_RUNTIME_TEXT_FORMAT_H
#define FLOW_RUNTIME_TEXT_FORMAT_H

#include "flowlua.h"

/* Formats consecutive records of p[0, len) as lines "<prefix><record>\n"
 * appended to out (raw text, not records). Timestamp prefixes are skipped.
 * Stops before anything it does not format — an in-band event (watermark,
 * idleness, barrier) or a record holding a Lua-encoded table — and returns
 * the bytes consumed; *records is the number of records formatted. */
size_t flow_format_lines(const uint8_t *p, size_t len, const char *prefix, size_t prefix_len, flowlua_out_t *out,
                         size_t *records);
/* Java's Double.toString of d into buf (at least 32 bytes); returns the length. */
int flow_format_double(double d, char *buf);

#endif
