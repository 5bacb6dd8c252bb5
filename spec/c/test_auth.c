/* Shared-secret authentication: cluster/auth.h (secret loading, HMAC,
 * constant-time compare, loopback check) and the transport's challenge-
 * response (net/transport.h, docs/wire.md "Authentication").
 *
 * One libuv loop, everything on 127.0.0.1 with ephemeral ports, driven by
 * uv_run under a watchdog (a bug fails a check instead of hanging). Servers:
 * SS has the secret, SN has none. Cases: same secret -> frames flow and the
 * frames queued before open arrive; server secret + client none -> the
 * client's reason says "authentication required", SS keeps serving; wrong
 * secret -> "authentication failed" on both sides, nothing delivered to
 * on_frame; client secret + server none -> a clear reason; raw peers: an
 * application frame before AUTH, a replayed AUTH from another connection, a
 * reflected AUTH / echoed nonce, silence after HELLO (timeout), an oversized
 * frame before AUTH; a fake server that never authenticates receives no
 * application frame and its REJECT reason reaches on_close; close before open
 * still flushes (no secrets); listen refuses a non-loopback address without a
 * secret. */
#include "net/auth.h"
#include "net/frame.h"
#include "net/transport.h"
#include "util/common.h"
#include "util/wire.h"

#include "ctest_assert.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define T_DATA 40
#define T_ECHO 41  /* the server answers with T_REPLY, same payload */
#define T_REPLY 42

static const char SECRET[] = "correct horse battery staple 42";
static const char OTHER[] = "incorrect horse battery staple 7";

static uv_loop_t *loop;
static uv_timer_t watchdog;
static int timed_out;

/* ============================================== secret loading, crypto === */

static char tmpdir[256];

/* Writes text to a fresh file under tmpdir with the given mode; returns its path. */
static const char *write_file(const char *name, const char *text, mode_t mode) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  if (f == NULL) return path;
  fputs(text, f);
  fclose(f);
  chmod(path, mode);
  return path;
}

