/* REST endpoint, HTTP/1.1 layer: see http_server.h and docs/rest.md.
 *
 * A connection owns two handles (the TCP stream and one timer: the request /
 * write deadline, then the close linger); it is freed when both close
 * callbacks ran. libuv completes every pending write and shutdown request
 * (UV_ECANCELED) before the stream's close callback, so a request callback
 * that finds the connection CLOSED only frees its request.
 *
 * Parsing: http-parser is fed from the connection's read buffer rbuf; the
 * bytes not fed yet are rbuf[rpos, rlen). The parser is paused in
 * on_headers_complete (limits, 100-continue) and in on_message_complete
 * (dispatch), so http_parser_execute returns exactly where a request ends and
 * pipelined bytes stay in rbuf until the response is written. Invariant:
 * reading is active only in ST_READING (or ST_LINGER, discarding) with
 * rpos == rlen, so on_alloc may always hand out the whole rbuf. */
#include "net/tcp_addr.h"
#include "net/http_server.h"

#include "util/common.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <http_parser.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define READ_BUF_LEN (16u * 1024u)
#define LINGER_MS 2000u      /* at most this long draining a peer after our last response */
#define HEAD_MAX 512         /* status line + our headers */
#define CONTENT_TYPE_MAX 200
#define NONCE_BYTES 32
#define NONCE_HEX (2 * NONCE_BYTES)
#define MAC_BYTES 32         /* SHA-256 */
#define NO_VALUE UINT32_MAX

typedef enum {
  ST_READING, /* parsing a request; the idle/request deadline runs */
  ST_BUSY,    /* a request is dispatched or its response is being written; not reading */
  ST_LINGER,  /* our last response is written: shut down, drain the peer until EOF */
  ST_CLOSED   /* uv_close issued */
} conn_state_t;

typedef enum { EV_NONE, EV_HEADERS, EV_MESSAGE } parse_event_t;
typedef enum { PH_URL, PH_FIELD, PH_VALUE } parse_phase_t;

typedef struct nonce {
  char hex[NONCE_HEX + 1];
  uint64_t expires; /* uv_now() ms */
  uint64_t seq;     /* issue order: the smallest is dropped first */
} nonce_t;

typedef struct http_conn http_conn_t;

struct flow_http_server {
  uv_tcp_t tcp;
  uv_loop_t *loop;
  flow_http_opts_t opts;           /* resolved: no zeros left */
  uint8_t *secret;                 /* opts.secret points here; NULL without auth */
  http_conn_t *conns;
  int n_conns;
  int closing, listener_closed;
  int port;
  nonce_t nonces[FLOW_HTTP_MAX_NONCES]; /* outstanding, unordered */
  int n_nonces;
  uint64_t nonce_seq;
};

struct http_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_shutdown_t shutdown_req;
  flow_http_server_t *server;
  http_conn_t *prev, *next;        /* in server->conns */
  conn_state_t state;
  int handles_open;                /* close callbacks still to come */
  int reading;                     /* uv_read_start is in effect */
  int close_after;                 /* the response being written is the last one */
  http_parser parser;              /* parser.data == this */
  parse_event_t event;             /* set by a pausing callback */
  uint8_t *rbuf;
  size_t rpos, rlen;               /* bytes of rbuf not fed to the parser yet */
  /* the request being parsed */
  int in_message;                  /* on_message_begin seen, not dispatched */
  int in_body;                     /* headers complete: body, then trailers */
  size_t hdr_bytes;                /* raw bytes before the end of the headers */
  size_t trailer_bytes;            /* chunked trailers, raw header data bytes */
  parse_phase_t phase;
  char *hbuf;                      /* url \0 name \0 value \0 ...; bounded by hbuf_max */
  size_t hlen, hcap;
  struct { uint32_t name, value; } hdrs[FLOW_HTTP_MAX_HEADERS]; /* offsets into hbuf */
  int n_hdrs;
  uint8_t *body;                   /* bounded by opts.max_body_bytes */
  size_t body_len, body_cap;
  int fail_status;                 /* set by a failing parser callback */
  char fail_msg[256];
  char peer[64];
};

typedef struct http_write {
  uv_write_t req;
  http_conn_t *c;                  /* NULL for the 100 Continue line */
  char *body;
  char head[HEAD_MAX];
} http_write_t;

static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

/* ------------------------------------------------------------ helpers --- */



static void logf_peer(const char *peer, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_peer(const char *peer, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "flowlua: rest: %s: %s\n", peer, msg);
  fflush(stderr);
}

