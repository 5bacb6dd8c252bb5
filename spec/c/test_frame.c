/* Wire frames (src/net/frame.h) and the payload writer/reader
 * (src/util/wire.h): round trips, frames split at every byte boundary, many frames
 * per chunk, malformed headers, truncated payload reads. */
#include "net/frame.h"
#include "util/common.h"
#include "util/wire.h"

#include "ctest_assert.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- collector --- */

#define MAX_GOT 4096

typedef struct {
  int n;
  uint8_t type[MAX_GOT];
  uint16_t flags[MAX_GOT];
  uint32_t len[MAX_GOT];
  uint32_t sum[MAX_GOT]; /* simple checksum of the payload */
  int stop_after;        /* return 1 once n reaches it (0: never) */
} got_t;

static uint32_t checksum(const uint8_t *p, uint32_t n) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

static int collect(void *ud, const flow_frame_t *f) {
  got_t *g = ud;
  if (g->n < MAX_GOT) {
    g->type[g->n] = f->type;
    g->flags[g->n] = f->flags;
    g->len[g->n] = f->len;
    g->sum[g->n] = checksum(f->payload, f->len);
    if (f->len > 0 && f->payload == NULL) g->sum[g->n] = 0xdeadu; /* must not happen */
  }
  g->n++;
  return g->stop_after && g->n >= g->stop_after ? 1 : 0;
}

/* Appends one frame with a payload of n bytes derived from seed. */
static void add_frame(flow_wbuf_t *w, uint8_t type, uint16_t flags, uint32_t n, uint32_t seed) {
  size_t at = flow_frame_begin(w, type, flags);
  for (uint32_t i = 0; i < n; i++) flow_wr_u8(w, (uint8_t)(seed + i * 7));
  CHECK_EQ_INT(flow_frame_finish(w, at), 0);
}

static uint32_t payload_sum(uint32_t n, uint32_t seed) {
  uint8_t *p = malloc(n ? n : 1);
  for (uint32_t i = 0; i < n; i++) p[i] = (uint8_t)(seed + i * 7);
  uint32_t s = checksum(p, n);
  free(p);
  return s;
}

/* A stream of three frames: one with a payload, an empty one, a longer one. */
static void three_frames(flow_wbuf_t *w) {
  flow_wbuf_init(w);
  add_frame(w, 7, 0x1234, 5, 1);
  add_frame(w, 1, 0, 0, 0);
  add_frame(w, 255, 0xffff, 300, 9);
}

static void check_three(const got_t *g) {
  CHECK_EQ_INT(g->n, 3);
  CHECK_EQ_INT(g->type[0], 7);
  CHECK_EQ_INT(g->flags[0], 0x1234);
  CHECK_EQ_INT(g->len[0], 5);
  CHECK_EQ_INT(g->sum[0], payload_sum(5, 1));
  CHECK_EQ_INT(g->type[1], 1);
  CHECK_EQ_INT(g->len[1], 0);
  CHECK_EQ_INT(g->type[2], 255);
  CHECK_EQ_INT(g->flags[2], 0xffff);
  CHECK_EQ_INT(g->len[2], 300);
  CHECK_EQ_INT(g->sum[2], payload_sum(300, 9));
}

/* -------------------------------------------------------------- tests --- */

static void test_header_layout(void) {
  CTEST_CASE("header layout");
  uint8_t h[FLOW_FRAME_HEADER_LEN];
  CHECK_EQ_INT(flow_frame_header(h, 3, 0x0102, 0x03020100), 0);
  const uint8_t want[] = {'F', 'L', 'W', '1', 1, 3, 0x02, 0x01, 0x00, 0x01, 0x02, 0x03};
  CHECK(memcmp(h, want, sizeof want) == 0);
  CHECK_EQ_INT(flow_frame_header(h, 0, 0, 0), FLOW_EINVAL);
  CHECK_EQ_INT(flow_frame_header(h, 1, 0, FLOW_FRAME_MAX), 0);
  CHECK_EQ_INT(flow_frame_header(h, 1, 0, FLOW_FRAME_MAX + 1), FLOW_EFULL);
}

