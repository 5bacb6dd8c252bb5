/* TCP transport (src/net/transport.h): one libuv loop, a server and
 * clients on 127.0.0.1 with an ephemeral port, everything driven by uv_run
 * under a watchdog timer (a bug fails a check instead of hanging).
 *
 * Cases: handshake + 1000 frames in order both directions; a frame split
 * across many writes; hostile clients (garbage bytes, a non-handshake first
 * frame, a bad protocol version, an oversized length, a truncated frame then
 * disconnect, a silent peer) each close only their connection with one log
 * line while the server keeps serving good clients; the outgoing queue limit
 * returns FLOW_EFULL and on_drain follows; connection refused. */
#include "net/frame.h"
#include "net/transport.h"
#include "util/common.h"
#include "util/wire.h"

#include "ctest_assert.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

/* application types start at FLOW_TRANSPORT_TYPE_APP_MIN (16) */
#define T_DATA 40  /* numbered data frame: u32 seq + filler */
#define T_ECHO 41  /* server answers with T_REPLY, same payload */
#define T_REPLY 42
#define T_BAD 43   /* the server's handler refuses it with flow_transport_fail */
#define N_FRAMES 1000

static uv_loop_t *loop;
static uv_timer_t watchdog;
static int timed_out;

/* ------------------------------------------------------------- shared --- */

static uint32_t checksum(const uint8_t *p, uint32_t n) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

/* Payload of data frame seq: u32 seq then (seq * 37) % 2000 filler bytes. */
static uint32_t data_len(uint32_t seq) { return 4 + (seq * 37u) % 2000u; }
static void data_fill(uint8_t *p, uint32_t seq) {
  uint32_t n = data_len(seq);
  p[0] = (uint8_t)seq;
  p[1] = (uint8_t)(seq >> 8);
  p[2] = (uint8_t)(seq >> 16);
  p[3] = (uint8_t)(seq >> 24);
  for (uint32_t i = 4; i < n; i++) p[i] = (uint8_t)(seq * 13u + i);
}
static int data_ok(const uint8_t *p, uint32_t len, uint32_t seq) {
  static uint8_t want[4 + 2000];
  if (len != data_len(seq) || p == NULL) return 0;
  data_fill(want, seq);
  return memcmp(p, want, len) == 0;
}

typedef struct {
  int frames;        /* data frames received */
  int bad;           /* data frames out of order or corrupt */
  int replies;       /* T_REPLY frames received */
  uint32_t last_sum; /* checksum of the last non-data frame */
  uint32_t last_len;
} rx_t;

static void rx_frame(rx_t *rx, uint8_t type, const uint8_t *p, uint32_t len) {
  if (type == T_DATA) {
    if (!data_ok(p, len, (uint32_t)rx->frames)) rx->bad++;
    rx->frames++;
  } else {
    if (type == T_REPLY) rx->replies++;
    rx->last_sum = len ? checksum(p, len) : 0;
    rx->last_len = len;
  }
}

/* ------------------------------------------------------------- server --- */

static struct {
  flow_transport_server_t *srv;
  int opened, closed;
  char last_reason[256];
  int burst;             /* data frames each new connection sends on open */
  char peer_name[64];
  int peer_role;
  rx_t rx;
} S;

static void srv_open(flow_transport_conn_t *c) {
  S.opened++;
  snprintf(S.peer_name, sizeof S.peer_name, "%s", flow_transport_peer_name(c));
  S.peer_role = flow_transport_peer_role(c);
  memset(&S.rx, 0, sizeof S.rx);
  static uint8_t buf[4 + 2000];
  for (int i = 0; i < S.burst; i++) {
    data_fill(buf, (uint32_t)i);
    int rc = flow_transport_send(c, T_DATA, buf, data_len((uint32_t)i));
    if (rc != 0) {
      CHECK_EQ_INT(rc, 0);
      break;
    }
  }
}

