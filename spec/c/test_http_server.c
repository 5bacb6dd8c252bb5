/* REST HTTP layer (src/net/http_server.h): servers and raw TCP clients on
 * one libuv loop, 127.0.0.1 with ephemeral ports, everything driven by uv_run
 * under a watchdog timer (a bug fails a check instead of hanging).
 *
 * Cases: GET with query and headers reaches the handler; POST body with NUL
 * bytes; keep-alive (sequential and pipelined); Connection: close and
 * HTTP/1.0; 100-continue; hostile peers (garbage bytes -> 400, oversized
 * headers -> 431, oversized Content-Length -> 413, oversized chunked body ->
 * 413, truncated request then disconnect) each close only their connection
 * with one log line while the server keeps serving; chunked bodies (also
 * trickled byte by byte); idle and slowloris timeouts; max_connections; the
 * secret: nonce endpoint, 401 without/with a wrong MAC, the right MAC, replay,
 * nonce table bound; server close with open connections. */
#include "net/http_server.h"
#include "util/common.h"

#include "ctest_assert.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static uv_loop_t *loop;
static uv_timer_t watchdog;
static int timed_out;

/* ------------------------------------------------------------ handler --- */

/* What the handler saw last (copied), and how often it was called. */
static struct {
  int calls;
  char method[16], path[256], query[256], peer[64];
  uint8_t body[8192];
  size_t body_len;
  char headers[2048]; /* "name=value\n"... */
  int n_headers;
  int authenticated;
  char x_test[128];   /* flow_http_header(req, "x-TEST") or "(null)" */
  int x_empty_null;   /* flow_http_header(req, "X-Empty") == NULL */
  int absent_null;    /* flow_http_header(req, "X-Absent") == NULL */
} H;

static char *dup_mem(const void *p, size_t n) {
  char *s = malloc(n + 1);
  memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

/* /echo answers the body (octet-stream); /teapot answers 418 text/plain;
 * /bad answers an invalid status; anything else {"path":"<path>","n":<calls>}. */
static void handler(void *ud, const flow_http_request_t *req, flow_http_response_t *res) {
  CHECK(ud == &H);
  H.calls++;
  snprintf(H.method, sizeof H.method, "%s", req->method);
  snprintf(H.path, sizeof H.path, "%s", req->path);
  snprintf(H.query, sizeof H.query, "%s", req->query);
  snprintf(H.peer, sizeof H.peer, "%s", req->peer);
  H.body_len = req->body_len < sizeof H.body ? req->body_len : sizeof H.body;
  memcpy(H.body, req->body, H.body_len);
  H.headers[0] = '\0';
  for (int i = 0; i < req->n_headers; i++) {
    size_t l = strlen(H.headers);
    snprintf(H.headers + l, sizeof H.headers - l, "%s=%s\n", req->headers[i].name,
             req->headers[i].value);
  }
  H.n_headers = req->n_headers;
  H.authenticated = req->authenticated;
  const char *x = flow_http_header(req, "x-TEST");
  snprintf(H.x_test, sizeof H.x_test, "%s", x ? x : "(null)");
  H.x_empty_null = flow_http_header(req, "X-Empty") == NULL;
  H.absent_null = flow_http_header(req, "X-Absent") == NULL;

  if (strcmp(req->path, "/echo") == 0) {
    res->content_type = "application/octet-stream";
    res->body = dup_mem(req->body, req->body_len);
    res->body_len = req->body_len;
  } else if (strcmp(req->path, "/teapot") == 0) {
    res->status = 418;
    res->content_type = "text/plain";
    res->body = dup_mem("short and stout", 15);
    res->body_len = 15;
  } else if (strcmp(req->path, "/bad") == 0) {
    res->status = 42;
    res->body = dup_mem("x", 1);
    res->body_len = 1;
  } else {
    char buf[400];
    int n = snprintf(buf, sizeof buf, "{\"path\":\"%s\",\"n\":%d}", req->path, H.calls);
    res->body = dup_mem(buf, (size_t)n);
    res->body_len = (size_t)n;
  }
}

/* ----------------------------------------------------------- raw peer --- */

typedef struct {
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_timer_t tick;
  char *out;          /* bytes to trickle (chunk > 0) */
  size_t out_len, sent, chunk;
  char *in;           /* everything received */
  size_t in_len, in_cap;
  int connected, eof, handles, closed;
  uint64_t eof_at;    /* uv_now when the server closed on us */
} cli_t;

typedef struct {
  uv_write_t req;
  char data[];
} cli_write_t;

static void cli_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  cli_t *k = h->data;
  (void)s;
  if (k->in_cap - k->in_len < 65536) {
    k->in_cap = k->in_cap ? k->in_cap * 2 : 131072;
    k->in = realloc(k->in, k->in_cap + 1);
  }
  *b = uv_buf_init(k->in + k->in_len, (unsigned)(k->in_cap - k->in_len));
}
static void cli_handle_closed(uv_handle_t *h) {
  cli_t *k = h->data;
  if (--k->handles == 0) k->closed = 1;
}
static void cli_close(cli_t *k) {
  if (k->handles == 2 && !uv_is_closing((uv_handle_t *)&k->tcp)) {
    uv_close((uv_handle_t *)&k->tcp, cli_handle_closed);
    uv_close((uv_handle_t *)&k->tick, cli_handle_closed);
  }
}
static void cli_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  cli_t *k = s->data;
  (void)b;
  if (n > 0) {
    k->in_len += (size_t)n;
    k->in[k->in_len] = '\0';
  } else if (n < 0) {
    k->eof = 1;
    k->eof_at = uv_now(loop);
    cli_close(k);
  }
}
static void cli_written(uv_write_t *w, int status) {
  (void)status;
  free(w);
}
static void cli_write(cli_t *k, const void *data, size_t n) {
  if (uv_is_closing((uv_handle_t *)&k->tcp) || n == 0) return;
  cli_write_t *w = malloc(sizeof *w + n);
  memcpy(w->data, data, n);
  uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
  if (uv_write(&w->req, (uv_stream_t *)&k->tcp, &b, 1, cli_written) != 0) free(w);
}
static void cli_tick(uv_timer_t *t) {
  cli_t *k = t->data;
  size_t n = k->chunk;
  if (n > k->out_len - k->sent) n = k->out_len - k->sent;
  cli_write(k, k->out + k->sent, n);
  k->sent += n;
  if (k->sent == k->out_len) uv_timer_stop(&k->tick);
}
static void cli_connected(uv_connect_t *req, int status) {
  cli_t *k = req->data;
  if (status < 0) {
    k->eof = 1;
    cli_close(k);
    return;
  }
  k->connected = 1;
  uv_read_start((uv_stream_t *)&k->tcp, cli_alloc, cli_read);
  if (k->chunk > 0) {
    uv_timer_start(&k->tick, cli_tick, 5, 5);
  } else {
    cli_write(k, k->out, k->out_len);
    k->sent = k->out_len;
  }
}
/* Connects and sends data (all at once, or chunk bytes every 5 ms). Writes
 * issued before the connection completes are queued by libuv. */