static void test_whole_stream(void) {
  CTEST_CASE("whole stream in one chunk");
  flow_wbuf_t w;
  three_frames(&w);
  CHECK_EQ_INT(w.err, 0);
  CHECK_EQ_INT(w.len, 3 * FLOW_FRAME_HEADER_LEN + 5 + 0 + 300);
  flow_frame_decoder_t d;
  flow_frame_decoder_init(&d, 0);
  got_t g = {0};
  CHECK_EQ_INT(flow_frame_decoder_feed(&d, w.data, w.len, collect, &g), 0);
  check_three(&g);
  CHECK(flow_frame_decoder_idle(&d));
  CHECK_EQ_INT(d.frames, 3);
  flow_frame_decoder_free(&d);
  flow_wbuf_free(&w);
}

static void test_split_everywhere(void) {
  CTEST_CASE("split at every byte boundary");
  flow_wbuf_t w;
  three_frames(&w);
  /* two chunks, cut at every offset */
  for (size_t cut = 0; cut <= w.len; cut++) {
    flow_frame_decoder_t d;
    flow_frame_decoder_init(&d, 0);
    got_t g = {0};
    CHECK_EQ_INT(flow_frame_decoder_feed(&d, w.data, cut, collect, &g), 0);
    CHECK_EQ_INT(flow_frame_decoder_feed(&d, w.data + cut, w.len - cut, collect, &g), 0);
    check_three(&g);
    CHECK(flow_frame_decoder_idle(&d));
    flow_frame_decoder_free(&d);
  }
  /* one byte at a time, checking idle only between frames */
  flow_frame_decoder_t d;
  flow_frame_decoder_init(&d, 0);
  got_t g = {0};
  for (size_t i = 0; i < w.len; i++) {
    CHECK_EQ_INT(flow_frame_decoder_feed(&d, w.data + i, 1, collect, &g), 0);
    if (i + 1 < w.len && flow_frame_decoder_idle(&d)) CHECK(g.n >= 1);
  }
  check_three(&g);
  CHECK(flow_frame_decoder_idle(&d));
  flow_frame_decoder_free(&d);
  flow_wbuf_free(&w);
}

static void test_many_frames(void) {
  CTEST_CASE("many frames, random chunking");
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  for (uint32_t i = 0; i < 2000; i++) add_frame(&w, (uint8_t)(1 + i % 200), (uint16_t)i, i % 97, i);
  uint32_t rng = 12345;
  for (int round = 0; round < 20; round++) {
    flow_frame_decoder_t d;
    flow_frame_decoder_init(&d, 0);
    got_t g = {0};
    size_t pos = 0;
    while (pos < w.len) {
      rng = rng * 1103515245u + 12345u;
      size_t k = round == 0 ? w.len : (rng >> 8) % 700; /* round 0: one chunk */
      if (k > w.len - pos) k = w.len - pos;
      CHECK_EQ_INT(flow_frame_decoder_feed(&d, w.data + pos, k, collect, &g), 0);
      pos += k;
    }
    CHECK_EQ_INT(g.n, 2000);
    int ok = 1;
    for (uint32_t i = 0; i < 2000 && i < MAX_GOT; i++)
      ok &= g.type[i] == 1 + i % 200 && g.flags[i] == (uint16_t)i && g.len[i] == i % 97 &&
            g.sum[i] == payload_sum(i % 97, i);
    CHECK(ok);
    CHECK(flow_frame_decoder_idle(&d));
    flow_frame_decoder_free(&d);
  }
  flow_wbuf_free(&w);
}