/* {"errors":[msg]}, malloc'd (free()), or NULL on OOM. */
static char *json_errors(const char *msg, size_t *len) {
  char *out = NULL;
  cJSON *o = cJSON_CreateObject();
  cJSON *a = o != NULL ? cJSON_AddArrayToObject(o, "errors") : NULL;
  cJSON *m = cJSON_CreateString(msg);
  if (a != NULL && m != NULL && cJSON_AddItemToArray(a, m)) {
    m = NULL;
    char *p = cJSON_PrintUnformatted(o);
    if (p != NULL) out = flow_strdup(p);
    cJSON_free(p);
  }
  cJSON_Delete(m);
  cJSON_Delete(o);
  *len = out != NULL ? strlen(out) : 0;
  return out;
}

static void to_hex(const uint8_t *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

/* The value of a hex digit, or -1: not one. */
static int hex_val(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* Exactly 2n hex digits (either case) into out[n]; 0 or FLOW_EINVAL. */
static int from_hex(const char *s, uint8_t *out, size_t n) {
  if (strlen(s) != 2 * n) return FLOW_EINVAL;
  for (size_t i = 0; i < n; i++) {
    int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return FLOW_EINVAL;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

const char *flow_http_header(const flow_http_request_t *req, const char *name) {
  if (req == NULL || name == NULL) return NULL;
  for (int i = 0; i < req->n_headers; i++)
    if (strcasecmp(req->headers[i].name, name) == 0) return req->headers[i].value;
  return NULL;
}

/* ------------------------------------------------------------ closing --- */

static void server_maybe_free(flow_http_server_t *s) {
  if (s->closing && s->listener_closed && s->n_conns == 0) {
    if (s->secret != NULL) OPENSSL_cleanse(s->secret, s->opts.secret_len);
    free(s->secret);
    free(s);
  }
}

static void conn_finish(http_conn_t *c) {
  flow_http_server_t *s = c->server;
  if (c->prev != NULL) c->prev->next = c->next;
  else s->conns = c->next;
  if (c->next != NULL) c->next->prev = c->prev;
  s->n_conns--;
  free(c->rbuf);
  free(c->hbuf);
  free(c->body);
  free(c);
  server_maybe_free(s);
}

static void on_handle_closed(uv_handle_t *h) {
  http_conn_t *c = h->data;
  if (--c->handles_open == 0) conn_finish(c);
}

/* Closes at once; writes in flight are cancelled. Logs reason when not NULL. */
static void begin_close(http_conn_t *c, const char *reason) {
  if (c->state == ST_CLOSED) return;
  c->state = ST_CLOSED;
  if (reason != NULL) logf_peer(c->peer, "%s", reason);
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

/* ------------------------------------------------------------ writing --- */

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_timer(uv_timer_t *t);
static void process(http_conn_t *c);

static void start_reading(http_conn_t *c) {
  if (c->reading) return;
  int r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (r < 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "read failed: %s", uv_strerror(r));
    begin_close(c, msg);
    return;
  }
  c->reading = 1;
}

static void stop_reading(http_conn_t *c) {
  if (!c->reading) return;
  uv_read_stop((uv_stream_t *)&c->tcp);
  c->reading = 0;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  http_conn_t *c = req->data;
  if (c->state == ST_LINGER && status < 0) begin_close(c, NULL);
}

/* The last response is written: half-close and drain what the peer still
 * sends (so our response is not lost to a reset), for at most LINGER_MS. */
static void start_linger(http_conn_t *c) {
  c->state = ST_LINGER;
  c->shutdown_req.data = c;
  if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
    begin_close(c, NULL);
    return;
  }
  unsigned ms = c->server->opts.idle_timeout_ms < LINGER_MS ? c->server->opts.idle_timeout_ms
                                                            : LINGER_MS;
  uv_timer_start(&c->timer, on_timer, ms, 0);
  c->rpos = c->rlen = 0; /* unparsed bytes are dropped */
  start_reading(c);
}

/* Waits for the next request: the deadline restarts, buffered (pipelined)
 * bytes are parsed, then reading resumes. */
static void start_request(http_conn_t *c) {
  c->state = ST_READING;
  uv_timer_start(&c->timer, on_timer, c->server->opts.idle_timeout_ms, 0);
  process(c);
}

static void on_write(uv_write_t *req, int status) {
  http_write_t *w = (http_write_t *)req;
  http_conn_t *c = w->c;
  free(w->body);
  free(w);
  if (c == NULL || c->state == ST_CLOSED) return;
  if (status < 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "write failed: %s", uv_strerror(status));
    begin_close(c, msg);
    return;
  }
  if (c->close_after) start_linger(c);
  else start_request(c);
}

static void on_continue_written(uv_write_t *req, int status) {
  (void)status; /* a failure shows again on the response's write */
  free(req);
}

/* Writes the response; takes body (malloc'd or NULL). The connection is
 * ST_BUSY with reading stopped; on_write decides what follows. */
static void send_response(http_conn_t *c, int status, const char *ctype, char *body,
                          size_t body_len, int close_after) {
  if (c->state == ST_CLOSED) {
    free(body);
    return;
  }
  http_write_t *w = malloc(sizeof *w);
  if (w == NULL) {
    free(body);
    begin_close(c, "out of memory writing a response");
    return;
  }
  int head_only = c->parser.method == HTTP_HEAD; /* Content-Length as for GET, no body */
  int no_length = status == 204;                 /* RFC 9110: 204 has no Content-Length */
  if (status == 204 || status == 304) body_len = 0; /* never a body */
  const char *reason = http_status_str((enum http_status)status);
  if (reason == NULL || reason[0] == '<') reason = "Unknown";
  char length[48] = "";
  if (!no_length) snprintf(length, sizeof length, "Content-Length: %zu\r\n", body_len);
  int n = snprintf(w->head, sizeof w->head, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%s%s\r\n",
                   status, reason, ctype, length, close_after ? "Connection: close\r\n" : "");
  /* ctype is at most CONTENT_TYPE_MAX bytes: the head always fits */
  w->c = c;
  w->body = body;
  c->close_after = close_after;
  uv_buf_t bufs[2];
  bufs[0] = uv_buf_init(w->head, (unsigned)n);
  bufs[1] = uv_buf_init(body, (unsigned)body_len);
  int nbufs = (!head_only && body_len > 0) ? 2 : 1;
  uv_timer_start(&c->timer, on_timer, c->server->opts.idle_timeout_ms, 0); /* write deadline */
  int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, nbufs, on_write);
  if (r < 0) {
    free(w->body);
    free(w);
    char msg[128];
    snprintf(msg, sizeof msg, "write failed: %s", uv_strerror(r));
    begin_close(c, msg);
  }
}

/* Leaves ST_READING for ST_BUSY: the request (or error) is being answered. */
static void enter_busy(http_conn_t *c) {
  c->state = ST_BUSY;
  stop_reading(c);
  uv_timer_stop(&c->timer);
}

static void send_json_error(http_conn_t *c, int status, const char *msg, int close_after) {
  size_t len = 0;
  char *body = json_errors(msg, &len);
  send_response(c, status, "application/json", body, len, close_after);
}

/* A bad request: one log line, the error response, then close. */
static void fail_request(http_conn_t *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_request(http_conn_t *c, int status, const char *fmt, ...) {
  if (c->state == ST_CLOSED) return;
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  logf_peer(c->peer, "%d: %s", status, msg);
  enter_busy(c);
  send_json_error(c, status, msg, 1);
}

/* --------------------------------------------------- parser callbacks --- */

/* http_parser stops at a callback's non-zero return: its convention, not a
 * FLOW_E* code. */
#define PARSER_ABORT (-1)

/* Makes a callback fail: process() answers with status and msg. */
static int cb_fail(http_conn_t *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int cb_fail(http_conn_t *c, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->fail_msg, sizeof c->fail_msg, fmt, ap);
  va_end(ap);
  c->fail_status = status;
  return PARSER_ABORT;
}

static int header_overflow(http_conn_t *c) {
  return cb_fail(c, 431, "request line and headers exceed the limit of %zu bytes",
                 c->server->opts.max_header_bytes);
}

/* Appends to hbuf. Stored bytes never exceed the raw header bytes, so the
 * cap (the limit plus room for the NUL terminators) is only reached by a
 * request that is over the limit anyway. */
static int hbuf_append(http_conn_t *c, const char *p, size_t n) {
  size_t max = c->server->opts.max_header_bytes + 2 * FLOW_HTTP_MAX_HEADERS + 2;
  if (c->hlen + n > max) return header_overflow(c);
  if (c->hlen + n > c->hcap) {
    size_t cap = c->hcap ? c->hcap : 1024;
    while (cap < c->hlen + n) cap *= 2;
    if (cap > max) cap = max;
    char *nb = realloc(c->hbuf, cap);
    if (nb == NULL) return cb_fail(c, 500, "out of memory reading the headers");
    c->hbuf = nb;
    c->hcap = cap;
  }
  if (n > 0) memcpy(c->hbuf + c->hlen, p, n);
  c->hlen += n;
  return 0;
}

static int on_message_begin(http_parser *p) {
  http_conn_t *c = p->data;
  c->in_message = 1;
  c->in_body = 0;
  c->trailer_bytes = 0;
  c->phase = PH_URL;
  c->hlen = 0;
  c->n_hdrs = 0;
  c->body_len = 0;
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t n) {
  return hbuf_append(p->data, at, n);
}

/* Chunked trailers are not stored; their bytes count against the header limit. */
static int count_trailer(http_conn_t *c, size_t n) {
  c->trailer_bytes += n;
  if (c->trailer_bytes > c->server->opts.max_header_bytes)
    return cb_fail(c, 431, "chunked trailers exceed the limit of %zu bytes",
                   c->server->opts.max_header_bytes);
  return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n) {
  http_conn_t *c = p->data;
  if (c->in_body) return count_trailer(c, n);
  if (c->phase != PH_FIELD) {
    if (c->n_hdrs == FLOW_HTTP_MAX_HEADERS)
      return cb_fail(c, 431, "more than %d header lines", FLOW_HTTP_MAX_HEADERS);
    if (hbuf_append(c, "", 1) != 0) return PARSER_ABORT; /* ends the url or the previous value */
    c->hdrs[c->n_hdrs].name = (uint32_t)c->hlen;
    c->hdrs[c->n_hdrs].value = NO_VALUE;
    c->n_hdrs++;
    c->phase = PH_FIELD;
  }
  return hbuf_append(c, at, n);
}

static int on_header_value(http_parser *p, const char *at, size_t n) {
  http_conn_t *c = p->data;
  if (c->in_body) return count_trailer(c, n);
  if (c->phase != PH_VALUE) {
    if (c->n_hdrs == 0) return cb_fail(c, 400, "malformed request: header value without a name");
    if (hbuf_append(c, "", 1) != 0) return PARSER_ABORT; /* ends the name */
    c->hdrs[c->n_hdrs - 1].value = (uint32_t)c->hlen;
    c->phase = PH_VALUE;
  }
  return hbuf_append(c, at, n);
}

static int on_headers_complete(http_parser *p) {
  http_conn_t *c = p->data;
  if (hbuf_append(c, "", 1) != 0) return PARSER_ABORT; /* ends the last url/name/value */
  for (int i = 0; i < c->n_hdrs; i++) /* a name without value: point at its NUL */
    if (c->hdrs[i].value == NO_VALUE)
      c->hdrs[i].value = c->hdrs[i].name + (uint32_t)strlen(c->hbuf + c->hdrs[i].name);
  c->in_body = 1;
  c->event = EV_HEADERS;
  http_parser_pause(p, 1);
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t n) {
  http_conn_t *c = p->data;
  size_t max = c->server->opts.max_body_bytes;
  if (n > max - c->body_len)
    return cb_fail(c, 413, "request body exceeds the limit of %zu bytes", max);
  if (c->body_len + n > c->body_cap) {
    size_t cap = c->body_cap ? c->body_cap : 4096;
    while (cap < c->body_len + n) cap = cap > max / 2 ? max : cap * 2;
    uint8_t *nb = realloc(c->body, cap);
    if (nb == NULL) return cb_fail(c, 500, "out of memory reading the body");
    c->body = nb;
    c->body_cap = cap;
  }
  memcpy(c->body + c->body_len, at, n);
  c->body_len += n;
  return 0;
}

static int on_message_complete(http_parser *p) {
  http_conn_t *c = p->data;
  c->event = EV_MESSAGE;
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ------------------------------------------------------------ auth ------ */

static void nonces_expire(flow_http_server_t *s, uint64_t now) {
  for (int i = 0; i < s->n_nonces;)
    if (s->nonces[i].expires <= now) s->nonces[i] = s->nonces[--s->n_nonces];
    else i++;
}

/* A fresh nonce into out (NONCE_HEX + 1 bytes). 0 or FLOW_EIO. */
static int nonce_issue(flow_http_server_t *s, char *out) {
  uint8_t raw[NONCE_BYTES];
  if (RAND_bytes(raw, sizeof raw) != 1) return FLOW_EIO;
  uint64_t now = uv_now(s->loop);
  nonces_expire(s, now);
  if (s->n_nonces == FLOW_HTTP_MAX_NONCES) { /* drop the oldest */
    int oldest = 0;
    for (int i = 1; i < s->n_nonces; i++)
      if (s->nonces[i].seq < s->nonces[oldest].seq) oldest = i;
    s->nonces[oldest] = s->nonces[--s->n_nonces];
  }
  nonce_t *n = &s->nonces[s->n_nonces++];
  to_hex(raw, sizeof raw, n->hex);
  n->expires = now + FLOW_HTTP_NONCE_TTL_MS;
  n->seq = s->nonce_seq++;
  memcpy(out, n->hex, sizeof n->hex);
  OPENSSL_cleanse(raw, sizeof raw);
  return 0;
}

/* Removes hex from the outstanding nonces; 1 when it was there (unexpired). */
static int nonce_consume(flow_http_server_t *s, const char *hex) {
  nonces_expire(s, uv_now(s->loop));
  if (strlen(hex) != NONCE_HEX) return 0;
  for (int i = 0; i < s->n_nonces; i++)
    if (memcmp(s->nonces[i].hex, hex, NONCE_HEX) == 0) {
      s->nonces[i] = s->nonces[--s->n_nonces];
      return 1;
    }
  return 0;
}

/* NULL when req proves the secret, else what is missing or wrong. The nonce
 * is consumed by any attempt that names an outstanding one. */
static const char *auth_check(flow_http_server_t *s, const flow_http_request_t *req) {
  const char *nonce = flow_http_header(req, FLOW_HTTP_NONCE_HEADER);
  const char *mac_hex = flow_http_header(req, FLOW_HTTP_AUTH_HEADER);
  if (nonce == NULL)
    return "authentication required: missing X-Flowlua-Nonce header (get a nonce with GET "
           "/auth/nonce)";
  if (mac_hex == NULL)
    return "authentication required: missing X-Flowlua-Auth header (hex HMAC-SHA256 of the "
           "request with the shared secret)";
  if (!nonce_consume(s, nonce))
    return "authentication required: unknown, expired or already used nonce (get a fresh one "
           "with GET /auth/nonce)";
  uint8_t given[MAC_BYTES];
  if (from_hex(mac_hex, given, sizeof given) != 0)
    return "authentication required: X-Flowlua-Auth is not 64 hex characters";
  /* nonce \n METHOD \n path[?query] \n body */
  size_t ml = strlen(req->method), pl = strlen(req->path), ql = strlen(req->query);
  size_t len = NONCE_HEX + 1 + ml + 1 + pl + (ql ? 1 + ql : 0) + 1 + req->body_len;
  uint8_t *in = malloc(len), *w = in;
  if (in == NULL) return "authentication required: out of memory checking the MAC";
  memcpy(w, nonce, NONCE_HEX), w += NONCE_HEX, *w++ = '\n';
  memcpy(w, req->method, ml), w += ml, *w++ = '\n';
  memcpy(w, req->path, pl), w += pl;
  if (ql) *w++ = '?', memcpy(w, req->query, ql), w += ql;
  *w++ = '\n';
  if (req->body_len) memcpy(w, req->body, req->body_len);
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned mac_len = 0;
  int ok = HMAC(EVP_sha256(), s->secret, (int)s->opts.secret_len, in, len, mac, &mac_len) != NULL &&
           mac_len == MAC_BYTES && CRYPTO_memcmp(mac, given, MAC_BYTES) == 0;
  free(in);
  if (!ok)
    return "authentication required: X-Flowlua-Auth does not match (HMAC-SHA256 with the shared "
           "secret over nonce, method, path?query and body, see docs/rest.md)";
  return NULL;
}

/* ----------------------------------------------------------- dispatch --- */

static int is_get_or_head(const http_parser *p) {
  return p->method == HTTP_GET || p->method == HTTP_HEAD;
}

/* A complete request is in hbuf/body: answer it (ST_BUSY until written). */
static void dispatch(http_conn_t *c) {
  flow_http_server_t *s = c->server;
  http_parser *p = &c->parser;
  enter_busy(c);
  c->in_message = 0;
  c->hdr_bytes = 0;
  int keep = http_should_keep_alive(p) && !p->upgrade;

  /* the url is the first string in hbuf */
  const char *url = c->hbuf;
  size_t url_len = strlen(url);
  struct http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(url, url_len, p->method == HTTP_CONNECT, &u) != 0 ||
      !(u.field_set & (1 << UF_PATH))) {
    fail_request(c, 400, "malformed request target");
    return;
  }
  size_t pl = u.field_data[UF_PATH].len;
  size_t ql = (u.field_set & (1 << UF_QUERY)) ? u.field_data[UF_QUERY].len : 0;
  char *target = malloc(pl + ql + 2); /* path \0 query \0 */
  if (target == NULL) {
    begin_close(c, "out of memory dispatching a request");
    return;
  }
  memcpy(target, url + u.field_data[UF_PATH].off, pl);
  target[pl] = '\0';
  if (ql) memcpy(target + pl + 1, url + u.field_data[UF_QUERY].off, ql);
  target[pl + 1 + ql] = '\0';

  flow_http_header_t headers[FLOW_HTTP_MAX_HEADERS];
  for (int i = 0; i < c->n_hdrs; i++) {
    headers[i].name = c->hbuf + c->hdrs[i].name;
    headers[i].value = c->hbuf + c->hdrs[i].value;
  }
  flow_http_request_t req = {
      .method = http_method_str((enum http_method)p->method),
      .path = target,
      .query = target + pl + 1,
      .body = c->body_len ? c->body : (const uint8_t *)"",
      .body_len = c->body_len,
      .headers = headers,
      .n_headers = c->n_hdrs,
      .authenticated = 0,
      .peer = c->peer,
  };

  if (s->secret != NULL) {
    if (p->method == HTTP_GET && strcmp(req.path, FLOW_HTTP_NONCE_PATH) == 0) {
      free(target);
      char hex[NONCE_HEX + 1], *body = malloc(NONCE_HEX + 16);
      if (body == NULL || nonce_issue(s, hex) != 0) {
        free(body);
        logf_peer(c->peer, "500: cannot generate a nonce");
        send_json_error(c, 500, "cannot generate a nonce", !keep);
        return;
      }
      int n = snprintf(body, NONCE_HEX + 16, "{\"nonce\":\"%s\"}", hex);
      send_response(c, 200, "application/json", body, (size_t)n, !keep);
      return;
    }
    if (!is_get_or_head(p)) {
      const char *why = auth_check(s, &req);
      if (why != NULL) {
        logf_peer(c->peer, "401: %s %s: %s", req.method, req.path, why);
        free(target);
        send_json_error(c, 401, why, !keep);
        return;
      }
      req.authenticated = 1;
    }
  }

  flow_http_response_t res = {.status = 200, .content_type = NULL, .body = NULL, .body_len = 0};
  s->opts.handler(s->opts.data, &req, &res);
  free(target);
  if (c->state == ST_CLOSED) { /* the handler closed the server */
    free(res.body);
    return;
  }
  const char *ctype = res.content_type != NULL ? res.content_type : "application/json";
  if (res.status < 200 || res.status > 599 || strlen(ctype) > CONTENT_TYPE_MAX ||
      strpbrk(ctype, "\r\n") != NULL || (res.body == NULL && res.body_len > 0)) {
    logf_peer(c->peer, "500: the handler returned an invalid response (status %d)", res.status);
    free(res.body);
    send_json_error(c, 500, "internal error: invalid response from the handler", 1);
    return;
  }
  send_response(c, res.status, ctype, res.body, res.body_len, !keep || s->closing);
}

/* The headers are complete (parser paused): check the announced body, and
 * tell a client that waits for it to send the body. */
static void headers_complete(http_conn_t *c) {
  http_parser *p = &c->parser;
  size_t max = c->server->opts.max_body_bytes;
  if (!(p->flags & F_CHUNKED) && p->content_length != UINT64_MAX) {
    if (p->content_length > max) {
      fail_request(c, 413, "request body of %llu bytes exceeds the limit of %zu bytes",
                   (unsigned long long)p->content_length, max);
      return;
    }
    if (p->content_length > c->body_cap) { /* exact size: no regrowth */
      uint8_t *nb = realloc(c->body, (size_t)p->content_length);
      if (nb != NULL) {
        c->body = nb;
        c->body_cap = (size_t)p->content_length;
      }
    }
  }
  for (int i = 0; i < c->n_hdrs; i++)
    if (strcasecmp(c->hbuf + c->hdrs[i].name, "Expect") == 0 &&
        strcasecmp(c->hbuf + c->hdrs[i].value, "100-continue") == 0 && p->http_major == 1 &&
        p->http_minor >= 1) {
      uv_write_t *w = malloc(sizeof *w);
      uv_buf_t b = uv_buf_init((char *)continue_line, sizeof continue_line - 1);
      if (w != NULL && uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_continue_written) != 0)
        free(w);
      break;
    }
}

/* Feeds rbuf[rpos, rlen) to the parser while the connection reads. */
static void process(http_conn_t *c) {
  size_t max_hdr = c->server->opts.max_header_bytes;
  while (c->state == ST_READING && c->rpos < c->rlen) {
    int was_hdr = !c->in_body || !c->in_message;
    size_t got = http_parser_execute(&c->parser, &parser_settings, (const char *)c->rbuf + c->rpos,
                                     c->rlen - c->rpos);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    c->rpos += got;
    if (was_hdr) c->hdr_bytes += got;
    if (e != HPE_OK && e != HPE_PAUSED) {
      if (c->fail_status != 0) fail_request(c, c->fail_status, "%s", c->fail_msg);
      else if (e == HPE_HEADER_OVERFLOW)
        fail_request(c, 431, "request line and headers exceed the limit of %zu bytes", max_hdr);
      else
        fail_request(c, 400, "malformed request: %s (%s)", http_errno_description(e),
                     http_errno_name(e));
      return;
    }
    if (was_hdr && c->hdr_bytes > max_hdr) {
      fail_request(c, 431, "request line and headers exceed the limit of %zu bytes", max_hdr);
      return;
    }
    if (e == HPE_PAUSED) {
      http_parser_pause(&c->parser, 0);
      parse_event_t ev = c->event;
      c->event = EV_NONE;
      if (ev == EV_HEADERS) headers_complete(c);
      else if (ev == EV_MESSAGE) dispatch(c);
    }
  }
  if (c->state == ST_READING) start_reading(c);
}

/* ------------------------------------------------------------ reading --- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  http_conn_t *c = h->data;
  (void)suggested;
  *buf = uv_buf_init((char *)c->rbuf, READ_BUF_LEN);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  http_conn_t *c = st->data;
  (void)buf;
  if (n == 0 || c->state == ST_CLOSED) return;
  if (c->state == ST_LINGER) { /* draining after our last response */
    if (n < 0) begin_close(c, NULL);
    return;
  }
  if (c->state != ST_READING) return; /* not reading in ST_BUSY */
  if (n > 0) {
    c->rpos = 0;
    c->rlen = (size_t)n;
    process(c);
    return;
  }
  char msg[160];
  if (n != UV_EOF) {
    snprintf(msg, sizeof msg, "read failed: %s", uv_strerror((int)n));
    begin_close(c, msg);
  } else if (c->in_message) {
    snprintf(msg, sizeof msg, "the peer disconnected mid-request (%s)",
             c->in_body ? "in the body" : "in the headers");
    begin_close(c, msg);
  } else {
    begin_close(c, NULL); /* between requests: an ordinary close */
  }
}