static void srv_frame(flow_transport_conn_t *c, uint8_t type, const uint8_t *p, uint32_t len) {
  rx_frame(&S.rx, type, p, len);
  if (type == T_ECHO) CHECK_EQ_INT(flow_transport_send(c, T_REPLY, p, len), 0);
  if (type == T_BAD) {
    flow_transport_fail(c, "payload does not parse");
    CHECK_EQ_INT(flow_transport_send(c, T_REPLY, p, len), FLOW_ESTATE);
  }
}

static void srv_close(flow_transport_conn_t *c, const char *reason) {
  (void)c;
  S.closed++;
  snprintf(S.last_reason, sizeof S.last_reason, "%s", reason);
}

/* ------------------------------------------------------------- client --- */

typedef struct {
  flow_transport_conn_t *c;
  int opened, closed, drained;
  char reason[256];
  rx_t rx;
} client_t;

static void cli_open(flow_transport_conn_t *c) { ((client_t *)flow_transport_conn_data(c))->opened++; }
static void cli_frame(flow_transport_conn_t *c, uint8_t type, const uint8_t *p, uint32_t len) {
  rx_frame(&((client_t *)flow_transport_conn_data(c))->rx, type, p, len);
}
static void cli_drain(flow_transport_conn_t *c) { ((client_t *)flow_transport_conn_data(c))->drained++; }
static void cli_close(flow_transport_conn_t *c, const char *reason) {
  client_t *k = flow_transport_conn_data(c);
  k->closed++;
  k->c = NULL;
  snprintf(k->reason, sizeof k->reason, "%s", reason);
}

static flow_transport_opts_t client_opts(client_t *k, const char *name) {
  flow_transport_opts_t o = {0};
  o.role = FLOW_TRANSPORT_ROLE_TASKMANAGER;
  o.name = name;
  o.on_open = cli_open;
  o.on_frame = cli_frame;
  o.on_drain = cli_drain;
  o.on_close = cli_close;
  o.data = k;
  return o;
}

/* ------------------------------------------------------------ driving --- */

static void on_watchdog(uv_timer_t *t) {
  (void)t;
  timed_out = 1;
}

/* Runs the loop until pred() holds or ms pass. Returns pred(). */
static int run_until(int (*pred)(void), unsigned ms, const char *what) {
  timed_out = 0;
  uv_timer_start(&watchdog, on_watchdog, ms, 0);
  while (!pred() && !timed_out) uv_run(loop, UV_RUN_ONCE);
  uv_timer_stop(&watchdog);
  if (!pred()) printf("watchdog: timed out waiting for %s\n", what);
  return pred();
}

static client_t *cur;  /* the client the predicates look at */
static int want_srv_closed;
static int want_frames;

static int p_client_open(void) { return cur->opened > 0 || cur->closed > 0; }
static int p_client_closed(void) { return cur->closed > 0; }
static int p_both_closed(void) { return cur->closed > 0 && S.closed >= want_srv_closed; }
static int p_srv_closed(void) { return S.closed >= want_srv_closed; }
static int p_burst_done(void) {
  return (S.rx.frames >= want_frames && cur->rx.frames >= want_frames) || cur->closed;
}
static int p_srv_frames(void) { return S.rx.frames >= want_frames || cur->closed; }
static int p_drained(void) { return cur->drained > 0 || cur->closed; }
static int p_reply(void) { return cur->rx.replies > 0 || cur->closed; }
static int p_srv_got_echo(void) { return S.rx.last_len > 0 || S.closed >= want_srv_closed; }