static void cli_open(cli_t *k, int port, const void *data, size_t len, size_t chunk) {
  memset(k, 0, sizeof *k);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", port, &a);
  uv_tcp_init(loop, &k->tcp);
  uv_timer_init(loop, &k->tick);
  k->handles = 2;
  k->tcp.data = k->tick.data = k->creq.data = k;
  k->out = dup_mem(data, len);
  k->out_len = len;
  k->chunk = chunk;
  uv_tcp_connect(&k->creq, &k->tcp, (const struct sockaddr *)&a, cli_connected);
}

/* ---------------------------------------------------------- responses --- */

typedef struct {
  int status;
  char head[2048];
  char body[8192];
  size_t body_len;
} resp_t;

/* Parses the complete final responses in buf (1xx skipped) into out[0..max);
 * returns how many. Content-Length delimits bodies (always sent here). */
static int parse_responses(const char *buf, size_t len, resp_t *out, int max) {
  size_t pos = 0;
  int n = 0;
  while (pos < len && n < max) {
    const char *end = memmem(buf + pos, len - pos, "\r\n\r\n", 4);
    if (end == NULL) break;
    size_t hl = (size_t)(end + 4 - (buf + pos));
    char head[2048];
    snprintf(head, sizeof head, "%.*s", (int)(hl < sizeof head ? hl : sizeof head - 1), buf + pos);
    int status = atoi(head + 9);
    const char *cl = strcasestr(head, "\r\nContent-Length: ");
    size_t body = cl ? strtoul(cl + 18, NULL, 10) : 0;
    if (status >= 100 && status < 200) {
      pos += hl;
      continue;
    }
    if (pos + hl + body > len) break;
    if (out != NULL) {
      resp_t *r = &out[n];
      r->status = status;
      memcpy(r->head, head, sizeof head);
      r->body_len = body < sizeof r->body ? body : sizeof r->body - 1;
      memcpy(r->body, buf + pos + hl, r->body_len);
      r->body[r->body_len] = '\0';
    }
    n++;
    pos += hl + body;
  }
  return n;
}

/* ------------------------------------------------------------ driving --- */

static void on_watchdog(uv_timer_t *t) {
  (void)t;
  timed_out = 1;
}

/* Runs the loop until pred(arg) holds or ms pass. Returns pred(arg). */
static int run_until(int (*pred)(void *), void *arg, unsigned ms, const char *what) {
  timed_out = 0;
  uv_timer_start(&watchdog, on_watchdog, ms, 0);
  while (!pred(arg) && !timed_out) uv_run(loop, UV_RUN_ONCE);
  uv_timer_stop(&watchdog);
  if (!pred(arg)) printf("watchdog: timed out waiting for %s\n", what);
  return pred(arg);
}

static int want_n;
static int p_responses(void *arg) {
  cli_t *k = arg;
  return parse_responses(k->in, k->in_len, NULL, 1 << 20) >= want_n || k->closed;
}
static int p_closed(void *arg) { return ((cli_t *)arg)->closed; }
static int p_contains_continue(void *arg) {
  cli_t *k = arg;
  return (k->in != NULL && strstr(k->in, "100 Continue\r\n\r\n") != NULL) || k->closed;
}
static flow_http_server_t *cur_srv;
static int p_conns(void *arg) { return flow_http_server_connections(cur_srv) == *(int *)arg; }

/* Closes k if a failed check left it open (it lives on the caller's stack),
 * waits for its handles, frees its buffers. */