static void test_load_secret(void) {
  char err[512], *s = NULL;
  size_t n = 0;
  snprintf(tmpdir, sizeof tmpdir, "%s/flowlua-auth-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  CHECK_NOT_NULL(mkdtemp(tmpdir));

  CTEST_CASE("load_secret: none");
  unsetenv(FLOW_AUTH_ENV);
  CHECK_EQ_INT(flow_auth_load_secret(NULL, &s, &n, err, sizeof err), 0);
  CHECK_NULL(s);
  CHECK_EQ_INT(n, 0);

  CTEST_CASE("load_secret: env");
  setenv(FLOW_AUTH_ENV, "0123456789abcdef0123\n", 1);
  CHECK_EQ_INT(flow_auth_load_secret(NULL, &s, &n, err, sizeof err), 0);
  CHECK_STR(s, "0123456789abcdef0123");
  CHECK_EQ_INT(n, 20);
  flow_auth_free_secret(s, n);
  setenv(FLOW_AUTH_ENV, "short", 1);
  s = (char *)"untouched";
  CHECK_EQ_INT(flow_auth_load_secret(NULL, &s, &n, err, sizeof err), FLOW_EINVAL);
  CHECK_NULL(s);
  CHECK_CONTAINS(err, "FLOWLUA_CLUSTER_SECRET is too short: 5 bytes, at least 16");
  setenv(FLOW_AUTH_ENV, "", 1);
  CHECK_EQ_INT(flow_auth_load_secret(NULL, &s, &n, err, sizeof err), FLOW_EINVAL);
  CHECK_CONTAINS(err, "too short: 0 bytes");

  CTEST_CASE("load_secret: file");
  /* a file wins over the environment; one trailing newline (and spaces) trimmed */
  setenv(FLOW_AUTH_ENV, "environment-secret-0123456789", 1);
  const char *p = write_file("good", "file secret with spaces inside \r\n", 0600);
  CHECK_EQ_INT(flow_auth_load_secret(p, &s, &n, err, sizeof err), 0);
  CHECK_STR(s, "file secret with spaces inside");
  CHECK_EQ_INT(n, strlen("file secret with spaces inside"));
  flow_auth_free_secret(s, n);
  unsetenv(FLOW_AUTH_ENV);
  p = write_file("owner-read-only", "0123456789abcdef", 0400);
  CHECK_EQ_INT(flow_auth_load_secret(p, &s, &n, err, sizeof err), 0);
  CHECK_EQ_INT(n, 16);
  flow_auth_free_secret(s, n);

  CTEST_CASE("load_secret: short file");
  p = write_file("short", "tooshort\n", 0600);
  CHECK_EQ_INT(flow_auth_load_secret(p, &s, &n, err, sizeof err), FLOW_EINVAL);
  CHECK_NULL(s);
  CHECK_CONTAINS(err, "is too short: 8 bytes, at least 16 are required");
  CHECK_CONTAINS(err, p);

  CTEST_CASE("load_secret: empty file");
  p = write_file("empty", " \n", 0600);
  CHECK_EQ_INT(flow_auth_load_secret(p, &s, &n, err, sizeof err), FLOW_EINVAL);
  CHECK_CONTAINS(err, "is empty");

  CTEST_CASE("load_secret: world-readable file");
  p = write_file("open", "0123456789abcdef0123456789\n", 0644);
  CHECK_EQ_INT(flow_auth_load_secret(p, &s, &n, err, sizeof err), FLOW_EINVAL);
  CHECK_NULL(s);
  char want[1200];
  snprintf(want, sizeof want, "secret file %s is readable by others (mode 0644; chmod 600 %s)", p,
           p);
  CHECK_STR(err, want);
  p = write_file("group", "0123456789abcdef0123456789\n", 0640);
  CHECK_EQ_INT(flow_auth_load_secret(p, &s, &n, err, sizeof err), FLOW_EINVAL);
  CHECK_CONTAINS(err, "readable by others");
  p = write_file("group-writable", "0123456789abcdef0123456789\n", 0620);
  CHECK_EQ_INT(flow_auth_load_secret(p, &s, &n, err, sizeof err), FLOW_EINVAL);
  CHECK_CONTAINS(err, "writable by others");

  CTEST_CASE("load_secret: missing file");
  char missing[512];
  snprintf(missing, sizeof missing, "%s/nope", tmpdir);
  CHECK_EQ_INT(flow_auth_load_secret(missing, &s, &n, err, sizeof err), FLOW_EINVAL);
  CHECK_CONTAINS(err, "cannot open secret file");
  CHECK_CONTAINS(err, "nope");

  static const char *const names[] = {"good", "owner-read-only", "short", "empty", "open",
                                      "group", "group-writable"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
    unlink(path);
  }
  rmdir(tmpdir);
}

static void test_crypto(void) {
  CTEST_CASE("hmac-sha256 (RFC 4231 test case 2)");
  uint8_t mac[FLOW_AUTH_MAC_LEN];
  char hex[2 * FLOW_AUTH_MAC_LEN + 1];
  const char *msg = "what do ya want for nothing?";
  flow_auth_mac("Jefe", 4, msg, strlen(msg), mac);
  flow_auth_hex(mac, sizeof mac, hex);
  CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

  CTEST_CASE("hex, equal, nonce");
  const uint8_t b[] = {0x00, 0x0f, 0xa5, 0xff};
  flow_auth_hex(b, sizeof b, hex);
  CHECK_STR(hex, "000fa5ff");
  uint8_t x[32] = {1, 2, 3}, y[32] = {1, 2, 3};
  CHECK(flow_auth_equal(x, y, 32));
  y[31] = 1;
  CHECK(!flow_auth_equal(x, y, 32));
  uint8_t n1[FLOW_AUTH_NONCE_LEN], n2[FLOW_AUTH_NONCE_LEN], zero[FLOW_AUTH_NONCE_LEN] = {0};
  flow_auth_nonce(n1);
  flow_auth_nonce(n2);
  CHECK(!flow_auth_equal(n1, n2, sizeof n1));
  CHECK(!flow_auth_equal(n1, zero, sizeof n1));

  CTEST_CASE("is_loopback");
  CHECK(flow_auth_is_loopback(NULL));
  CHECK(flow_auth_is_loopback(""));
  CHECK(flow_auth_is_loopback("localhost"));
  CHECK(flow_auth_is_loopback("127.0.0.1"));
  CHECK(flow_auth_is_loopback("127.8.9.10"));
  CHECK(flow_auth_is_loopback("::1"));
  CHECK(flow_auth_is_loopback("::ffff:127.0.0.1"));
  CHECK(!flow_auth_is_loopback("0.0.0.0"));
  CHECK(!flow_auth_is_loopback("::"));
  CHECK(!flow_auth_is_loopback("10.0.0.1"));
  CHECK(!flow_auth_is_loopback("128.0.0.1"));
  CHECK(!flow_auth_is_loopback("::2"));
  CHECK(!flow_auth_is_loopback("localhost.example.com"));
  CHECK(!flow_auth_is_loopback("127.0.0.1.evil"));
}

/* ============================================================ servers === */

typedef struct {
  const char *tag;
  flow_transport_server_t *srv;
  int opened, closed, frames, authenticated;
  int quiet; /* no greeting on open */
  char last_reason[256];
} server_t;

static server_t SS = {.tag = "with secret"}, SN = {.tag = "without secret"};

static void srv_open(flow_transport_conn_t *c) {
  server_t *s = flow_transport_conn_data(c);
  s->opened++;
  if (flow_transport_is_authenticated(c)) s->authenticated++;
  if (!s->quiet) CHECK_EQ_INT(flow_transport_send(c, T_DATA, "hi", 2), 0);
}
static void srv_frame(flow_transport_conn_t *c, uint8_t type, const uint8_t *p, uint32_t len) {
  server_t *s = flow_transport_conn_data(c);
  s->frames++;
  if (type == T_ECHO) CHECK_EQ_INT(flow_transport_send(c, T_REPLY, p, len), 0);
}
static void srv_close(flow_transport_conn_t *c, const char *reason) {
  server_t *s = flow_transport_conn_data(c);
  s->closed++;
  snprintf(s->last_reason, sizeof s->last_reason, "%s", reason);
}

static int start_server(server_t *s, const char *secret) {
  flow_transport_opts_t o = {0};
  o.role = FLOW_TRANSPORT_ROLE_JOBMANAGER;
  o.name = "jm";
  o.handshake_timeout_ms = 300;
  o.secret = secret;
  o.secret_len = secret ? strlen(secret) : 0;
  o.on_open = srv_open;
  o.on_frame = srv_frame;
  o.on_close = srv_close;
  o.data = s;
  return flow_transport_listen(loop, NULL, 0, &o, &s->srv);
}

/* ============================================================ clients === */

typedef struct {
  flow_transport_conn_t *c;
  int opened, closed, data, replies, authenticated;
  char reason[256];
} client_t;

static void cli_open(flow_transport_conn_t *c) {
  client_t *k = flow_transport_conn_data(c);
  k->opened++;
  if (flow_transport_is_authenticated(c)) k->authenticated++;
}
static void cli_frame(flow_transport_conn_t *c, uint8_t type, const uint8_t *p, uint32_t len) {
  client_t *k = flow_transport_conn_data(c);
  (void)p;
  (void)len;
  if (type == T_DATA) k->data++;
  if (type == T_REPLY) k->replies++;
}
static void cli_close(flow_transport_conn_t *c, const char *reason) {
  client_t *k = flow_transport_conn_data(c);
  k->closed++;
  k->c = NULL;
  snprintf(k->reason, sizeof k->reason, "%s", reason);
}

static int connect_client(client_t *k, int port, const char *secret) {
  flow_transport_opts_t o = {0};
  o.role = FLOW_TRANSPORT_ROLE_TASKMANAGER;
  o.name = "tm";
  o.handshake_timeout_ms = 2000;
  o.secret = secret;
  o.secret_len = secret ? strlen(secret) : 0;
  o.on_open = cli_open;
  o.on_frame = cli_frame;
  o.on_close = cli_close;
  o.data = k;
  return flow_transport_connect(loop, "127.0.0.1", port, &o, &k->c);
}

/* ============================================================ driving === */

static void on_watchdog(uv_timer_t *t) {
  (void)t;
  timed_out = 1;
}

static int run_until(int (*pred)(void), unsigned ms, const char *what) {
  timed_out = 0;
  uv_timer_start(&watchdog, on_watchdog, ms, 0);
  while (!pred() && !timed_out) uv_run(loop, UV_RUN_ONCE);
  uv_timer_stop(&watchdog);
  if (!pred()) printf("watchdog: timed out waiting for %s\n", what);
  return pred();
}


/* Runs the loop for ms (lets frames that should NOT arrive have their chance). */
static void run_for(unsigned ms) {
  timed_out = 0;
  uv_timer_start(&watchdog, on_watchdog, ms, 0);
  while (!timed_out) uv_run(loop, UV_RUN_ONCE);

}

static client_t *cur;
static server_t *cur_srv;
static int want_srv_closed;
static int p_reply(void) { return cur->replies > 0 || cur->closed > 0; }
static int p_both_closed(void) {
  return cur->closed > 0 && cur_srv->closed >= want_srv_closed;
}

/* A client with `secret` that sends an echo before open (held until the
 * server is verified), gets the reply and the server's greeting, closes. */
static void good_roundtrip(server_t *s, const char *secret, const char *tag) {
  client_t k = {0};
  cur = &k;
  cur_srv = s;
  int opened = s->opened, authed = s->authenticated;
  CHECK_EQ_INT(connect_client(&k, flow_transport_server_port(s->srv), secret), 0);
  CHECK_EQ_INT(flow_transport_send(k.c, T_ECHO, "ping", 4), 0); /* held: not open yet */
  CHECK(!flow_transport_is_open(k.c));
  CHECK(flow_transport_queued(k.c) > 0);
  CHECK(run_until(p_reply, 5000, tag));
  CHECK_EQ_INT(k.replies, 1);
  CHECK_EQ_INT(k.opened, 1);
  CHECK_EQ_INT(k.data, 1);
  CHECK_EQ_INT(k.closed, 0);
  CHECK_EQ_INT(s->opened, opened + 1);
  CHECK_EQ_INT(k.authenticated, secret != NULL);
  CHECK_EQ_INT(s->authenticated, authed + (secret != NULL));
  CHECK(k.c != NULL && flow_transport_is_open(k.c));
  want_srv_closed = s->closed + 1;
  flow_transport_close(k.c);
  CHECK(run_until(p_both_closed, 5000, tag));
  CHECK_STR(k.reason, "closed locally");
  CHECK_STR(s->last_reason, "peer closed the connection");
}

static void test_same_secret(void) {
  CTEST_CASE("same secret");
  good_roundtrip(&SS, SECRET, "same secret");
  CTEST_CASE("no secret on either side");
  good_roundtrip(&SN, NULL, "no secret");
}

static void test_server_secret_client_none(void) {
  CTEST_CASE("server secret, client none");
  client_t k = {0};
  cur = &k;
  cur_srv = &SS;
  int opened = SS.opened, frames = SS.frames;
  want_srv_closed = SS.closed + 1;
  CHECK_EQ_INT(connect_client(&k, flow_transport_server_port(SS.srv), NULL), 0);
  CHECK_EQ_INT(flow_transport_send(k.c, T_ECHO, "let me in", 9), 0);
  CHECK(run_until(p_both_closed, 5000, "server secret, client none"));
  CHECK_EQ_INT(k.opened, 0);
  CHECK_CONTAINS(k.reason, "authentication required");
  CHECK_CONTAINS(k.reason, "the jobmanager requires the cluster secret");
  CHECK_CONTAINS(k.reason, "FLOWLUA_CLUSTER_SECRET");
  CHECK_CONTAINS(SS.last_reason, "authentication required");
  CHECK_EQ_INT(SS.opened, opened);
  CHECK_EQ_INT(SS.frames, frames);
  CHECK_EQ_INT(flow_transport_server_connections(SS.srv), 0);
  good_roundtrip(&SS, SECRET, "SS still serves");
}

static void test_wrong_secret(void) {
  CTEST_CASE("wrong secret");
  client_t k = {0};
  cur = &k;
  cur_srv = &SS;
  int opened = SS.opened, frames = SS.frames;
  want_srv_closed = SS.closed + 1;
  CHECK_EQ_INT(connect_client(&k, flow_transport_server_port(SS.srv), OTHER), 0);
  CHECK_EQ_INT(flow_transport_send(k.c, T_ECHO, "let me in", 9), 0);
  CHECK(run_until(p_both_closed, 5000, "wrong secret"));
  CHECK_EQ_INT(k.opened, 0);
  CHECK_EQ_INT(k.data, 0);
  CHECK_STR(k.reason, "authentication failed: wrong cluster secret");
  CHECK_STR(SS.last_reason, "authentication failed: wrong cluster secret");
  CHECK_EQ_INT(SS.opened, opened);
  CHECK_EQ_INT(SS.frames, frames); /* the held echo never reached on_frame */
  good_roundtrip(&SS, SECRET, "SS after a wrong secret");
}

static void test_client_secret_server_none(void) {
  CTEST_CASE("client secret, server none");
  client_t k = {0};
  cur = &k;
  cur_srv = &SN;
  int opened = SN.opened, frames = SN.frames;
  want_srv_closed = SN.closed + 1;
  CHECK_EQ_INT(connect_client(&k, flow_transport_server_port(SN.srv), SECRET), 0);
  CHECK_EQ_INT(flow_transport_send(k.c, T_ECHO, "hello?", 6), 0);
  CHECK(run_until(p_both_closed, 5000, "client secret, server none"));
  CHECK_EQ_INT(k.opened, 0);
  CHECK_STR(k.reason,
            "authentication required: the jobmanager has no cluster secret but this taskmanager "
            "requires one");
  CHECK_CONTAINS(SN.last_reason, "authentication required: the taskmanager requires the cluster "
                                 "secret and this jobmanager has none");
  CHECK_EQ_INT(SN.opened, opened);
  CHECK_EQ_INT(SN.frames, frames);
  good_roundtrip(&SN, NULL, "SN still serves");
}

/* Without secrets, flow_transport_close right after a send (before open) still
 * delivers the frame, then closes: the behaviour before authentication. */
static int p_sn_frame(void) { return SN.frames > 0 || cur->closed > 0; }
static void test_close_before_open(void) {
  CTEST_CASE("close before open flushes the held frames");
  client_t k = {0};
  cur = &k;
  cur_srv = &SN;
  int opened = SN.opened;
  SN.frames = 0;
  SN.quiet = 1; /* the client stops reading: nothing may wait unread at its close */
  want_srv_closed = SN.closed + 1;
  CHECK_EQ_INT(connect_client(&k, flow_transport_server_port(SN.srv), NULL), 0);
  CHECK_EQ_INT(flow_transport_send(k.c, T_DATA, "last words", 10), 0);
  flow_transport_close(k.c);
  CHECK_EQ_INT(flow_transport_send(k.c, T_DATA, "too late", 8), FLOW_ESTATE);
  CHECK(run_until(p_both_closed, 5000, "close before open"));
  CHECK(run_until(p_sn_frame, 1000, "frame from a closed client"));
  CHECK_EQ_INT(SN.frames, 1);
  CHECK_EQ_INT(k.opened, 0); /* closed by the caller: no on_open */
  CHECK_EQ_INT(SN.opened, opened + 1);
  CHECK_STR(k.reason, "closed locally");
  CHECK_STR(SN.last_reason, "peer closed the connection");
  SN.quiet = 0;
}

/* ================================================= raw (hostile) peers === */

/* A raw TCP peer: connects to a server (or is accepted by the fake server),
 * decodes what it receives, and lets a hook answer each frame. */
typedef struct raw raw_t;
struct raw {
  uv_tcp_t tcp;
  uv_connect_t creq;
  flow_frame_decoder_t dec;
  int handles, closed, eof;
  int n_frames[256];             /* frames received, by type */
  uint8_t peer_nonce[32];        /* from the peer's HELLO */
  uint8_t last_auth[32];         /* the peer's last AUTH payload */
  char reject[256];              /* the peer's REJECT reason */
  void (*on_connected)(raw_t *r);
  void (*on_frame)(raw_t *r, const flow_frame_t *f);
  int step;                      /* the hooks' scratch */
};

static char raw_sink[65536];
static void raw_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  (void)h;
  (void)s;
  *b = uv_buf_init(raw_sink, sizeof raw_sink);
}
static void raw_handle_closed(uv_handle_t *h) {
  raw_t *r = h->data;
  if (--r->handles == 0) r->closed = 1;
}
static void raw_close(raw_t *r) {
  if (r->handles > 0 && !uv_is_closing((uv_handle_t *)&r->tcp))
    uv_close((uv_handle_t *)&r->tcp, raw_handle_closed);
}
static int raw_decoded(void *ud, const flow_frame_t *f) {
  raw_t *r = ud;
  r->n_frames[f->type]++;
  if (f->type == FLOW_TRANSPORT_HELLO && f->len >= 32)
    memcpy(r->peer_nonce, f->payload + f->len - 32, 32);
  if (f->type == FLOW_TRANSPORT_AUTH && f->len == 32) memcpy(r->last_auth, f->payload, 32);
  if (f->type == FLOW_TRANSPORT_REJECT) {
    flow_rbuf_t rb;
    char *s = NULL;
    flow_rbuf_init(&rb, f->payload, f->len);
    if (flow_rd_str(&rb, &s, 0) == 0) snprintf(r->reject, sizeof r->reject, "%s", s);
    free(s);
  }
  if (r->on_frame != NULL) r->on_frame(r, f);
  return 0;
}
static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  raw_t *r = s->data;
  if (n > 0) {
    flow_frame_decoder_feed(&r->dec, raw_sink, (size_t)n, raw_decoded, r);
  } else if (n < 0) {
    r->eof = 1;
    raw_close(r);
  }
}
static void raw_written(uv_write_t *w, int status) {
  (void)status;
  free(w->data);
  free(w);
}
/* Writes (a copy of) the bytes of w, then frees w. */
static void raw_send(raw_t *r, flow_wbuf_t *w) {
  CHECK_EQ_INT(w->err, 0);
  if (uv_is_closing((uv_handle_t *)&r->tcp) || w->len == 0) {
    flow_wbuf_free(w);
    return;
  }
  uv_write_t *req = malloc(sizeof *req);
  req->data = w->data; /* the request owns the bytes */
  uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
  flow_wbuf_init(w);
  if (uv_write(req, (uv_stream_t *)&r->tcp, &b, 1, raw_written) != 0) raw_written(req, -1);
}
static void raw_begin(raw_t *r) {
  flow_frame_decoder_init(&r->dec, 0);
  r->tcp.data = r;
  r->handles = 1;
  uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read);
  if (r->on_connected != NULL) r->on_connected(r);
}
static void raw_connected(uv_connect_t *req, int status) {
  raw_t *r = req->data;
  if (status < 0) {
    r->handles = 1;
    raw_close(r);
    return;
  }
  raw_begin(r);
}
static void raw_start(raw_t *r, int port) {
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", port, &a);
  uv_tcp_init(loop, &r->tcp);
  r->tcp.data = r->creq.data = r;
  uv_tcp_connect(&r->creq, &r->tcp, (const struct sockaddr *)&a, raw_connected);
}