/* A good client: handshake, one echo round trip, graceful close. */
static void good_client_roundtrip(const char *tag) {
  client_t k = {0};
  flow_transport_opts_t o = client_opts(&k, "good");
  cur = &k;
  int before = S.closed;
  CHECK_EQ_INT(flow_transport_connect(loop, "127.0.0.1", flow_transport_server_port(S.srv), &o, &k.c), 0);
  const char msg[] = "ping after a bad client";
  CHECK_EQ_INT(flow_transport_send(k.c, T_ECHO, msg, sizeof msg), 0); /* queued behind the hello */
  CHECK(run_until(p_reply, 5000, tag));
  CHECK_EQ_INT(k.rx.replies, 1);
  CHECK_EQ_INT(k.rx.last_sum, checksum((const uint8_t *)msg, sizeof msg));
  CHECK_EQ_INT(k.closed, 0);
  flow_transport_close(k.c);
  want_srv_closed = before + 1;
  CHECK(run_until(p_both_closed, 5000, tag));
  CHECK_STR(k.reason, "closed locally");
  CHECK_STR(S.last_reason, "peer closed the connection");
}

/* ------------------------------------------------- raw (hostile) peer --- */

typedef struct {
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_shutdown_t sreq;
  uv_timer_t tick;
  flow_wbuf_t bytes;  /* everything to send */
  size_t sent;
  size_t chunk;       /* 0: all at once; else chunks of 1..chunk bytes, one per tick */
  int shutdown_after; /* send FIN after the last byte */
  int closed;         /* both handles closed */
  int handles;
  int eof;            /* the server closed on us */
} raw_t;

static char rbuf_sink[65536];
static void raw_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  (void)h;
  (void)s;
  *b = uv_buf_init(rbuf_sink, sizeof rbuf_sink);
}
static void raw_handle_closed(uv_handle_t *h) {
  raw_t *r = h->data;
  if (--r->handles == 0) r->closed = 1;
}
static void raw_close(raw_t *r) {
  if (!uv_is_closing((uv_handle_t *)&r->tcp)) {
    uv_close((uv_handle_t *)&r->tcp, raw_handle_closed);
    uv_close((uv_handle_t *)&r->tick, raw_handle_closed);
  }
}
static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  raw_t *r = s->data;
  if (n < 0) {
    r->eof = 1;
    raw_close(r);
  }
}
static void raw_written(uv_write_t *w, int status) {
  (void)status;
  free(w);
}
static void raw_shutdown_cb(uv_shutdown_t *req, int status) {
  (void)req;
  (void)status;
}
static void raw_write_some(raw_t *r, size_t n) {
  if (uv_is_closing((uv_handle_t *)&r->tcp) || n == 0) return;
  uv_write_t *w = malloc(sizeof *w);
  uv_buf_t b = uv_buf_init((char *)r->bytes.data + r->sent, (unsigned)n);
  r->sent += n;
  if (uv_write(w, (uv_stream_t *)&r->tcp, &b, 1, raw_written) != 0) free(w);
  if (r->sent == r->bytes.len) {
    uv_timer_stop(&r->tick);
    if (r->shutdown_after) uv_shutdown(&r->sreq, (uv_stream_t *)&r->tcp, raw_shutdown_cb);
  }
}
static void raw_tick(uv_timer_t *t) {
  raw_t *r = t->data;
  size_t n = 1 + (r->sent * 7) % r->chunk; /* 1..chunk bytes */
  if (r->sent < 12) n = 1;                 /* the first header byte by byte */
  if (n > r->bytes.len - r->sent) n = r->bytes.len - r->sent;
  raw_write_some(r, n);
}
static void raw_connected(uv_connect_t *req, int status) {
  raw_t *r = req->data;
  if (status < 0) {
    raw_close(r);
    return;
  }
  uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read);
  if (r->chunk == 0) raw_write_some(r, r->bytes.len);
  else uv_timer_start(&r->tick, raw_tick, 1, 1);
}
static void raw_start(raw_t *r) {
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", flow_transport_server_port(S.srv), &a);
  uv_tcp_init(loop, &r->tcp);
  uv_timer_init(loop, &r->tick);
  r->handles = 2;
  r->tcp.data = r->tick.data = r->creq.data = r;
  uv_tcp_connect(&r->creq, &r->tcp, (const struct sockaddr *)&a, raw_connected);
}