/* Feeds a 12-byte header (then some payload) and expects error code want. */
static void expect_bad_header(const uint8_t *hdr, uint32_t max, int want, const char *reason) {
  flow_frame_decoder_t d;
  flow_frame_decoder_init(&d, max);
  got_t g = {0};
  uint8_t buf[FLOW_FRAME_HEADER_LEN + 8];
  memcpy(buf, hdr, FLOW_FRAME_HEADER_LEN);
  memset(buf + FLOW_FRAME_HEADER_LEN, 'x', 8);
  CHECK_EQ_INT(flow_frame_decoder_feed(&d, buf, sizeof buf, collect, &g), want);
  CHECK_EQ_INT(g.n, 0);
  CHECK_CONTAINS(flow_frame_decoder_reason(&d), reason);
  /* sticky: the connection is done, later bytes are refused too */
  CHECK_EQ_INT(flow_frame_decoder_feed(&d, buf, sizeof buf, collect, &g), want);
  CHECK(!flow_frame_decoder_idle(&d));
  flow_frame_decoder_free(&d);
}

static void test_bad_headers(void) {
  CTEST_CASE("bad headers");
  uint8_t h[FLOW_FRAME_HEADER_LEN];
  flow_frame_header(h, 1, 0, 8);
  h[0] = 'G'; /* "GET / HTTP/1.1" hitting the port */
  expect_bad_header(h, 0, FLOW_EINVAL, "magic");
  flow_frame_header(h, 1, 0, 8);
  h[4] = 2;
  expect_bad_header(h, 0, FLOW_EINVAL, "version");
  flow_frame_header(h, 1, 0, 8);
  h[5] = 0;
  expect_bad_header(h, 0, FLOW_EINVAL, "type 0");
  /* oversize: against a small limit and against the default one */
  flow_frame_header(h, 1, 0, 8);
  expect_bad_header(h, 7, FLOW_EFULL, "maximum");
  flow_frame_header(h, 1, 0, 8);
  h[8] = h[9] = h[10] = h[11] = 0xff; /* 4 GiB - 1 */
  expect_bad_header(h, 0, FLOW_EFULL, "maximum");
  flow_frame_header(h, 1, 0, FLOW_FRAME_MAX);
  h[8] = 1; /* FLOW_FRAME_MAX + 1 */
  expect_bad_header(h, 0, FLOW_EFULL, "maximum");

  /* a good frame, then garbage: the good frame is delivered, then the error */
  CTEST_CASE("good frame then garbage");
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  add_frame(&w, 2, 0, 3, 0);
  flow_wr_raw(&w, "garbage-garbage", 15);
  flow_frame_decoder_t d;
  flow_frame_decoder_init(&d, 0);
  got_t g = {0};
  CHECK_EQ_INT(flow_frame_decoder_feed(&d, w.data, w.len, collect, &g), FLOW_EINVAL);
  CHECK_EQ_INT(g.n, 1);
  flow_frame_decoder_free(&d);
  flow_wbuf_free(&w);
}

static void test_partial_and_stop(void) {
  CTEST_CASE("partial frame at end of stream");
  flow_wbuf_t w;
  three_frames(&w);
  flow_frame_decoder_t d;
  flow_frame_decoder_init(&d, 0);
  got_t g = {0};
  CHECK_EQ_INT(flow_frame_decoder_feed(&d, w.data, w.len - 1, collect, &g), 0);
  CHECK_EQ_INT(g.n, 2);
  CHECK(!flow_frame_decoder_idle(&d)); /* EOF now would be a truncated frame */
  flow_frame_decoder_free(&d);

  CTEST_CASE("callback stops the feed");
  flow_frame_decoder_init(&d, 0);
  got_t g2 = {0};
  g2.stop_after = 1;
  CHECK_EQ_INT(flow_frame_decoder_feed(&d, w.data, w.len, collect, &g2), 1);
  CHECK_EQ_INT(g2.n, 1);
  CHECK_EQ_INT(flow_frame_decoder_feed(&d, w.data, w.len, collect, &g2), 1);
  CHECK_EQ_INT(g2.n, 1);
  flow_frame_decoder_free(&d);
  flow_wbuf_free(&w);

  CTEST_CASE("a large frame fed in small pieces");
  flow_wbuf_init(&w);
  add_frame(&w, 9, 0, 3u << 20, 5); /* 3 MiB: buffer grows, then is released */
  flow_frame_decoder_init(&d, 0);
  got_t g3 = {0};
  for (size_t pos = 0; pos < w.len; pos += 65536) {
    size_t k = w.len - pos < 65536 ? w.len - pos : 65536;
    CHECK_EQ_INT(flow_frame_decoder_feed(&d, w.data + pos, k, collect, &g3), 0);
  }
  CHECK_EQ_INT(g3.n, 1);
  CHECK_EQ_INT(g3.sum[0], payload_sum(3u << 20, 5));
  CHECK_NULL(d.buf);
  flow_frame_decoder_free(&d);
  flow_wbuf_free(&w);
}