static void put_hello(flow_wbuf_t *w, uint8_t role, const char *name, uint8_t flags,
                      const uint8_t nonce[32]) {
  size_t at = flow_frame_begin(w, FLOW_TRANSPORT_HELLO, 0);
  flow_wr_u8(w, role);
  flow_wr_u32(w, FLOW_TRANSPORT_PROTOCOL_VERSION);
  flow_wr_str(w, name);
  flow_wr_u8(w, flags);
  flow_wr_raw(w, nonce, 32);
  CHECK_EQ_INT(flow_frame_finish(w, at), 0);
}
static void put_frame(flow_wbuf_t *w, uint8_t type, const void *p, uint32_t n) {
  size_t at = flow_frame_begin(w, type, 0);
  flow_wr_raw(w, p, n);
  CHECK_EQ_INT(flow_frame_finish(w, at), 0);
}

/* The documented proof: HMAC-SHA256(secret, "flowlua-auth-v2" || u8 sender
 * role || receiver's nonce || sender's nonce). */
static void proof(const char *secret, uint8_t role, const uint8_t rnonce[32],
                  const uint8_t snonce[32], uint8_t out[32]) {
  uint8_t msg[15 + 1 + 64];
  memcpy(msg, "flowlua-auth-v2", 15);
  msg[15] = role;
  memcpy(msg + 16, rnonce, 32);
  memcpy(msg + 48, snonce, 32);
  flow_auth_mac(secret, strlen(secret), msg, sizeof msg, out);
}