static void cli_free(cli_t *k) {
  cli_close(k);
  run_until(p_closed, k, 3000, "client handles closed");
  free(k->out);
  free(k->in);
  k->out = k->in = NULL;
}

/* Waits for n final responses on k; returns how many were parsed into out. */
static int wait_responses(cli_t *k, int n, resp_t *out, const char *what) {
  want_n = n;
  run_until(p_responses, k, 3000, what);
  return parse_responses(k->in, k->in_len, out, n);
}

static int wait_conns(flow_http_server_t *s, int n, const char *what) {
  cur_srv = s;
  return run_until(p_conns, &n, 3000, what);
}

static void sleep_loop(unsigned ms) {
  timed_out = 0;
  uv_timer_start(&watchdog, on_watchdog, ms, 0);
  while (!timed_out) uv_run(loop, UV_RUN_ONCE);
}

/* One request on a fresh connection: the first response into *r, then the
 * client closes. Returns 1 when a response came. */
static int roundtrip(int port, const char *req, size_t len, resp_t *r) {
  cli_t k;
  cli_open(&k, port, req, len, 0);
  int got = wait_responses(&k, 1, r, req);
  cli_close(&k);
  run_until(p_closed, &k, 3000, "client close");
  cli_free(&k);
  return got == 1;
}
#define ROUNDTRIP(port, lit, r) roundtrip((port), (lit), sizeof(lit) - 1, (r))

/* ----------------------------------------------------------- log lines --- */

static FILE *logf_;

static long log_mark(void) {
  fflush(stderr);
  return lseek(2, 0, SEEK_CUR);
}

/* The stderr lines written since mark (malloc'd). */
static char *log_since(long mark) {
  long end = log_mark();
  size_t n = end > mark ? (size_t)(end - mark) : 0;
  char *s = calloc(1, n + 1);
  if (n > 0 && pread(fileno(logf_), s, n, mark) != (ssize_t)n) s[0] = '\0';
  return s;
}

static int count_of(const char *s, const char *needle) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, needle)) != NULL; p++) n++;
  return n;
}

/* ---------------------------------------------------------- the tests --- */

static flow_http_server_t *srv;    /* max_header 1024, max_body 4096, idle 2000 */
static flow_http_server_t *quick;  /* idle 150 ms */
static flow_http_server_t *small;  /* max_connections 2 */
static flow_http_server_t *authd;  /* secret */
static int port, quick_port, small_port, auth_port;

static void test_get(void) {
  CTEST_CASE("GET with query and headers");
  static const char req[] =
      "GET /jobs/abc?x=1&y=%20z HTTP/1.1\r\nHost: h\r\nX-Test:   Hello World\r\nX-Empty:\r\n\r\n";
  cli_t k;
  resp_t r[1];
  int calls = H.calls;
  cli_open(&k, port, req, sizeof req - 1, 0);
  CHECK_EQ_INT(wait_responses(&k, 1, r, "GET"), 1);
  CHECK_EQ_INT(H.calls, calls + 1);
  CHECK_STR(H.method, "GET");
  CHECK_STR(H.path, "/jobs/abc");
  CHECK_STR(H.query, "x=1&y=%20z");
  CHECK_STR(H.x_test, "Hello World");
  CHECK_EQ_INT(H.x_empty_null, 0);
  CHECK_EQ_INT(H.absent_null, 1);
  CHECK_EQ_INT(H.n_headers, 3);
  CHECK_STR(H.headers, "Host=h\nX-Test=Hello World\nX-Empty=\n");
  CHECK_EQ_INT(H.authenticated, 0);
  CHECK_EQ_INT(H.body_len, 0);
  CHECK(strncmp(H.peer, "127.0.0.1:", 10) == 0);
  CHECK_EQ_INT(r[0].status, 200);
  CHECK(strncmp(r[0].head, "HTTP/1.1 200 OK\r\n", 17) == 0);
  CHECK_CONTAINS(r[0].head, "\r\nContent-Type: application/json\r\n");
  CHECK_CONTAINS(r[0].head, "\r\nContent-Length: ");
  CHECK_NOT_CONTAINS(r[0].head, "Connection: close");
  CHECK_CONTAINS(r[0].body, "\"path\":\"/jobs/abc\"");
  sleep_loop(30);
  CHECK_EQ_INT(k.eof, 0); /* keep-alive */
  CHECK_EQ_INT(flow_http_server_connections(srv), 1);
  cli_close(&k);
  run_until(p_closed, &k, 3000, "close");
  cli_free(&k);
  CHECK(wait_conns(srv, 0, "server side closed"));

  CTEST_CASE("handler status and content type");
  CHECK(ROUNDTRIP(port, "GET /teapot HTTP/1.1\r\n\r\n", r));
  CHECK_EQ_INT(r[0].status, 418);
  CHECK_CONTAINS(r[0].head, "\r\nContent-Type: text/plain\r\n");
  CHECK_CONTAINS(r[0].head, "\r\nContent-Length: 15\r\n");
  CHECK_STR(r[0].body, "short and stout");
}