static void on_timer(uv_timer_t *t) {
  http_conn_t *c = t->data;
  char msg[128];
  unsigned ms = c->server->opts.idle_timeout_ms;
  if (c->state == ST_READING && (c->in_message || c->hdr_bytes > 0)) {
    snprintf(msg, sizeof msg, "timed out after %u ms waiting for the rest of the request", ms);
    begin_close(c, msg);
  } else if (c->state == ST_BUSY) {
    snprintf(msg, sizeof msg, "timed out after %u ms writing the response", ms);
    begin_close(c, msg);
  } else {
    begin_close(c, NULL); /* idle keep-alive connection, or the linger ended */
  }
}

/* ------------------------------------------------------------- server --- */

static void on_connection(uv_stream_t *ls, int status) {
  flow_http_server_t *s = ls->data;
  if (s->closing) return;
  if (status < 0) {
    fprintf(stderr, "flowlua: rest: listener on port %d: accept failed: %s\n", s->port,
            uv_strerror(status));
    return;
  }
  http_conn_t *c = NULL;
  if (s->n_conns < s->opts.max_connections) {
    c = calloc(1, sizeof *c);
    if (c != NULL) c->rbuf = malloc(READ_BUF_LEN);
    if (c != NULL && (c->rbuf == NULL || uv_tcp_init(s->loop, &c->tcp) != 0)) {
      free(c->rbuf);
      free(c);
      c = NULL;
    }
  }
  if (c == NULL) { /* over the limit or out of memory: take it off the backlog and drop it */
    uv_tcp_t *t = malloc(sizeof *t);
    if (t != NULL && uv_tcp_init(s->loop, t) == 0) {
      char peer[64] = "unknown peer";
      if (uv_accept(ls, (uv_stream_t *)t) == 0) flow_tcp_peer_label(t, peer, sizeof peer);
      uv_close((uv_handle_t *)t, (uv_close_cb)free);
      if (s->n_conns >= s->opts.max_connections)
        logf_peer(peer, "too many connections (limit %d), closed", s->opts.max_connections);
      else
        logf_peer(peer, "out of memory accepting, closed");
    } else {
      free(t);
      fprintf(stderr, "flowlua: rest: listener on port %d: out of memory accepting\n", s->port);
    }
    return;
  }
  uv_timer_init(s->loop, &c->timer); /* cannot fail */
  c->tcp.data = c->timer.data = c;
  c->handles_open = 2;
  c->server = s;
  c->next = s->conns;
  if (s->conns != NULL) s->conns->prev = c;
  s->conns = c;
  s->n_conns++;
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  snprintf(c->peer, sizeof c->peer, "unknown peer");
  c->state = ST_READING;
  int r = uv_accept(ls, (uv_stream_t *)&c->tcp);
  if (r < 0) {
    fprintf(stderr, "flowlua: rest: listener on port %d: accept failed: %s\n", s->port,
            uv_strerror(r));
    begin_close(c, NULL);
    return;
  }
  flow_tcp_peer_label(&c->tcp, c->peer, sizeof c->peer);
  uv_tcp_nodelay(&c->tcp, 1);
  start_request(c);
}