static raw_t *cur_raw;
static int p_raw_done(void) { return cur_raw->closed && cur_srv->closed >= want_srv_closed; }
/* the server opened, and everything it sent up to its echo reply was read */
static int p_raw_reply(void) { return cur_raw->n_frames[T_REPLY] > 0 || cur_raw->closed; }

static const uint8_t NC[32] = {7, 7, 7, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                               13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28};
static uint8_t captured_auth[32];

/* Runs raw peer r against SS and expects SS to close it with `reason`,
 * delivering nothing to on_frame; then a good client still works. */
static void hostile(const char *tag, raw_t *r, const char *reason) {
  CTEST_CASE(tag);
  cur_raw = r;
  cur_srv = &SS;
  int opened = SS.opened, frames = SS.frames;
  want_srv_closed = SS.closed + 1;
  raw_start(r, flow_transport_server_port(SS.srv));
  CHECK(run_until(p_raw_done, 5000, tag));
  CHECK_CONTAINS(SS.last_reason, reason);
  CHECK_EQ_INT(SS.opened, opened);
  CHECK_EQ_INT(SS.frames, frames);
  CHECK_EQ_INT(flow_transport_server_connections(SS.srv), 0);
  flow_frame_decoder_free(&r->dec);
  good_roundtrip(&SS, SECRET, tag);
}