static void test_post(void) {
  CTEST_CASE("POST body");
  static const char req[] = "POST /echo HTTP/1.1\r\nContent-Length: 6\r\n\r\na\0b\xff\r\n";
  resp_t r[1];
  CHECK(ROUNDTRIP(port, req, r));
  CHECK_STR(H.method, "POST");
  CHECK_EQ_INT(H.body_len, 6);
  CHECK(memcmp(H.body, "a\0b\xff\r\n", 6) == 0);
  CHECK_EQ_INT(r[0].status, 200);
  CHECK_EQ_INT(r[0].body_len, 6);
  CHECK(memcmp(r[0].body, "a\0b\xff\r\n", 6) == 0);
  CHECK_CONTAINS(r[0].head, "\r\nContent-Type: application/octet-stream\r\n");

  CTEST_CASE("Expect: 100-continue");
  static const char head[] =
      "PUT /echo HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
  cli_t k;
  cli_open(&k, port, head, sizeof head - 1, 0);
  CHECK(run_until(p_contains_continue, &k, 3000, "100 Continue"));
  CHECK(strncmp(k.in ? k.in : "", "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0);
  cli_write(&k, "hello", 5);
  CHECK_EQ_INT(wait_responses(&k, 1, r, "after 100"), 1);
  CHECK_EQ_INT(r[0].status, 200);
  CHECK_STR(r[0].body, "hello");
  cli_close(&k);
  run_until(p_closed, &k, 3000, "close");
  cli_free(&k);

  CTEST_CASE("invalid handler response");
  CHECK(ROUNDTRIP(port, "GET /bad HTTP/1.1\r\n\r\n", r));
  CHECK_EQ_INT(r[0].status, 500);
  CHECK_CONTAINS(r[0].body, "{\"errors\":[\"");
}

static void test_keepalive(void) {
  CTEST_CASE("keep-alive: sequential");
  cli_t k;
  resp_t r[3];
  cli_open(&k, port, "GET /one HTTP/1.1\r\n\r\n", 21, 0);
  CHECK_EQ_INT(wait_responses(&k, 1, r, "first"), 1);
  cli_write(&k, "POST /two HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 44);
  CHECK_EQ_INT(wait_responses(&k, 2, r, "second"), 2);
  CHECK_CONTAINS(r[0].body, "\"/one\"");
  CHECK_CONTAINS(r[1].body, "\"/two\"");
  CHECK_EQ_INT(H.body_len, 3);
  CHECK_EQ_INT(flow_http_server_connections(srv), 1);
  CHECK_EQ_INT(k.eof, 0);
  cli_close(&k);
  run_until(p_closed, &k, 3000, "close");
  cli_free(&k);

  CTEST_CASE("keep-alive: pipelined, answered in order");
  static const char three[] =
      "GET /p1 HTTP/1.1\r\n\r\nPOST /p2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /p3?q HTTP/1.1\r\n\r\n";
  cli_open(&k, port, three, sizeof three - 1, 0);
  CHECK_EQ_INT(wait_responses(&k, 3, r, "three pipelined"), 3);
  CHECK_CONTAINS(r[0].body, "\"/p1\"");
  CHECK_CONTAINS(r[1].body, "\"/p2\"");
  CHECK_CONTAINS(r[2].body, "\"/p3\"");
  CHECK_STR(H.query, "q");
  cli_close(&k);
  run_until(p_closed, &k, 3000, "close");
  cli_free(&k);

  CTEST_CASE("Connection: close");
  static const char cl[] = "GET /c HTTP/1.1\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\n\r\n";
  cli_open(&k, port, cl, sizeof cl - 1, 0);
  CHECK_EQ_INT(wait_responses(&k, 1, r, "close"), 1);
  CHECK(run_until(p_closed, &k, 3000, "server closes"));
  CHECK_EQ_INT(k.eof, 1);
  CHECK_CONTAINS(r[0].head, "\r\nConnection: close\r\n");
  CHECK_EQ_INT(parse_responses(k.in, k.in_len, NULL, 8), 1); /* /never not answered */
  CHECK_STR(H.path, "/c");
  cli_free(&k);

  CTEST_CASE("HTTP/1.0 closes by default");
  cli_open(&k, port, "GET /old HTTP/1.0\r\n\r\n", 21, 0);
  CHECK_EQ_INT(wait_responses(&k, 1, r, "1.0"), 1);
  CHECK(run_until(p_closed, &k, 3000, "server closes 1.0"));
  CHECK_CONTAINS(r[0].head, "\r\nConnection: close\r\n");
  cli_free(&k);
  CHECK(wait_conns(srv, 0, "all closed"));
}

/* A hostile request: the server answers status (0: no answer) with an error
 * containing errmsg, closes only this connection, logs one line containing
 * errmsg, never calls the handler; then a good request still works. */
static void hostile(const char *tag, const void *bytes, size_t len, size_t chunk, int status,
                    const char *errmsg) {
  CTEST_CASE(tag);
  long mark = log_mark();
  int calls = H.calls;
  cli_t k;
  resp_t r[1];
  cli_open(&k, port, bytes, len, chunk);
  CHECK(run_until(p_closed, &k, 3000, tag));
  CHECK_EQ_INT(k.eof, 1);
  int n = parse_responses(k.in, k.in_len, r, 1);
  CHECK_EQ_INT(n, 1);
  if (n == 1) {
    CHECK_EQ_INT(r[0].status, status);
    CHECK_CONTAINS(r[0].head, "\r\nConnection: close\r\n");
    CHECK_CONTAINS(r[0].head, "\r\nContent-Type: application/json\r\n");
    CHECK(strncmp(r[0].body, "{\"errors\":[\"", 12) == 0);
    CHECK_CONTAINS(r[0].body, errmsg);
  }
  cli_free(&k);
  CHECK(wait_conns(srv, 0, "server side closed"));
  CHECK_EQ_INT(H.calls, calls);
  char *log = log_since(mark);
  CHECK_EQ_INT(count_of(log, "\n"), 1);
  CHECK_EQ_INT(count_of(log, "flowlua: rest: 127.0.0.1:"), 1);
  CHECK_CONTAINS(log, errmsg);
  free(log);
  resp_t ok[1];
  CHECK(ROUNDTRIP(port, "GET /after HTTP/1.1\r\n\r\n", ok));
  CHECK_EQ_INT(ok[0].status, 200);
  CHECK_EQ_INT(H.calls, calls + 1);
}

static void test_hostile(void) {
  static const char garbage[] = "\x16\x03\x01\x02\x00\x01\x00\xff\xfe GARBAGE\r\n\r\n";
  hostile("garbage -> 400", garbage, sizeof garbage - 1, 0, 400, "malformed request");
  static const char nul[] = "GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n";
  hostile("NUL in a header -> 400", nul, sizeof nul - 1, 0, 400, "malformed request");
  static const char bad_cl[] = "POST / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n";
  hostile("bad Content-Length -> 400", bad_cl, sizeof bad_cl - 1, 0, 400, "malformed request");

  /* headers over 1024 bytes: one big line, sent at once */
  char big[4096];
  int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nX-Big: %01500d\r\n\r\n", 7);
  hostile("oversized headers -> 431", big, (size_t)n, 0, 431, "exceed the limit of 1024 bytes");
  /* many small lines, trickled in pieces */
  size_t m = (size_t)snprintf(big, sizeof big, "GET / HTTP/1.1\r\n");
  while (m < 3000) m += (size_t)snprintf(big + m, sizeof big - m, "X-%zu: v\r\n", m);
  hostile("oversized headers, trickled -> 431", big, m, 97, 431, "exceed the limit");
  /* a 1 MiB header line: bounded, refused early */
  size_t huge_len = 1024 * 1024;
  char *huge = malloc(huge_len);
  memset(huge, 'a', huge_len);
  memcpy(huge, "GET / HTTP/1.1\r\nX-Huge: ", 24);
  hostile("1 MiB header line -> 431", huge, huge_len, 0, 431, "exceed the limit");
  free(huge);

  static const char big_cl[] = "POST /x HTTP/1.1\r\nContent-Length: 5000\r\n\r\n";
  hostile("Content-Length over the limit -> 413", big_cl, sizeof big_cl - 1, 0, 413,
          "request body of 5000 bytes exceeds the limit of 4096 bytes");

  /* chunked: 5 chunks of 1000 bytes, the fifth goes over 4096 */
  char *ch = malloc(8192);
  m = (size_t)snprintf(ch, 8192, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 5; i++) {
    m += (size_t)snprintf(ch + m, 8192 - m, "3e8\r\n");
    memset(ch + m, 'c', 1000);
    m += 1000;
    m += (size_t)snprintf(ch + m, 8192 - m, "\r\n");
  }
  m += (size_t)snprintf(ch + m, 8192 - m, "0\r\n\r\n");
  hostile("chunked body over the limit -> 413", ch, m, 0, 413,
          "request body exceeds the limit of 4096 bytes");
  free(ch);
}

static void test_truncated(void) {
  CTEST_CASE("truncated request then disconnect");
  long mark = log_mark();
  int calls = H.calls;
  static const char req[] = "POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
  cli_t k;
  cli_open(&k, port, req, sizeof req - 1, 0);
  int one = 1;
  CHECK(wait_conns(srv, one, "accepted"));
  sleep_loop(30); /* the server has read the partial request */
  cli_close(&k);
  run_until(p_closed, &k, 3000, "close");
  cli_free(&k);
  CHECK(wait_conns(srv, 0, "server side closed"));
  CHECK_EQ_INT(H.calls, calls);
  char *log = log_since(mark);
  CHECK_EQ_INT(count_of(log, "\n"), 1);
  CHECK_CONTAINS(log, "disconnected mid-request");
  free(log);
  resp_t r[1];
  CHECK(ROUNDTRIP(port, "GET /still HTTP/1.1\r\n\r\n", r));
  CHECK_EQ_INT(r[0].status, 200);

  CTEST_CASE("disconnect between requests is silent");
  mark = log_mark();
  CHECK(ROUNDTRIP(port, "GET /x HTTP/1.1\r\n\r\n", r));
  CHECK(wait_conns(srv, 0, "closed"));
  log = log_since(mark);
  CHECK_STR(log, "");
  free(log);
}

static void test_chunked(void) {
  CTEST_CASE("chunked body");
  static const char req[] =
      "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
  resp_t r[2];
  CHECK(ROUNDTRIP(port, req, r));
  CHECK_EQ_INT(r[0].status, 200);
  CHECK_STR(r[0].body, "hello world");
  CHECK_EQ_INT(H.body_len, 11);
  CHECK_NOT_CONTAINS(H.headers, "X-Trailer");

  CTEST_CASE("chunked body, trickled 3 bytes at a time, then keep-alive");
  static const char two[] =
      "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "a\r\n0123456789\r\n1\r\nX\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n";
  cli_t k;
  cli_open(&k, port, two, sizeof two - 1, 3);
  CHECK_EQ_INT(wait_responses(&k, 2, r, "trickled"), 2);
  CHECK_STR(r[0].body, "0123456789X");
  CHECK_CONTAINS(r[1].body, "\"/next\"");
  cli_close(&k);
  run_until(p_closed, &k, 3000, "close");
  cli_free(&k);
}

static void test_timeouts(void) {
  CTEST_CASE("idle connection closed silently");
  long mark = log_mark();
  cli_t k;
  uint64_t t0 = uv_now(loop);
  cli_open(&k, quick_port, "", 0, 0);
  CHECK(run_until(p_closed, &k, 3000, "idle close"));
  CHECK_EQ_INT(k.eof, 1);
  CHECK(k.eof_at - t0 >= 140);
  cli_free(&k);
  CHECK(wait_conns(quick, 0, "closed"));

  CTEST_CASE("idle after a response");
  resp_t r[1];
  t0 = uv_now(loop);
  cli_open(&k, quick_port, "GET / HTTP/1.1\r\n\r\n", 18, 0);
  CHECK_EQ_INT(wait_responses(&k, 1, r, "response"), 1);
  CHECK_EQ_INT(r[0].status, 200);
  CHECK(run_until(p_closed, &k, 3000, "idle close after response"));
  CHECK_EQ_INT(k.eof, 1);
  cli_free(&k);
  char *log = log_since(mark);
  CHECK_STR(log, "");
  free(log);

  CTEST_CASE("slowloris: a trickled request is still cut at the deadline");
  mark = log_mark();
  char slow[2000];
  memcpy(slow, "GET / HTTP/1.1\r\nX-Slow: ", 24);
  memset(slow + 24, 's', sizeof slow - 24);
  t0 = uv_now(loop);
  cli_open(&k, quick_port, slow, sizeof slow, 1); /* 1 byte / 5 ms: 10 s */
  CHECK(run_until(p_closed, &k, 3000, "slowloris close"));
  CHECK_EQ_INT(k.eof, 1);
  CHECK(k.eof_at - t0 < 1500);
  CHECK_EQ_INT(parse_responses(k.in, k.in_len, NULL, 1), 0);
  cli_free(&k);
  CHECK(wait_conns(quick, 0, "closed"));
  log = log_since(mark);
  CHECK_EQ_INT(count_of(log, "\n"), 1);
  CHECK_CONTAINS(log, "timed out after 150 ms waiting for the rest of the request");
  free(log);
}

static void test_max_connections(void) {
  CTEST_CASE("max_connections");
  long mark = log_mark();
  cli_t a, b, c;
  cli_open(&a, small_port, "", 0, 0);
  cli_open(&b, small_port, "", 0, 0);
  CHECK(wait_conns(small, 2, "two accepted"));
  cli_open(&c, small_port, "GET / HTTP/1.1\r\n\r\n", 18, 0);
  CHECK(run_until(p_closed, &c, 3000, "third refused"));
  CHECK_EQ_INT(c.eof, 1);
  CHECK_EQ_INT(c.in_len, 0);
  CHECK_EQ_INT(a.eof + b.eof, 0);
  CHECK_EQ_INT(flow_http_server_connections(small), 2);
  resp_t r[1];
  cli_write(&a, "GET /a HTTP/1.1\r\n\r\n", 19);
  CHECK_EQ_INT(wait_responses(&a, 1, r, "a still served"), 1);
  CHECK_EQ_INT(r[0].status, 200);
  cli_close(&a);
  run_until(p_closed, &a, 3000, "close a");
  CHECK(wait_conns(small, 1, "a gone"));
  cli_t d;
  cli_open(&d, small_port, "GET /d HTTP/1.1\r\n\r\n", 19, 0);
  CHECK_EQ_INT(wait_responses(&d, 1, r, "d served"), 1);
  CHECK_EQ_INT(r[0].status, 200);
  cli_close(&b);
  cli_close(&d);
  run_until(p_closed, &b, 3000, "close b");
  run_until(p_closed, &d, 3000, "close d");
  cli_free(&a);
  cli_free(&b);
  cli_free(&c);
  cli_free(&d);
  CHECK(wait_conns(small, 0, "all closed"));
  char *log = log_since(mark);
  CHECK_EQ_INT(count_of(log, "\n"), 1);
  CHECK_CONTAINS(log, "too many connections (limit 2)");
  free(log);
}

/* ---------------------------------------------------------------- auth --- */

static const char secret[] = "s3cret-\x01-key";

static int get_nonce(char *out) {
  resp_t r[1];
  if (!ROUNDTRIP(auth_port, "GET /auth/nonce HTTP/1.1\r\n\r\n", r)) return 0;
  CHECK_EQ_INT(r[0].status, 200);
  CHECK_CONTAINS(r[0].head, "\r\nContent-Type: application/json\r\n");
  if (strncmp(r[0].body, "{\"nonce\":\"", 10) != 0 || r[0].body_len != 10 + 64 + 2) return 0;
  memcpy(out, r[0].body + 10, 64);
  out[64] = '\0';
  return strspn(out, "0123456789abcdef") == 64;
}

/* hex HMAC-SHA256(secret, nonce \n method \n target \n body) */
static void mac_hex(const char *nonce, const char *method, const char *target, const char *body,
                    char *out) {
  char in[1024];
  int n = snprintf(in, sizeof in, "%s\n%s\n%s\n%s", nonce, method, target, body);
  unsigned char mac[32];
  unsigned len = 0;
  HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)in, (size_t)n, mac, &len);
  for (unsigned i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", mac[i]);
}

static int signed_request(const char *method, const char *target, const char *body,
                          const char *nonce, const char *mac, resp_t *r) {
  char req[2048];
  int n = snprintf(req, sizeof req,
                   "%s %s HTTP/1.1\r\nX-Flowlua-Nonce: %s\r\nx-flowlua-auth: %s\r\n"
                   "Content-Length: %zu\r\n\r\n%s",
                   method, target, nonce, mac, strlen(body), body);
  return roundtrip(auth_port, req, (size_t)n, r);
}

static void test_auth(void) {
  CTEST_CASE("auth: nonce endpoint is the server's");
  int calls = H.calls;
  char nonce[65] = "", nonce2[65] = "", mac[65];
  CHECK(get_nonce(nonce));
  CHECK(get_nonce(nonce2));
  CHECK(strcmp(nonce, nonce2) != 0);
  CHECK_EQ_INT(H.calls, calls);

  CTEST_CASE("auth: POST without auth -> 401");
  long mark = log_mark();
  resp_t r[1];
  CHECK(ROUNDTRIP(auth_port, "POST /jobs HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", r));
  CHECK_EQ_INT(r[0].status, 401);
  CHECK_CONTAINS(r[0].body, "{\"errors\":[\"authentication required: missing X-Flowlua-Nonce");
  CHECK_EQ_INT(H.calls, calls);
  char *log = log_since(mark);
  CHECK_EQ_INT(count_of(log, "\n"), 1);
  CHECK_CONTAINS(log, "401: POST /jobs: authentication required");
  free(log);

  CTEST_CASE("auth: nonce without MAC -> 401");
  char req[512];
  int n = snprintf(req, sizeof req, "DELETE /jobs/1 HTTP/1.1\r\nX-Flowlua-Nonce: %s\r\n\r\n", nonce2);
  CHECK(roundtrip(auth_port, req, (size_t)n, r));
  CHECK_EQ_INT(r[0].status, 401);
  CHECK_CONTAINS(r[0].body, "missing X-Flowlua-Auth");

  CTEST_CASE("auth: wrong MAC -> 401, and the nonce is spent");
  mac_hex(nonce, "POST", "/jobs", "{\"a\":2}", mac); /* signed another body */
  CHECK(signed_request("POST", "/jobs", "{\"a\":1}", nonce, mac, r));
  CHECK_EQ_INT(r[0].status, 401);
  CHECK_CONTAINS(r[0].body, "X-Flowlua-Auth does not match");
  mac_hex(nonce, "POST", "/jobs", "{\"a\":1}", mac);
  CHECK(signed_request("POST", "/jobs", "{\"a\":1}", nonce, mac, r));
  CHECK_EQ_INT(r[0].status, 401);
  CHECK_CONTAINS(r[0].body, "unknown, expired or already used nonce");
  CHECK_EQ_INT(H.calls, calls);
  CHECK(signed_request("POST", "/jobs", "{}", "00", "zz", r));
  CHECK_EQ_INT(r[0].status, 401);
  CHECK_CONTAINS(r[0].body, "unknown, expired or already used nonce");

  CTEST_CASE("auth: correct MAC -> handler, authenticated");
  CHECK(get_nonce(nonce));
  mac_hex(nonce, "PATCH", "/jobs/abc?mode=cancel", "{\"a\":1}", mac);
  CHECK(signed_request("PATCH", "/jobs/abc?mode=cancel", "{\"a\":1}", nonce, mac, r));
  CHECK_EQ_INT(r[0].status, 200);
  CHECK_EQ_INT(H.calls, calls + 1);
  CHECK_EQ_INT(H.authenticated, 1);
  CHECK_STR(H.method, "PATCH");
  CHECK_STR(H.path, "/jobs/abc");
  CHECK_STR(H.query, "mode=cancel");
  CHECK_EQ_INT(H.body_len, 7);

  CTEST_CASE("auth: replay -> 401");
  CHECK(signed_request("PATCH", "/jobs/abc?mode=cancel", "{\"a\":1}", nonce, mac, r));
  CHECK_EQ_INT(r[0].status, 401);
  CHECK_CONTAINS(r[0].body, "already used");
  CHECK_EQ_INT(H.calls, calls + 1);

  CTEST_CASE("auth: the MAC covers the target");
  CHECK(get_nonce(nonce));
  mac_hex(nonce, "POST", "/jobs", "", mac);
  CHECK(signed_request("POST", "/jobs?x=1", "", nonce, mac, r));
  CHECK_EQ_INT(r[0].status, 401);
  CHECK(get_nonce(nonce));
  mac_hex(nonce, "POST", "/jobs", "", mac);
  CHECK(signed_request("POST", "/jobs", "", nonce, mac, r)); /* empty body */
  CHECK_EQ_INT(r[0].status, 200);
  CHECK_EQ_INT(H.authenticated, 1);
  CHECK_EQ_INT(H.calls, calls + 2);

  CTEST_CASE("auth: GET reaches the handler unauthenticated");
  CHECK(ROUNDTRIP(auth_port, "GET /jobs HTTP/1.1\r\n\r\n", r));
  CHECK_EQ_INT(r[0].status, 200);
  CHECK_EQ_INT(H.calls, calls + 3);
  CHECK_EQ_INT(H.authenticated, 0);

  CTEST_CASE("auth: at most 256 outstanding nonces");
  CHECK(get_nonce(nonce)); /* the oldest of the next 257 */
  static char many[300 * 32];
  size_t m = 0;
  for (int i = 0; i < FLOW_HTTP_MAX_NONCES; i++)
    m += (size_t)snprintf(many + m, sizeof many - m, "GET /auth/nonce HTTP/1.1\r\n\r\n");
  cli_t k;
  static resp_t rs[FLOW_HTTP_MAX_NONCES];
  cli_open(&k, auth_port, many, m, 0);
  CHECK_EQ_INT(wait_responses(&k, FLOW_HTTP_MAX_NONCES, rs, "256 nonces"), FLOW_HTTP_MAX_NONCES);
  cli_close(&k);
  run_until(p_closed, &k, 3000, "close");
  cli_free(&k);
  mac_hex(nonce, "POST", "/jobs", "", mac);
  CHECK(signed_request("POST", "/jobs", "", nonce, mac, r));
  CHECK_EQ_INT(r[0].status, 401); /* dropped as the oldest */
  char last[65];
  snprintf(last, sizeof last, "%.64s", rs[FLOW_HTTP_MAX_NONCES - 1].body + 10);
  mac_hex(last, "POST", "/jobs", "", mac);
  CHECK(signed_request("POST", "/jobs", "", last, mac, r));
  CHECK_EQ_INT(r[0].status, 200);
  CHECK_EQ_INT(H.authenticated, 1);
}

/* --------------------------------------------------------------- main --- */

static flow_http_opts_t base_opts(void) {
  flow_http_opts_t o = {0};
  o.handler = handler;
  o.data = &H;
  return o;
}

int main(void) {
  /* The server logs refused peers to stderr: capture it to check them. */
  logf_ = tmpfile();
  int saved_err = dup(2);
  if (logf_ == NULL || saved_err < 0) return 2;
  fflush(stderr);
  dup2(fileno(logf_), 2);

  loop = uv_default_loop();
  uv_timer_init(loop, &watchdog);

  CTEST_CASE("listen");
  flow_http_opts_t o = base_opts();
  flow_http_server_t *none = NULL;
  CHECK_EQ_INT(flow_http_listen(loop, "localhost", 0, &o, &none), FLOW_EINVAL);
  o.handler = NULL;
  CHECK_EQ_INT(flow_http_listen(loop, NULL, 0, &o, &none), FLOW_EINVAL);
  CHECK_NULL(none);

  o = base_opts();
  o.max_header_bytes = 1024;
  o.max_body_bytes = 4096;
  o.idle_timeout_ms = 2000;
  CHECK_EQ_INT(flow_http_listen(loop, NULL, 0, &o, &srv), 0);
  o = base_opts();
  o.idle_timeout_ms = 150;
  CHECK_EQ_INT(flow_http_listen(loop, "127.0.0.1", 0, &o, &quick), 0);
  o = base_opts();
  o.max_connections = 2;
  CHECK_EQ_INT(flow_http_listen(loop, NULL, 0, &o, &small), 0);
  o = base_opts();
  o.secret = secret;
  CHECK_EQ_INT(flow_http_listen(loop, NULL, 0, &o, &authd), 0);

  if (srv != NULL && quick != NULL && small != NULL && authd != NULL) {
    port = flow_http_server_port(srv);
    quick_port = flow_http_server_port(quick);
    small_port = flow_http_server_port(small);
    auth_port = flow_http_server_port(authd);
    CHECK(port > 0 && port != quick_port);
    test_get();
    test_post();
    test_keepalive();
    test_hostile();
    test_truncated();
    test_chunked();
    test_timeouts();
    test_max_connections();
    test_auth();

    CTEST_CASE("server close with open connections");
    cli_t a, b;
    cli_open(&a, port, "", 0, 0);
    cli_open(&b, port, "GET /x HTTP/1.1\r\nX-Partial: ", 29, 0);
    CHECK(wait_conns(srv, 2, "two open"));
    flow_http_server_close(srv);
    flow_http_server_close(srv); /* idempotent */
    CHECK(run_until(p_closed, &a, 3000, "a closed by the server"));
    CHECK(run_until(p_closed, &b, 3000, "b closed by the server"));
    cli_free(&a);
    cli_free(&b);
  }
  flow_http_server_close(quick);
  flow_http_server_close(small);
  flow_http_server_close(authd);

  uv_close((uv_handle_t *)&watchdog, NULL);
  for (int i = 0; i < 100 && uv_run(loop, UV_RUN_NOWAIT) != 0; i++) {
  }
  CTEST_CASE("teardown");
  CHECK_EQ_INT(uv_loop_close(loop), 0); /* every handle was closed, servers freed */

  fflush(stderr);
  char *text = log_since(0);
  dup2(saved_err, 2);
  close(saved_err);
  fclose(logf_);
  printf("--- rest log ---\n%s---\n", text);
  free(text);
  return CTEST_SUMMARY();
}