static void test_writer_reader(void) {
  CTEST_CASE("writer/reader round trip");
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_wr_u8(&w, 0xab);
  flow_wr_u16(&w, 0xbeef);
  flow_wr_u32(&w, 0xdeadbeefu);
  flow_wr_i32(&w, -42);
  flow_wr_i64(&w, INT64_MIN + 3);
  flow_wr_f64(&w, -1.5e300);
  flow_wr_bytes(&w, "a\0b", 3);
  flow_wr_str(&w, "héllo");
  flow_wr_str(&w, NULL);
  flow_wr_str(&w, "");
  CHECK_EQ_INT(w.err, 0);
  const uint8_t le[] = {0xab, 0xef, 0xbe, 0xef, 0xbe, 0xad, 0xde};
  CHECK(memcmp(w.data, le, sizeof le) == 0);

  flow_rbuf_t r;
  flow_rbuf_init(&r, w.data, w.len);
  uint8_t u8 = 0;
  uint16_t u16 = 0;
  uint32_t u32 = 0, n = 0;
  int32_t i32 = 0;
  int64_t i64 = 0;
  double f64 = 0;
  const uint8_t *b = NULL;
  char *s1 = NULL, *s2 = (char *)"x", *s3 = NULL;
  CHECK_EQ_INT(flow_rd_u8(&r, &u8), 0);
  CHECK_EQ_INT(u8, 0xab);
  CHECK_EQ_INT(flow_rd_u16(&r, &u16), 0);
  CHECK_EQ_INT(u16, 0xbeef);
  CHECK_EQ_INT(flow_rd_u32(&r, &u32), 0);
  CHECK_EQ_INT(u32, 0xdeadbeefu);
  CHECK_EQ_INT(flow_rd_i32(&r, &i32), 0);
  CHECK_EQ_INT(i32, -42);
  CHECK_EQ_INT(flow_rd_i64(&r, &i64), 0);
  CHECK(i64 == INT64_MIN + 3);
  CHECK_EQ_INT(flow_rd_f64(&r, &f64), 0);
  CHECK(f64 == -1.5e300);
  CHECK_EQ_INT(flow_rd_bytes(&r, &b, &n), 0);
  CHECK_EQ_INT(n, 3);
  CHECK(b != NULL && memcmp(b, "a\0b", 3) == 0);
  CHECK_EQ_INT(flow_rd_str(&r, &s1, 0), 0);
  CHECK_STR(s1, "héllo");
  CHECK_EQ_INT(flow_rd_str(&r, &s2, 1), 0);
  CHECK_NULL(s2);
  CHECK_EQ_INT(flow_rd_str(&r, &s3, 0), 0);
  CHECK_STR(s3, "");
  CHECK_EQ_INT(flow_rd_left(&r), 0);
  CHECK_EQ_INT(flow_rd_u8(&r, &u8), FLOW_EINVAL); /* past the end */
  CHECK_EQ_INT(r.err, FLOW_EINVAL);
  free(s1);
  free(s3);
  flow_wbuf_free(&w);
}