/* HELLO with the auth flag, then an application frame instead of AUTH. */
static void app_before_auth_connected(raw_t *r) {
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  put_hello(&w, FLOW_TRANSPORT_ROLE_TASKMANAGER, "sneaky", FLOW_TRANSPORT_HELLO_AUTH, NC);
  put_frame(&w, T_ECHO, "sneak", 5);
  raw_send(r, &w);
}

/* A legitimate raw client: answers the server's HELLO with a correct proof
 * and keeps it for the replay below. */
static void legit_connected(raw_t *r) {
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  put_hello(&w, FLOW_TRANSPORT_ROLE_TASKMANAGER, "legit", FLOW_TRANSPORT_HELLO_AUTH, NC);
  raw_send(r, &w);
}
static void legit_frame(raw_t *r, const flow_frame_t *f) {
  if (f->type != FLOW_TRANSPORT_HELLO) return;
  proof(SECRET, FLOW_TRANSPORT_ROLE_TASKMANAGER, r->peer_nonce, NC, captured_auth);
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  put_frame(&w, FLOW_TRANSPORT_AUTH, captured_auth, 32);
  put_frame(&w, T_ECHO, "legit", 5);
  raw_send(r, &w);
}

/* The replay: same client nonce, the proof captured from the other connection. */
static void replay_connected(raw_t *r) {
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  put_hello(&w, FLOW_TRANSPORT_ROLE_TASKMANAGER, "replay", FLOW_TRANSPORT_HELLO_AUTH, NC);
  put_frame(&w, FLOW_TRANSPORT_AUTH, captured_auth, 32);
  put_frame(&w, T_ECHO, "replayed", 8);
  raw_send(r, &w);
}