static void put_hello(flow_wbuf_t *w, uint8_t role, uint32_t version, const char *name) {
  size_t at = flow_frame_begin(w, FLOW_TRANSPORT_HELLO, 0);
  flow_wr_u8(w, role);
  flow_wr_u32(w, version);
  flow_wr_str(w, name);
  flow_wr_u8(w, 0);                           /* flags: no authentication */
  for (int i = 0; i < 32; i++) flow_wr_u8(w, 0); /* nonce */
  CHECK_EQ_INT(flow_frame_finish(w, at), 0);
}

static raw_t *cur_raw;
static int p_raw_done(void) { return cur_raw->closed && S.closed >= want_srv_closed; }

/* Runs a raw peer whose bytes the server must refuse, then checks that only
 * that connection closed, with `reason`, and that a good client still works. */
static void hostile(const char *tag, raw_t *r, const char *reason) {
  CTEST_CASE(tag);
  int before_open = flow_transport_server_connections(S.srv);
  want_srv_closed = S.closed + 1;
  cur_raw = r;
  raw_start(r);
  if (!r->shutdown_after) {
    /* the server closes on us */
    CHECK(run_until(p_raw_done, 5000, tag));
  } else {
    CHECK(run_until(p_srv_closed, 5000, tag));
    raw_close(r);
    CHECK(run_until(p_raw_done, 5000, tag));
  }
  CHECK_CONTAINS(S.last_reason, reason);
  CHECK_EQ_INT(flow_transport_server_connections(S.srv), before_open);
  flow_wbuf_free(&r->bytes);
  good_client_roundtrip(tag);
}

/* ---------------------------------------------------------- the tests --- */

static void test_bidirectional(void) {
  CTEST_CASE("1000 frames both ways");
  client_t k = {0};
  flow_transport_opts_t o = client_opts(&k, "tm-1");
  cur = &k;
  S.burst = N_FRAMES;
  CHECK_EQ_INT(flow_transport_connect(loop, NULL, flow_transport_server_port(S.srv), &o, &k.c), 0);
  CHECK(run_until(p_client_open, 5000, "client handshake"));
  CHECK_EQ_INT(k.opened, 1);
  CHECK(flow_transport_is_open(k.c));
  CHECK_STR(flow_transport_peer_name(k.c), "jm");
  CHECK_EQ_INT(flow_transport_peer_role(k.c), FLOW_TRANSPORT_ROLE_JOBMANAGER);
  static uint8_t buf[4 + 2000];
  int sent = 0;
  for (uint32_t i = 0; i < N_FRAMES; i++) {
    data_fill(buf, i);
    if (flow_transport_send(k.c, T_DATA, buf, data_len(i)) == 0) sent++;
  }
  CHECK_EQ_INT(sent, N_FRAMES);
  want_frames = N_FRAMES;
  CHECK(run_until(p_burst_done, 10000, "1000 frames both ways"));
  S.burst = 0;
  CHECK_STR(S.peer_name, "tm-1");
  CHECK_EQ_INT(S.peer_role, FLOW_TRANSPORT_ROLE_TASKMANAGER);
  CHECK_EQ_INT(S.rx.frames, N_FRAMES);
  CHECK_EQ_INT(S.rx.bad, 0);
  CHECK_EQ_INT(k.rx.frames, N_FRAMES);
  CHECK_EQ_INT(k.rx.bad, 0);
  CHECK_EQ_INT(flow_transport_server_connections(S.srv), 1);
  /* a frame of length 0 and the reserved types */
  CHECK_EQ_INT(flow_transport_send(k.c, T_ECHO, NULL, 0), 0);
  CHECK_EQ_INT(flow_transport_send(k.c, 0, "x", 1), FLOW_EINVAL);
  CHECK_EQ_INT(flow_transport_send(k.c, FLOW_TRANSPORT_HELLO, "x", 1), FLOW_EINVAL);
  CHECK_EQ_INT(flow_transport_send(k.c, FLOW_TRANSPORT_AUTH, "x", 1), FLOW_EINVAL);
  CHECK_EQ_INT(flow_transport_send(k.c, FLOW_TRANSPORT_REJECT, "x", 1), FLOW_EINVAL);
  CHECK_EQ_INT(flow_transport_send(k.c, FLOW_TRANSPORT_TYPE_APP_MIN - 1, "x", 1), FLOW_EINVAL);
  CHECK(run_until(p_reply, 5000, "empty echo"));
  CHECK_EQ_INT(k.rx.last_len, 0);
  want_srv_closed = S.closed + 1;
  flow_transport_close(k.c);
  CHECK(run_until(p_both_closed, 5000, "close"));
  CHECK_STR(k.reason, "closed locally");
  CHECK_STR(S.last_reason, "peer closed the connection");
}