static void on_listener_closed(uv_handle_t *h) {
  flow_http_server_t *s = h->data;
  s->listener_closed = 1;
  server_maybe_free(s);
}

int flow_http_listen(uv_loop_t *loop, const char *host, int port, const flow_http_opts_t *opts,
                     flow_http_server_t **out) {
  struct sockaddr_storage ss;
  *out = NULL;
  if (opts == NULL || opts->handler == NULL || opts->max_connections < 0 ||
      flow_tcp_parse_addr(host, port, &ss) != 0)
    return FLOW_EINVAL;
  flow_http_opts_t r = *opts;
  if (r.max_header_bytes == 0) r.max_header_bytes = FLOW_HTTP_MAX_HEADER_DEFAULT;
  if (r.max_header_bytes > UINT32_MAX / 2) return FLOW_EINVAL; /* hbuf offsets are u32 */
  if (r.max_body_bytes == 0) r.max_body_bytes = FLOW_HTTP_MAX_BODY_DEFAULT;
  if (r.max_body_bytes > UINT32_MAX) return FLOW_EINVAL; /* one uv_buf_t */
  if (r.max_connections == 0) r.max_connections = FLOW_HTTP_MAX_CONNECTIONS_DEFAULT;
  if (r.idle_timeout_ms == 0) r.idle_timeout_ms = FLOW_HTTP_IDLE_TIMEOUT_DEFAULT;
  if (r.secret != NULL && r.secret_len == 0) r.secret_len = strlen(r.secret);
  if (r.secret != NULL && (r.secret_len == 0 || r.secret_len > INT32_MAX)) return FLOW_EINVAL;
  flow_http_server_t *s = calloc(1, sizeof *s);
  if (s == NULL) return FLOW_ENOMEM;
  if (r.secret != NULL) {
    s->secret = malloc(r.secret_len);
    if (s->secret == NULL) {
      free(s);
      return FLOW_ENOMEM;
    }
    memcpy(s->secret, r.secret, r.secret_len);
    r.secret = (const char *)s->secret;
  }
  if (uv_tcp_init(loop, &s->tcp) != 0) {
    free(s->secret);
    free(s);
    return FLOW_ENOMEM;
  }
  s->loop = loop;
  s->opts = r;
  s->tcp.data = s;
  char label[64];
  flow_tcp_addr_label(&ss, label, sizeof label);
  int rc = flow_tcp_listen(&s->tcp, &ss, on_connection, &s->port);
  if (rc != 0) {
    fprintf(stderr, "flowlua: rest: cannot listen on %s: %s\n", label, uv_strerror(rc));
    s->closing = 1;
    uv_close((uv_handle_t *)&s->tcp, on_listener_closed);
    return FLOW_EIO;
  }
  *out = s;
  return 0;
}

int flow_http_server_port(const flow_http_server_t *s) { return s->port; }
int flow_http_server_connections(const flow_http_server_t *s) { return s->n_conns; }

void flow_http_server_close(flow_http_server_t *s) {
  if (s == NULL || s->closing) return;
  s->closing = 1;
  for (http_conn_t *c = s->conns; c != NULL; c = c->next) begin_close(c, NULL);
  uv_close((uv_handle_t *)&s->tcp, on_listener_closed);
}