/* Reflection: claim the server's role, then send its own proof back. */
static void reflect_connected(raw_t *r) {
  (void)r; /* waits for the server's HELLO */
}
static void reflect_frame(raw_t *r, const flow_frame_t *f) {
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  if (f->type == FLOW_TRANSPORT_HELLO) {
    /* step 0: echo the server's nonce; step 1: a fresh nonce */
    put_hello(&w, FLOW_TRANSPORT_ROLE_JOBMANAGER, "mirror", FLOW_TRANSPORT_HELLO_AUTH,
              r->step == 0 ? r->peer_nonce : NC);
  } else if (f->type == FLOW_TRANSPORT_AUTH) {
    put_frame(&w, FLOW_TRANSPORT_AUTH, f->payload, f->len);
    put_frame(&w, T_ECHO, "reflected", 9);
  }
  raw_send(r, &w);
}

static void silent_after_hello(raw_t *r) {
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  put_hello(&w, FLOW_TRANSPORT_ROLE_TASKMANAGER, "silent", FLOW_TRANSPORT_HELLO_AUTH, NC);
  raw_send(r, &w);
}

static void oversized_before_auth(raw_t *r) {
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  put_hello(&w, FLOW_TRANSPORT_ROLE_TASKMANAGER, "big", FLOW_TRANSPORT_HELLO_AUTH, NC);
  uint8_t hdr[FLOW_FRAME_HEADER_LEN];
  flow_frame_header(hdr, T_DATA, 0, 5000);
  flow_wr_raw(&w, hdr, sizeof hdr);
  raw_send(r, &w);
}