static void test_split(void) {
  CTEST_CASE("split frame");
  raw_t r = {0};
  flow_wbuf_init(&r.bytes);
  put_hello(&r.bytes, FLOW_TRANSPORT_ROLE_CLIENT, FLOW_TRANSPORT_PROTOCOL_VERSION, "split");
  size_t at = flow_frame_begin(&r.bytes, T_ECHO, 0);
  uint8_t payload[3000];
  for (int i = 0; i < 3000; i++) payload[i] = (uint8_t)(i * 31 + 7);
  flow_wr_raw(&r.bytes, payload, sizeof payload);
  CHECK_EQ_INT(flow_frame_finish(&r.bytes, at), 0);
  r.chunk = 97; /* about 80 writes, one per millisecond tick */
  r.shutdown_after = 1;
  memset(&S.rx, 0, sizeof S.rx);
  want_srv_closed = S.closed + 1;
  cur_raw = &r;
  raw_start(&r);
  CHECK(run_until(p_srv_got_echo, 10000, "split frame"));
  CHECK_EQ_INT(S.rx.last_len, sizeof payload);
  CHECK_EQ_INT(S.rx.last_sum, checksum(payload, sizeof payload));
  CHECK_STR(S.peer_name, "split");
  CHECK(run_until(p_raw_done, 5000, "split close")); /* FIN after the last byte */
  CHECK_STR(S.last_reason, "peer closed the connection");
  flow_wbuf_free(&r.bytes);
}

