/* Reads the lines of a byte range of a file straight into batches of
 * encoded string records (docs/record_format.md), for read_text_file
 * feeding a C operator: no Lua string per line. Same rules as the Lua
 * reader: a line belongs to the split in which it starts; "\r" before
 * "\n" is dropped; lines without "\n" at the end of the file count. */
#ifndef FLOW_RUNTIME_LINE_READER_H
#define FLOW_RUNTIME_LINE_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct flow_line_reader flow_line_reader_t;

/* Opens path for lines starting in [lo, hi); start_at >= 0 resumes there
 * (a restored position, at a line start). NULL with a message in err. */
flow_line_reader_t *flow_lines_open(const char *path, int64_t lo, int64_t hi, int64_t start_at, char *err,
                                    size_t errlen);
/* Fills out (cap bytes) with whole records; returns bytes written (0 at
 * the end), *count records, or FLOW_ENOMEM. A line longer than cap is
 * returned alone in *big (malloc'd; the caller frees it) with its size. */
int64_t flow_lines_next(flow_line_reader_t *r, uint8_t *out, size_t cap, size_t *count, uint8_t **big,
                        size_t *big_len);
/* Byte offset of the next line to read (the source's checkpoint position). */
int64_t flow_lines_position(flow_line_reader_t *r);
void flow_lines_close(flow_line_reader_t *r);

#endif
