#include "runtime/line_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/record_format.h"
#include "util/common.h"

#define READ_SIZE (256 * 1024)

struct flow_line_reader {
  int fd;
  int64_t pos;    /* file offset of buf[start] */
  int64_t hi;     /* lines starting at or after hi belong to the next split */
  uint8_t *buf;
  size_t start, end, cap; /* unread bytes are buf[start, end) */
  int eof;
};

flow_line_reader_t *flow_lines_open(const char *path, int64_t lo, int64_t hi, int64_t start_at, char *err,
                                    size_t errlen) {
  flow_line_reader_t *r = calloc(1, sizeof(*r));
  if (r == NULL) return NULL;
  r->fd = open(path, O_RDONLY | O_CLOEXEC);
  r->cap = READ_SIZE;
  r->buf = malloc(r->cap);
  if (r->fd < 0 || r->buf == NULL) {
    snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    if (r->fd >= 0) close(r->fd);
    free(r->buf);
    free(r);
    return NULL;
  }
  r->hi = hi;
  if (start_at >= 0) {
    r->pos = start_at;
  } else if (lo > 0) {
    /* skip the rest of a line that started before lo */
    r->pos = lo - 1;
    lseek(r->fd, r->pos, SEEK_SET);
    for (;;) {
      if (r->start == r->end) {
        ssize_t n = read(r->fd, r->buf, r->cap);
        if (n <= 0) {
          r->eof = 1;
          break;
        }
        r->start = 0;
        r->end = (size_t)n;
      }
      uint8_t c = r->buf[r->start++];
      r->pos++;
      if (c == '\n') break;
    }
    return r;
  }
  lseek(r->fd, r->pos, SEEK_SET);
  return r;
}

/* Makes buf[start, end) hold a whole line (or the file's last bytes);
 * returns the index of its '\n' or end when it has none. */
static size_t find_line(flow_line_reader_t *r) {
  for (;;) {
    uint8_t *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
    if (nl != NULL) return (size_t)(nl - r->buf);
    if (r->eof) return r->end;
    if (r->start > 0) { /* keep the partial line, read more after it */
      memmove(r->buf, r->buf + r->start, r->end - r->start);
      r->end -= r->start;
      r->start = 0;
    }
    if (r->end == r->cap) { /* a very long line */
      uint8_t *b = realloc(r->buf, r->cap * 2);
      if (b == NULL) return r->end;
      r->buf = b;
      r->cap *= 2;
    }
    ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
    if (n <= 0) r->eof = 1;
    else r->end += (size_t)n;
  }
}

static size_t header_len(size_t n) { return n < 256 ? 2 : 5; }

static void put_string(uint8_t *o, const uint8_t *s, size_t n) {
  if (n < 256) {
    o[0] = FLOW_TAG_SHORT_STRING;
    o[1] = (uint8_t)n;
    memcpy(o + 2, s, n);
  } else {
    uint32_t len = (uint32_t)n;
    o[0] = FLOW_TAG_LONG_STRING;
    memcpy(o + 1, &len, 4);
    memcpy(o + 5, s, n);
  }
}

int64_t flow_lines_next(flow_line_reader_t *r, uint8_t *out, size_t cap, size_t *count, uint8_t **big,
                        size_t *big_len) {
  size_t used = 0;
  *count = 0;
  *big = NULL;
  while (r->pos < r->hi) {
    size_t nl = find_line(r);
    if (nl == r->start && r->eof && r->start == r->end) break; /* nothing left */
    size_t n = nl - r->start;
    size_t advance = nl < r->end ? n + 1 : n;
    const uint8_t *s = r->buf + r->start;
    size_t len = n > 0 && s[n - 1] == '\r' ? n - 1 : n;
    size_t need = header_len(len) + len;
    if (need > cap) { /* alone, in a buffer of its own */
      if (used > 0) break;
      uint8_t *b = malloc(need);
      if (b == NULL) return FLOW_ENOMEM;
      put_string(b, s, len);
      *big = b;
      *big_len = need;
      *count = 1;
      r->start += advance;
      r->pos += (int64_t)advance;
      return 0;
    }
    if (used + need > cap) break;
    put_string(out + used, s, len);
    used += need;
    (*count)++;
    r->start += advance;
    r->pos += (int64_t)advance;
    if (advance == n && r->eof) break; /* the last line had no '\n' */
  }
  return (int64_t)used;
}

int64_t flow_lines_position(flow_line_reader_t *r) { return r->pos; }

void flow_lines_close(flow_line_reader_t *r) {
  if (r == NULL) return;
  close(r->fd);
  free(r->buf);
  free(r);
}