static void test_hostile(void) {
  raw_t r;

  memset(&r, 0, sizeof r);
  flow_wbuf_init(&r.bytes);
  flow_wr_raw(&r.bytes, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
  hostile("garbage bytes", &r, "bad frame magic");

  memset(&r, 0, sizeof r);
  flow_wbuf_init(&r.bytes);
  size_t at = flow_frame_begin(&r.bytes, T_DATA, 0);
  flow_wr_u32(&r.bytes, 0);
  flow_frame_finish(&r.bytes, at);
  hostile("data before the handshake", &r, "expected a handshake frame (type 1) first, got frame type 40");

  memset(&r, 0, sizeof r);
  flow_wbuf_init(&r.bytes);
  put_hello(&r.bytes, FLOW_TRANSPORT_ROLE_TASKMANAGER, 99, "future");
  hostile("bad version", &r, "protocol version mismatch: the peer speaks version 99");

  memset(&r, 0, sizeof r);
  flow_wbuf_init(&r.bytes);
  put_hello(&r.bytes, 77, FLOW_TRANSPORT_PROTOCOL_VERSION, "who");
  hostile("bad role", &r, "unknown role 77");

  memset(&r, 0, sizeof r);
  flow_wbuf_init(&r.bytes);
  at = flow_frame_begin(&r.bytes, FLOW_TRANSPORT_HELLO, 0);
  flow_wr_u8(&r.bytes, FLOW_TRANSPORT_ROLE_CLIENT);
  flow_wr_u32(&r.bytes, FLOW_TRANSPORT_PROTOCOL_VERSION);
  flow_wr_u32(&r.bytes, 500); /* name length past the end */
  flow_frame_finish(&r.bytes, at);
  hostile("malformed handshake", &r, "malformed handshake");

  memset(&r, 0, sizeof r);
  flow_wbuf_init(&r.bytes);
  uint8_t hdr[FLOW_FRAME_HEADER_LEN];
  flow_frame_header(hdr, FLOW_TRANSPORT_HELLO, 0, 5000);
  flow_wr_raw(&r.bytes, hdr, sizeof hdr);
  hostile("oversized hello", &r, "5000 bytes announced, limit 1024 before the handshake");

  memset(&r, 0, sizeof r);
  flow_wbuf_init(&r.bytes);
  put_hello(&r.bytes, FLOW_TRANSPORT_ROLE_CLIENT, FLOW_TRANSPORT_PROTOCOL_VERSION, "big");
  memcpy(hdr, "FLW1", 4);
  hdr[4] = FLOW_FRAME_VERSION;
  hdr[5] = T_DATA;
  hdr[6] = hdr[7] = 0;
  hdr[8] = hdr[9] = hdr[10] = hdr[11] = 0xff; /* 4 GiB - 1 */
  flow_wr_raw(&r.bytes, hdr, sizeof hdr);
  hostile("oversized length", &r, "frame larger than the maximum frame size (4294967295 bytes announced, limit 1048576)");

  memset(&r, 0, sizeof r);
  flow_wbuf_init(&r.bytes);
  put_hello(&r.bytes, FLOW_TRANSPORT_ROLE_CLIENT, FLOW_TRANSPORT_PROTOCOL_VERSION, "trunc");
  flow_frame_header(hdr, T_DATA, 0, 100);
  flow_wr_raw(&r.bytes, hdr, sizeof hdr);
  flow_wr_raw(&r.bytes, "0123456789", 10);
  r.shutdown_after = 1;
  hostile("truncated frame", &r, "truncated frame: the peer disconnected after 10 of 100 payload bytes");

  memset(&r, 0, sizeof r);
  flow_wbuf_init(&r.bytes);
  put_hello(&r.bytes, FLOW_TRANSPORT_ROLE_CLIENT, FLOW_TRANSPORT_PROTOCOL_VERSION, "trunc-hdr");
  flow_wr_raw(&r.bytes, "FLW1\x01", 5);
  r.shutdown_after = 1;
  hostile("truncated header", &r, "inside a frame header (5 of 12 bytes)");

  memset(&r, 0, sizeof r);
  flow_wbuf_init(&r.bytes);
  put_hello(&r.bytes, FLOW_TRANSPORT_ROLE_CLIENT, FLOW_TRANSPORT_PROTOCOL_VERSION, "twice");
  put_hello(&r.bytes, FLOW_TRANSPORT_ROLE_CLIENT, FLOW_TRANSPORT_PROTOCOL_VERSION, "twice");
  hostile("second handshake", &r, "a second handshake frame");

  /* a peer that connects and says nothing: the handshake deadline (200 ms here) */
  memset(&r, 0, sizeof r);
  flow_wbuf_init(&r.bytes);
  hostile("silent peer", &r, "handshake timed out");
}

/* A higher layer refuses a payload from inside on_frame: the frames behind it
 * in the same read are not delivered, the connection closes with a log line. */
static void test_handler_fail(void) {
  CTEST_CASE("handler fail");
  client_t k = {0};
  flow_transport_opts_t o = client_opts(&k, "bad-payload");
  cur = &k;
  memset(&S.rx, 0, sizeof S.rx);
  CHECK_EQ_INT(flow_transport_connect(loop, NULL, flow_transport_server_port(S.srv), &o, &k.c), 0);
  CHECK_EQ_INT(flow_transport_send(k.c, T_BAD, "??", 2), 0);
  CHECK_EQ_INT(flow_transport_send(k.c, T_ECHO, "after", 5), 0);
  want_srv_closed = S.closed + 1;
  CHECK(run_until(p_both_closed, 5000, "handler fail"));
  CHECK_STR(S.last_reason, "payload does not parse");
  CHECK_EQ_INT(k.rx.replies, 0);
  CHECK_EQ_INT(S.rx.last_len, 2); /* the echo behind it was not delivered */
  good_client_roundtrip("handler fail");
}

static void test_queue_limit(void) {
  CTEST_CASE("queue limit");
  client_t k = {0};
  flow_transport_opts_t o = client_opts(&k, "pusher");
  o.max_queued = 16 * 1024;
  cur = &k;
  CHECK_EQ_INT(flow_transport_connect(loop, "127.0.0.1", flow_transport_server_port(S.srv), &o, &k.c), 0);
  CHECK(run_until(p_client_open, 5000, "queue client handshake"));
  static uint8_t buf[4 + 2000];
  /* The loop does not run while we send: nothing completes, the queue fills. */
  uint32_t n = 0;
  int rc = 0;
  for (; n < 1000; n++) {
    data_fill(buf, n);
    rc = flow_transport_send(k.c, T_DATA, buf, data_len(n));
    if (rc != 0) break;
  }
  CHECK_EQ_INT(rc, FLOW_EFULL);
  CHECK(n >= 10 && n < 100);
  CHECK(flow_transport_queued(k.c) <= 16 * 1024);
  CHECK(flow_transport_queued(k.c) + FLOW_FRAME_HEADER_LEN + data_len(n) > 16 * 1024);
  data_fill(buf, n);
  CHECK_EQ_INT(flow_transport_send(k.c, T_DATA, buf, data_len(n)), FLOW_EFULL); /* still full */
  CHECK(run_until(p_drained, 5000, "drain"));
  CHECK_EQ_INT(k.drained, 1);
  CHECK(flow_transport_queued(k.c) <= 8 * 1024);
  /* backpressure honoured: go on from frame n, resending on EFULL after a drain */
  uint32_t total = 200;
  while (n < total && k.closed == 0) {
    data_fill(buf, n);
    rc = flow_transport_send(k.c, T_DATA, buf, data_len(n));
    if (rc == 0) {
      n++;
    } else {
      CHECK_EQ_INT(rc, FLOW_EFULL);
      k.drained = 0;
      if (!run_until(p_drained, 5000, "drain again")) break;
    }
  }
  want_frames = (int)total;
  CHECK(run_until(p_srv_frames, 5000, "queued frames arrive"));
  CHECK_EQ_INT(S.rx.frames, (int)total);
  CHECK_EQ_INT(S.rx.bad, 0);
  /* a graceful close flushes what is queued */
  for (uint32_t i = 0; i < 5; i++) {
    data_fill(buf, total + i);
    CHECK_EQ_INT(flow_transport_send(k.c, T_DATA, buf, data_len(total + i)), 0);
  }
  want_srv_closed = S.closed + 1;
  flow_transport_close(k.c);
  CHECK(run_until(p_both_closed, 5000, "close after flush"));
  CHECK_EQ_INT(S.rx.frames, (int)total + 5);
  CHECK_STR(S.last_reason, "peer closed the connection");
}

static void test_refused(void) {
  CTEST_CASE("connection refused");
  /* a port nobody listens on: bind an ephemeral one, then close it */
  flow_transport_opts_t so = {.role = FLOW_TRANSPORT_ROLE_JOBMANAGER, .name = "tmp"};
  flow_transport_server_t *tmp = NULL;
  CHECK_EQ_INT(flow_transport_listen(loop, "127.0.0.1", 0, &so, &tmp), 0);
  int port = flow_transport_server_port(tmp);
  CHECK(port > 0);
  flow_transport_server_close(tmp);
  client_t k = {0};
  flow_transport_opts_t o = client_opts(&k, "lost");
  cur = &k;
  CHECK_EQ_INT(flow_transport_connect(loop, "127.0.0.1", port, &o, &k.c), 0);
  CHECK(run_until(p_client_closed, 5000, "refused"));
  CHECK_EQ_INT(k.opened, 0);
  CHECK_CONTAINS(k.reason, "connect failed");
  /* argument errors */
  flow_transport_conn_t *c = NULL;
  CHECK_EQ_INT(flow_transport_connect(loop, "not-an-address", port, &o, &c), FLOW_EINVAL);
  CHECK_EQ_INT(flow_transport_connect(loop, "127.0.0.1", 0, &o, &c), FLOW_EINVAL);
  o.role = 0;
  CHECK_EQ_INT(flow_transport_connect(loop, "127.0.0.1", port, &o, &c), FLOW_EINVAL);
  CHECK_NULL(c);
}

/* --------------------------------------------------------------- main --- */

int main(void) {
  /* The transport logs refused peers to stderr: capture it to check them. */
  FILE *log = tmpfile();
  int saved_err = dup(2);
  if (log == NULL || saved_err < 0) return 2;
  fflush(stderr);
  dup2(fileno(log), 2);

  loop = uv_default_loop();
  uv_timer_init(loop, &watchdog);

  flow_transport_opts_t so = {0};
  so.role = FLOW_TRANSPORT_ROLE_JOBMANAGER;
  so.name = "jm";
  so.max_frame = 1024 * 1024;
  so.handshake_timeout_ms = 200;
  so.on_open = srv_open;
  so.on_frame = srv_frame;
  so.on_close = srv_close;
  CHECK_EQ_INT(flow_transport_listen(loop, NULL, 0, &so, &S.srv), 0);
  CHECK(flow_transport_server_port(S.srv) > 0);
  CHECK_EQ_INT(flow_transport_listen(loop, "localhost", 0, &so, &(flow_transport_server_t *){NULL}),
               FLOW_EINVAL); /* numeric addresses only */

  if (S.srv != NULL) {
    test_bidirectional();
    test_split();
    test_hostile();
    test_handler_fail();
    test_queue_limit();
    test_refused();

    /* closing the server closes its connections */
    CTEST_CASE("server close");
    client_t k = {0};
    flow_transport_opts_t o = client_opts(&k, "last");
    cur = &k;
    CHECK_EQ_INT(flow_transport_connect(loop, NULL, flow_transport_server_port(S.srv), &o, &k.c), 0);
    CHECK(run_until(p_client_open, 5000, "last client"));
    want_srv_closed = S.closed + 1;
    flow_transport_server_close(S.srv);
    CHECK(run_until(p_both_closed, 5000, "server close"));
    CHECK_STR(S.last_reason, "server closed");
    CHECK_STR(k.reason, "peer closed the connection");
  }

  uv_close((uv_handle_t *)&watchdog, NULL);
  for (int i = 0; i < 100 && uv_run(loop, UV_RUN_NOWAIT) != 0; i++) {
  }
  CTEST_CASE("teardown");
  CHECK_EQ_INT(uv_loop_close(loop), 0); /* every handle was closed */

  fflush(stderr);
  dup2(saved_err, 2);
  close(saved_err);
  char *text = ctest_slurp(log);
  fclose(log);
  printf("--- transport log ---\n%s---\n", text);
  CTEST_CASE("log lines");
  /* one line per refused peer, nothing for ordinary closes */
  static const char *const reasons[] = {
      "bad frame magic",
      "expected a handshake frame (type 1) first",
      "protocol version mismatch",
      "unknown role 77",
      "malformed handshake",
      "limit 1024 before the handshake",
      "limit 1048576)",
      "after 10 of 100 payload bytes",
      "inside a frame header",
      "a second handshake frame",
      "handshake timed out",
      "(bad-payload): payload does not parse",
      "connect failed",
  };
  int n_reasons = (int)(sizeof reasons / sizeof reasons[0]);
  for (int i = 0; i < n_reasons; i++) {
    CHECK_EQ_INT(ctest_count(text, reasons[i]), 1);
  }
  CHECK_EQ_INT(ctest_count(text, "\n"), n_reasons);
  CHECK_EQ_INT(ctest_count(text, "flowlua: net: 127.0.0.1:"), n_reasons);
  CHECK_NOT_CONTAINS(text, "peer closed");
  CHECK_NOT_CONTAINS(text, "closed locally");
  free(text);
  return CTEST_SUMMARY();
}