static void test_truncated_reads(void) {
  CTEST_CASE("truncated reads fail cleanly");
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_wr_u32(&w, 7);
  flow_wr_i64(&w, 8);
  flow_wr_str(&w, "twelve bytes");
  flow_wr_bytes(&w, "xyz", 3);
  /* every prefix shorter than the whole must fail somewhere, never overread
   * (ASan checks the reads: each prefix gets its own exact-size copy) */
  for (size_t cut = 0; cut < w.len; cut++) {
    uint8_t *copy = malloc(cut ? cut : 1);
    memcpy(copy, w.data, cut);
    flow_rbuf_t r;
    flow_rbuf_init(&r, copy, cut);
    uint32_t a = 0, n = 0;
    int64_t b = 0;
    char *s = NULL;
    const uint8_t *p = NULL;
    int rc = flow_rd_u32(&r, &a);
    if (rc == 0) rc = flow_rd_i64(&r, &b);
    if (rc == 0) rc = flow_rd_str(&r, &s, 0);
    if (rc == 0) rc = flow_rd_bytes(&r, &p, &n);
    CHECK_EQ_INT(rc, FLOW_EINVAL);
    CHECK(r.pos <= cut);
    free(s);
    free(copy);
  }

  CTEST_CASE("hostile length prefixes");
  uint8_t huge[] = {0xfe, 0xff, 0xff, 0xff, 'a'}; /* claims 4 GiB - 2 bytes */
  flow_rbuf_t r;
  const uint8_t *p = NULL;
  uint32_t n = 0;
  char *s = NULL;
  flow_rbuf_init(&r, huge, sizeof huge);
  CHECK_EQ_INT(flow_rd_bytes(&r, &p, &n), FLOW_EINVAL);
  CHECK_EQ_INT(r.pos, 0);
  flow_rbuf_init(&r, huge, sizeof huge);
  CHECK_EQ_INT(flow_rd_str(&r, &s, 1), FLOW_EINVAL);
  CHECK_NULL(s);
  uint8_t nul[] = {0xff, 0xff, 0xff, 0xff}; /* the NULL marker */
  flow_rbuf_init(&r, nul, sizeof nul);
  CHECK_EQ_INT(flow_rd_str(&r, &s, 0), FLOW_EINVAL); /* not allowed here */
  flow_rbuf_init(&r, nul, sizeof nul);
  CHECK_EQ_INT(flow_rd_bytes(&r, &p, &n), FLOW_EINVAL);
  uint8_t emb[] = {3, 0, 0, 0, 'a', 0, 'b'}; /* embedded NUL in a string */
  flow_rbuf_init(&r, emb, sizeof emb);
  CHECK_EQ_INT(flow_rd_str(&r, &s, 0), FLOW_EINVAL);
  CHECK_NULL(s);
  flow_rbuf_init(&r, NULL, 0);
  CHECK_EQ_INT(flow_rd_raw(&r, 0, &p), 0);
  CHECK_EQ_INT(flow_rd_raw(&r, 1, &p), FLOW_EINVAL);
  flow_wbuf_free(&w);
}

static void test_frame_writer_errors(void) {
  CTEST_CASE("frame writer errors");
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  size_t at = flow_frame_begin(&w, 0, 0); /* type 0 is reserved */
  CHECK_EQ_INT(flow_frame_finish(&w, at), FLOW_EINVAL);
  flow_wr_u8(&w, 1); /* sticky: no-op */
  CHECK_EQ_INT(w.len, 0);
  flow_wbuf_free(&w);
  flow_wbuf_init(&w);
  CHECK_EQ_INT(flow_frame_finish(&w, 0), FLOW_EINVAL); /* no header */
  flow_wbuf_free(&w);
  flow_wbuf_init(&w);
  flow_wr_raw(&w, "not a header at all", 19);
  CHECK_EQ_INT(flow_frame_finish(&w, 2), FLOW_EINVAL); /* no magic there */
  flow_wbuf_free(&w);
}

int main(void) {
  test_header_layout();
  test_whole_stream();
  test_split_everywhere();
  test_many_frames();
  test_bad_headers();
  test_partial_and_stop();
  test_writer_reader();
  test_truncated_reads();
  test_frame_writer_errors();
  return CTEST_SUMMARY();
}