static void test_raw_peers(void) {
  raw_t r;

  memset(&r, 0, sizeof r);
  r.on_connected = app_before_auth_connected;
  hostile("application frame before AUTH", &r,
          "expected an authentication frame (type 2), got frame type 41");

  /* a legitimate raw client first: its proof works and is captured */
  CTEST_CASE("raw client with a valid proof");
  memset(&r, 0, sizeof r);
  r.on_connected = legit_connected;
  r.on_frame = legit_frame;
  r.step = SS.opened;
  cur_raw = &r;
  cur_srv = &SS;
  int frames = SS.frames;
  raw_start(&r, flow_transport_server_port(SS.srv));
  CHECK(run_until(p_raw_reply, 5000, "raw client with a valid proof"));
  CHECK_EQ_INT(SS.opened, r.step + 1);
  want_srv_closed = SS.closed + 1;
  raw_close(&r);
  CHECK(run_until(p_raw_done, 5000, "raw legit close"));
  CHECK_EQ_INT(SS.frames, frames + 1); /* its echo */
  CHECK_EQ_INT(r.n_frames[FLOW_TRANSPORT_AUTH], 1);
  CHECK_EQ_INT(r.n_frames[T_DATA], 1); /* the greeting */
  CHECK_EQ_INT(r.n_frames[T_REPLY], 1);
  CHECK_EQ_INT(r.n_frames[FLOW_TRANSPORT_REJECT], 0);
  flow_frame_decoder_free(&r.dec);

  memset(&r, 0, sizeof r);
  r.on_connected = replay_connected;
  hostile("replayed AUTH", &r, "authentication failed: wrong cluster secret");
  CHECK_STR(r.reject, "authentication failed: wrong cluster secret");

  memset(&r, 0, sizeof r);
  r.on_connected = reflect_connected;
  r.on_frame = reflect_frame;
  r.step = 0;
  hostile("echoed nonce", &r, "authentication failed: the peer's nonce repeats ours");
  CHECK_EQ_INT(r.n_frames[FLOW_TRANSPORT_AUTH], 0); /* the server gave no proof to reflect */
  CHECK_STR(r.reject, "authentication failed");

  memset(&r, 0, sizeof r);
  r.on_connected = reflect_connected;
  r.on_frame = reflect_frame;
  r.step = 1;
  hostile("reflected AUTH", &r, "authentication failed: wrong cluster secret");
  CHECK_EQ_INT(r.n_frames[FLOW_TRANSPORT_AUTH], 1);

  memset(&r, 0, sizeof r);
  r.on_connected = silent_after_hello;
  hostile("silent after HELLO", &r, "authentication timed out");

  memset(&r, 0, sizeof r);
  r.on_connected = oversized_before_auth;
  hostile("oversized frame before AUTH", &r,
          "5000 bytes announced, limit 1024 before authentication");
}

/* ========================================================= fake server === */

/* A server that sends a HELLO requiring authentication and never proves
 * anything: the client must write HELLO + AUTH but none of the application
 * frames it queued; then the fake server's REJECT reason reaches on_close. */
static struct {
  uv_tcp_t listener;
  raw_t peer;
  int accepted;
} F;

static void fake_connected(raw_t *r) {
  uint8_t nonce[32];
  flow_auth_nonce(nonce);
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  put_hello(&w, FLOW_TRANSPORT_ROLE_JOBMANAGER, "fake", FLOW_TRANSPORT_HELLO_AUTH, nonce);
  raw_send(r, &w);
}
static void fake_on_connection(uv_stream_t *ls, int status) {
  if (status < 0 || F.accepted) return;
  F.accepted = 1;
  uv_tcp_init(loop, &F.peer.tcp);
  if (uv_accept(ls, (uv_stream_t *)&F.peer.tcp) != 0) return;
  F.peer.on_connected = fake_connected;
  raw_begin(&F.peer);
}
static int p_fake_got_auth(void) { return F.peer.n_frames[FLOW_TRANSPORT_AUTH] > 0 || cur->closed; }
static int p_fake_closed(void) { return cur->closed > 0 && F.peer.closed; }

static void test_fake_server(void) {
  CTEST_CASE("frames held until the peer is verified; REJECT reason");
  memset(&F, 0, sizeof F);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_init(loop, &F.listener);
  CHECK_EQ_INT(uv_tcp_bind(&F.listener, (const struct sockaddr *)&a, 0), 0);
  CHECK_EQ_INT(uv_listen((uv_stream_t *)&F.listener, 4, fake_on_connection), 0);
  struct sockaddr_storage ss;
  int len = sizeof ss;
  uv_tcp_getsockname(&F.listener, (struct sockaddr *)&ss, &len);
  int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);

  client_t k = {0};
  cur = &k;
  CHECK_EQ_INT(connect_client(&k, port, SECRET), 0);
  for (int i = 0; i < 3; i++) CHECK_EQ_INT(flow_transport_send(k.c, T_DATA, "secret data", 11), 0);
  CHECK(run_until(p_fake_got_auth, 5000, "client AUTH at the fake server"));
  run_for(100); /* anything else the client would write arrives meanwhile */
  CHECK_EQ_INT(F.peer.n_frames[FLOW_TRANSPORT_HELLO], 1);
  CHECK_EQ_INT(F.peer.n_frames[FLOW_TRANSPORT_AUTH], 1);
  CHECK_EQ_INT(F.peer.n_frames[T_DATA], 0);
  CHECK_EQ_INT(k.opened, 0);
  CHECK(k.c != NULL && !flow_transport_is_open(k.c));
  CHECK_EQ_INT(k.closed, 0);

  flow_wbuf_t w;
  flow_wbuf_init(&w);
  size_t at = flow_frame_begin(&w, FLOW_TRANSPORT_REJECT, 0);
  flow_wr_str(&w, "this cluster is closed for maintenance\n");
  CHECK_EQ_INT(flow_frame_finish(&w, at), 0);
  raw_send(&F.peer, &w);
  CHECK(run_until(p_fake_closed, 5000, "client closes on REJECT"));
  CHECK_STR(k.reason, "this cluster is closed for maintenance?"); /* control bytes replaced */
  CHECK_EQ_INT(F.peer.n_frames[T_DATA], 0);
  flow_frame_decoder_free(&F.peer.dec);
  uv_close((uv_handle_t *)&F.listener, NULL);
}

/* ============================================================= listen === */

static void test_listen_rules(void) {
  CTEST_CASE("listen: non-loopback needs a secret");
  flow_transport_opts_t o = {.role = FLOW_TRANSPORT_ROLE_JOBMANAGER, .name = "jm"};
  flow_transport_server_t *s = NULL;
  CHECK_EQ_INT(flow_transport_listen(loop, "0.0.0.0", 0, &o, &s), FLOW_EINVAL);
  CHECK_NULL(s);
  o.secret = "short";
  o.secret_len = 5;
  CHECK_EQ_INT(flow_transport_listen(loop, "0.0.0.0", 0, &o, &s), FLOW_EINVAL); /* too short */
  client_t k = {0};
  flow_transport_opts_t co = {.role = FLOW_TRANSPORT_ROLE_CLIENT, .secret = "short", .secret_len = 5};
  CHECK_EQ_INT(flow_transport_connect(loop, "127.0.0.1", 1, &co, &k.c), FLOW_EINVAL);
  o.secret = SECRET;
  o.secret_len = strlen(SECRET);
  CHECK_EQ_INT(flow_transport_listen(loop, "0.0.0.0", 0, &o, &s), 0);
  CHECK_NOT_NULL(s);
  if (s != NULL) flow_transport_server_close(s);
  o.secret = NULL;
  CHECK_EQ_INT(flow_transport_listen(loop, "127.0.0.2", 0, &o, &s), 0); /* loopback: no secret needed */
  if (s != NULL) flow_transport_server_close(s);
}

/* =============================================================== main === */

int main(void) {
  test_load_secret();
  test_crypto();

  FILE *log = tmpfile();
  int saved_err = dup(2);
  if (log == NULL || saved_err < 0) return 2;
  fflush(stderr);
  dup2(fileno(log), 2);

  loop = uv_default_loop();
  uv_timer_init(loop, &watchdog);
  CHECK_EQ_INT(start_server(&SS, SECRET), 0);
  CHECK_EQ_INT(start_server(&SN, NULL), 0);
  if (SS.srv != NULL && SN.srv != NULL) {
    test_same_secret();
    test_server_secret_client_none();
    test_wrong_secret();
    test_client_secret_server_none();
    test_close_before_open();
    test_raw_peers();
    test_fake_server();
    test_listen_rules();
    flow_transport_server_close(SS.srv);
    flow_transport_server_close(SN.srv);
  }

  uv_close((uv_handle_t *)&watchdog, NULL);
  for (int i = 0; i < 100 && uv_run(loop, UV_RUN_NOWAIT) != 0; i++) {
  }
  CTEST_CASE("teardown");
  CHECK_EQ_INT(uv_loop_close(loop), 0);

  fflush(stderr);
  dup2(saved_err, 2);
  close(saved_err);
  char *text = ctest_slurp(log);
  fclose(log);
  printf("--- transport log ---\n%s---\n", text);
  CTEST_CASE("log lines");
  /* one line per refusing side; none for ordinary closes; never the secret */
  CHECK_EQ_INT(ctest_count(text, "(tm): authentication required: the taskmanager has no cluster secret "
                           "but this jobmanager requires one"), 1);
  CHECK_EQ_INT(ctest_count(text, "(jm): authentication required: the jobmanager requires the cluster "
                           "secret and this taskmanager has none"), 1);
  CHECK_EQ_INT(ctest_count(text, "(jm): authentication failed: wrong cluster secret"), 1); /* client */
  CHECK_EQ_INT(ctest_count(text, "(tm): authentication failed: wrong cluster secret"), 1); /* SS */
  CHECK_EQ_INT(ctest_count(text, "(jm): authentication required: the jobmanager has no cluster secret"),
               1);
  CHECK_EQ_INT(ctest_count(text, "(tm): authentication required: the taskmanager requires"), 1);
  CHECK_EQ_INT(ctest_count(text, "(sneaky): expected an authentication frame"), 1);
  CHECK_EQ_INT(ctest_count(text, "(replay): authentication failed: wrong cluster secret"), 1);
  CHECK_EQ_INT(ctest_count(text, "(mirror): authentication failed: the peer's nonce repeats ours"), 1);
  CHECK_EQ_INT(ctest_count(text, "(mirror): authentication failed: wrong cluster secret"), 1);
  CHECK_EQ_INT(ctest_count(text, "(silent): authentication timed out"), 1);
  CHECK_EQ_INT(ctest_count(text, "(big): frame larger"), 1);
  CHECK_EQ_INT(ctest_count(text, "(fake): this cluster is closed for maintenance?"), 1);
  CHECK_EQ_INT(ctest_count(text, "refusing to listen on 0.0.0.0 without a cluster secret"), 1);
  CHECK_EQ_INT(ctest_count(text, "\n"), 14);
  CHECK_NOT_CONTAINS(text, "peer closed");
  CHECK_NOT_CONTAINS(text, "closed locally");
  CHECK_NOT_CONTAINS(text, "horse");
  free(text);
  return CTEST_SUMMARY();
}
