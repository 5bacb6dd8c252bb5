/* Cluster-mode TCP transport: see transport.c and docs/wire.md.
 *
 * A connection owns two handles (the TCP stream and a timer used for the
 * connect/handshake deadline and the close linger); it is freed when both
 * close callbacks ran. libuv completes every pending write, connect and
 * shutdown request (UV_ECANCELED) before the stream's close callback, so a
 * request callback that finds the connection CLOSED only frees its request.
 *
 * Handshake progress of a connection (ST_CONNECTED):
 *   handshaken == 0               waiting for the peer's HELLO;
 *   handshaken, !verified         HELLO came, both sides need to authenticate:
 *                                 our AUTH is queued, waiting for the peer's;
 *   verified                      open: application frames flow both ways.
 * Invariant: held holds only application frames, and only while !verified;
 * pending never holds an application frame before verified, so nothing of
 * the application reaches a peer we have not verified. */
#include "net/tcp_addr.h"
#include "net/transport.h"

#include "net/auth.h"
#include "net/frame.h"
#include "util/common.h"
#include "util/wire.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_BUF_LEN (64u * 1024u)

typedef enum {
  ST_CONNECTING, /* client: uv_tcp_connect pending */
  ST_CONNECTED,  /* reading and writing; handshaken tells whether the peer's hello came */
  ST_CLOSING,    /* graceful close: flushing, then shutdown (draining: also reading to EOF) */
  ST_CLOSED      /* uv_close issued */
} conn_state_t;

struct flow_transport_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_connect_t connect_req;
  uv_shutdown_t shutdown_req;
  uv_loop_t *loop;
  flow_transport_server_t *server;       /* NULL for a client connection */
  flow_transport_conn_t *prev, *next;    /* in server->conns */
  flow_transport_opts_t opts;            /* resolved: no zeros left */
  conn_state_t state;
  int handshaken;                  /* the peer's HELLO came */
  int need_auth;                   /* both sides have a secret: AUTH frames are exchanged */
  int verified;                    /* the peer is accepted (proved the secret if need_auth) */
  int close_requested;             /* flow_transport_close before verified with frames held */
  int draining;                    /* rejected: REJECT flushing, reading (discarded) until EOF */
  int logged;                      /* the one log line of this connection was written */
  int handles_open;                /* close callbacks still to come */
  int quiet;                       /* no on_close (flow_transport_connect failed) */
  int want_drain;                  /* send returned FLOW_EFULL since the last drain */
  flow_frame_decoder_t dec;
  uint8_t *rbuf;
  flow_wbuf_t pending;             /* frames not yet handed to uv_write */
  flow_wbuf_t held;                /* application frames sent before verified */
  uint8_t nonce[FLOW_AUTH_NONCE_LEN];      /* ours: random with a secret, zeros without */
  uint8_t peer_nonce[FLOW_AUTH_NONCE_LEN]; /* from the peer's HELLO */
  size_t inflight;                 /* bytes in uv_write requests not completed */
  int writes;                      /* uv_write requests not completed */
  char peer[64];
  char *peer_name;
  uint8_t peer_role;
  char reason[256];
  void *data;
};

struct flow_transport_server {
  uv_tcp_t tcp;
  uv_loop_t *loop;
  flow_transport_opts_t opts;
  char *name;                      /* opts.name points here */
  void *secret;                    /* opts.secret points here (NULL = none) */
  flow_transport_conn_t *conns;
  int n_conns;
  int closing, listener_closed;
  int port;
};

typedef struct net_write {
  uv_write_t req;
  flow_transport_conn_t *c;
  uint8_t *data;
  size_t len;
} net_write_t;

/* ------------------------------------------------------------ helpers --- */


/* Validates and resolves opts into *r. */
static int resolve_opts(const flow_transport_opts_t *opts, flow_transport_opts_t *r) {
  if (opts == NULL) return FLOW_EINVAL;
  *r = *opts;
  if (r->role < FLOW_TRANSPORT_ROLE_CLIENT || r->role > FLOW_TRANSPORT_ROLE_TASKMANAGER) return FLOW_EINVAL;
  if (r->name == NULL) r->name = "";
  if (strlen(r->name) > FLOW_TRANSPORT_NAME_MAX) return FLOW_EINVAL;
  if (r->max_frame == 0 || r->max_frame > FLOW_FRAME_MAX) r->max_frame = FLOW_FRAME_MAX;
  if (r->max_queued == 0) r->max_queued = FLOW_TRANSPORT_QUEUE_DEFAULT;
  if (r->handshake_timeout_ms == 0) r->handshake_timeout_ms = FLOW_TRANSPORT_HANDSHAKE_TIMEOUT_DEFAULT;
  if (r->secret == NULL) r->secret_len = 0;
  else if (r->secret_len < FLOW_AUTH_SECRET_MIN || r->secret_len > FLOW_AUTH_SECRET_MAX)
    return FLOW_EINVAL;
  return 0;
}

/* A malloc'd copy of the secret (NULL for none); *oom set when the copy failed. */
static void *copy_secret(const flow_transport_opts_t *r, int *oom) {
  *oom = 0;
  if (r->secret == NULL) return NULL;
  void *p = malloc(r->secret_len);
  if (p == NULL) *oom = 1;
  else memcpy(p, r->secret, r->secret_len);
  return p;
}

static void free_secret(const void *secret, size_t len) {
  flow_auth_free_secret((char *)secret, len);
}

static const char *role_name(int role) {
  switch (role) {
  case FLOW_TRANSPORT_ROLE_CLIENT: return "client";
  case FLOW_TRANSPORT_ROLE_JOBMANAGER: return "jobmanager";
  case FLOW_TRANSPORT_ROLE_TASKMANAGER: return "taskmanager";
  default: return "peer";
  }
}

static const char *conn_label(const flow_transport_conn_t *c, char *buf, size_t n) {
  if (c->peer_name != NULL && c->peer_name[0] != '\0')
    snprintf(buf, n, "%s (%s)", c->peer, c->peer_name);
  else
    snprintf(buf, n, "%s", c->peer);
  return buf;
}

/* ------------------------------------------------------------ closing --- */

static void server_maybe_free(flow_transport_server_t *s) {
  if (s->closing && s->listener_closed && s->n_conns == 0) {
    free_secret(s->secret, s->opts.secret_len);
    free(s->name);
    free(s);
  }
}

static void conn_finish(flow_transport_conn_t *c) {
  if (!c->quiet && c->opts.on_close != NULL) c->opts.on_close(c, c->reason);
  flow_transport_server_t *s = c->server;
  if (s != NULL) {
    if (c->prev != NULL) c->prev->next = c->next;
    else s->conns = c->next;
    if (c->next != NULL) c->next->prev = c->prev;
    s->n_conns--;
  }
  flow_frame_decoder_free(&c->dec);
  flow_wbuf_free(&c->pending);
  flow_wbuf_free(&c->held);
  free(c->rbuf);
  free(c->peer_name);
  free((char *)c->opts.name);
  free_secret(c->opts.secret, c->opts.secret_len);
  free(c);
  if (s != NULL) server_maybe_free(s);
}

static void on_handle_closed(uv_handle_t *h) {
  flow_transport_conn_t *c = h->data;
  if (--c->handles_open == 0) conn_finish(c);
}

/* The connection's one log line (later calls are no-ops). */
static void log_reason(flow_transport_conn_t *c) {
  if (c->logged || c->opts.no_log) return;
  c->logged = 1;
  char label[sizeof c->peer + FLOW_TRANSPORT_NAME_MAX + 4];
  fprintf(stderr, "flowlua: net: %s: %s\n", conn_label(c, label, sizeof label), c->reason);
  fflush(stderr);
}

/* Closes at once (queued frames are dropped). The first reason sticks. */
static void begin_close(flow_transport_conn_t *c, const char *reason, int log) {
  if (c->state == ST_CLOSED) return;
  c->state = ST_CLOSED;
  if (c->reason[0] == '\0' && reason != c->reason) { /* reason may be c->reason itself */
    size_t n = strlen(reason);
    if (n >= sizeof c->reason) n = sizeof c->reason - 1;
    memmove(c->reason, reason, n);
    c->reason[n] = '\0';
  }
  if (log) log_reason(c);
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void failf(flow_transport_conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(flow_transport_conn_t *c, const char *fmt, ...) {
  if (c->state == ST_CLOSED) return;
  char msg[sizeof c->reason];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  begin_close(c, msg, 1);
}

void flow_transport_fail(flow_transport_conn_t *c, const char *reason) {
  failf(c, "%s", reason ? reason : "protocol error");
}

/* ------------------------------------------------------------ writing --- */

static size_t queued(const flow_transport_conn_t *c) {
  return c->pending.len + c->held.len + c->inflight;
}

static void flush(flow_transport_conn_t *c, int force);
static void on_timer(uv_timer_t *t);
static void on_shutdown(uv_shutdown_t *req, int status);

static void on_write(uv_write_t *req, int status) {
  net_write_t *w = (net_write_t *)req;
  flow_transport_conn_t *c = w->c;
  c->inflight -= w->len;
  c->writes--;
  free(w->data);
  free(w);
  if (c->state == ST_CLOSED) return;
  if (status < 0) {
    failf(c, "write failed: %s", uv_strerror(status));
    return;
  }
  flush(c, 0);
  if (c->state == ST_CONNECTED && c->want_drain && queued(c) <= c->opts.max_queued / 2) {
    c->want_drain = 0;
    if (c->opts.on_drain != NULL) c->opts.on_drain(c);
  }
}

/* Hands the pending bytes to one uv_write: at once when no write is in flight
 * (or force), otherwise on_write does it, so frames sent meanwhile coalesce. */
static void flush(flow_transport_conn_t *c, int force) {
  if (c->state != ST_CONNECTED && c->state != ST_CLOSING) return;
  if (c->pending.len == 0 || (c->writes > 0 && !force)) return;
  net_write_t *w = malloc(sizeof *w);
  if (w == NULL) {
    failf(c, "out of memory writing a frame");
    return;
  }
  w->c = c;
  w->data = c->pending.data;
  w->len = c->pending.len;
  flow_wbuf_init(&c->pending); /* the request owns the bytes now */
  c->inflight += w->len;
  c->writes++;
  uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
  int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (r < 0) {
    c->inflight -= w->len;
    c->writes--;
    free(w->data);
    free(w);
    failf(c, "write failed: %s", uv_strerror(r));
  }
}

/* Appends our handshake to the (empty) pending queue. */
static int queue_hello(flow_transport_conn_t *c) {
  size_t at = flow_frame_begin(&c->pending, FLOW_TRANSPORT_HELLO, 0);
  flow_wr_u8(&c->pending, c->opts.role);
  flow_wr_u32(&c->pending, FLOW_TRANSPORT_PROTOCOL_VERSION);
  flow_wr_str(&c->pending, c->opts.name);
  flow_wr_u8(&c->pending, c->opts.secret != NULL ? FLOW_TRANSPORT_HELLO_AUTH : 0);
  flow_wr_raw(&c->pending, c->nonce, sizeof c->nonce);
  return flow_frame_finish(&c->pending, at);
}

/* The proof a sender of role `role` gives: HMAC-SHA256(secret, context ||
 * u8 role || the receiver's nonce || the sender's nonce). Both nonces and the
 * role are in it, so a proof from another connection (other nonces) or one
 * reflected back at its sender (other role or nonce order) does not verify. */
static void auth_proof(const flow_transport_conn_t *c, uint8_t role, const uint8_t *receiver_nonce,
                       const uint8_t *sender_nonce, uint8_t out[FLOW_AUTH_MAC_LEN]) {
  static const char ctx[] = "flowlua-auth-v2";
  uint8_t msg[sizeof ctx - 1 + 1 + 2 * FLOW_AUTH_NONCE_LEN];
  size_t n = 0;
  memcpy(msg, ctx, sizeof ctx - 1);
  n += sizeof ctx - 1;
  msg[n++] = role;
  memcpy(msg + n, receiver_nonce, FLOW_AUTH_NONCE_LEN);
  n += FLOW_AUTH_NONCE_LEN;
  memcpy(msg + n, sender_nonce, FLOW_AUTH_NONCE_LEN);
  n += FLOW_AUTH_NONCE_LEN;
  flow_auth_mac(c->opts.secret, c->opts.secret_len, msg, n, out);
}

int flow_transport_send(flow_transport_conn_t *c, uint8_t type, const void *payload, uint32_t len) {
  if (type < FLOW_TRANSPORT_TYPE_APP_MIN || len > FLOW_FRAME_MAX || (len > 0 && payload == NULL))
    return FLOW_EINVAL;
  if (c->state == ST_CLOSING || c->state == ST_CLOSED || c->close_requested) return FLOW_ESTATE;
  size_t frame = FLOW_FRAME_HEADER_LEN + (size_t)len;
  size_t q = queued(c);
  if (q > 0 && q + frame > c->opts.max_queued) {
    c->want_drain = 1;
    return FLOW_EFULL;
  }
  uint8_t hdr[FLOW_FRAME_HEADER_LEN];
  int rc = flow_frame_header(hdr, type, 0, len);
  if (rc != 0) return rc;
  flow_wbuf_t *q_to = c->verified ? &c->pending : &c->held; /* see the invariant on top */
  flow_wr_raw(q_to, hdr, sizeof hdr);
  if (len > 0) flow_wr_raw(q_to, payload, len);
  if (q_to->err) {
    failf(c, "out of memory queueing a frame");
    return FLOW_ENOMEM;
  }
  flush(c, 0);
  return c->state == ST_CLOSED ? FLOW_EIO : 0;
}

/* ------------------------------------------------------------ reading --- */

/* Refuses the peer: logs `fmt` as this connection's reason, drops the held
 * frames, queues a REJECT carrying `sent` (the text the peer's user sees),
 * then closes gracefully: the REJECT is flushed, our side shut down, and the
 * stream read (and discarded) until the peer closes, so the REJECT is not
 * lost to a reset; FLOW_TRANSPORT_LINGER_TIMEOUT bounds it. */
static void reject(flow_transport_conn_t *c, const char *sent, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reject(flow_transport_conn_t *c, const char *sent, const char *fmt, ...) {
  if (c->state != ST_CONNECTED) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->reason, sizeof c->reason, fmt, ap);
  va_end(ap);
  log_reason(c);
  flow_wbuf_free(&c->held);
  flow_wbuf_init(&c->held);
  size_t at = flow_frame_begin(&c->pending, FLOW_TRANSPORT_REJECT, 0);
  flow_wr_str(&c->pending, sent);
  if (flow_frame_finish(&c->pending, at) != 0) {
    begin_close(c, c->reason, 0);
    return;
  }
  c->state = ST_CLOSING;
  c->draining = 1;
  flush(c, 1);
  if (c->state == ST_CLOSED) return;
  c->shutdown_req.data = c;
  int r = uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown);
  if (r < 0) {
    begin_close(c, c->reason, 0);
    return;
  }
  uv_timer_stop(&c->timer);
  uv_timer_start(&c->timer, on_timer, FLOW_TRANSPORT_LINGER_TIMEOUT, 0);
}

/* The peer is accepted: the decoder takes full-size frames, the held frames
 * go out behind our handshake frames, on_open runs (or, after a
 * flow_transport_close that waited for this, the graceful close proceeds).
 * Returns non-zero when the connection is no longer reading. */
static int become_verified(flow_transport_conn_t *c) {
  c->verified = 1;
  c->dec.max = c->opts.max_frame; /* read by the decoder at the next header */
  uv_timer_stop(&c->timer);
  if (c->held.len > 0) {
    flow_wr_raw(&c->pending, c->held.data, c->held.len);
    flow_wbuf_free(&c->held);
    flow_wbuf_init(&c->held);
    if (c->pending.err) {
      failf(c, "out of memory queueing a frame");
      return 1;
    }
  }
  if (c->close_requested) {
    c->close_requested = 0;
    flow_transport_close(c);
    return 1;
  }
  flush(c, 0);
  if (c->state != ST_CONNECTED) return 1;
  if (c->opts.on_open != NULL) c->opts.on_open(c);
  return c->state == ST_CONNECTED ? 0 : 1;
}

/* The peer's handshake: u8 role, u32 version, string name, u8 flags,
 * nonce[32], nothing after. Then either side's secret decides: neither ->
 * open; both -> our AUTH goes out and the peer's is awaited; one -> refused. */
static int handle_hello(flow_transport_conn_t *c, const flow_frame_t *f) {
  if (f->type != FLOW_TRANSPORT_HELLO) {
    failf(c, "expected a handshake frame (type %d) first, got frame type %u", FLOW_TRANSPORT_HELLO,
          (unsigned)f->type);
    return 1;
  }
  flow_rbuf_t r;
  uint8_t role = 0, flags = 0;
  uint32_t version = 0;
  char *name = NULL;
  const uint8_t *nonce = NULL;
  flow_rbuf_init(&r, f->payload, f->len);
  if (flow_rd_u8(&r, &role) != 0 || flow_rd_u32(&r, &version) != 0) {
    failf(c, "malformed handshake (%u bytes)", (unsigned)f->len);
    return 1;
  }
  if (version != FLOW_TRANSPORT_PROTOCOL_VERSION) {
    failf(c, "protocol version mismatch: the peer speaks version %u, this process version %d",
          (unsigned)version, FLOW_TRANSPORT_PROTOCOL_VERSION);
    return 1;
  }
  if (role < FLOW_TRANSPORT_ROLE_CLIENT || role > FLOW_TRANSPORT_ROLE_TASKMANAGER) {
    failf(c, "unknown role %u in the handshake", (unsigned)role);
    return 1;
  }
  int rc = flow_rd_str(&r, &name, 0);
  if (rc == FLOW_ENOMEM) {
    failf(c, "out of memory reading the handshake");
    return 1;
  }
  if (rc != 0 || strlen(name) > FLOW_TRANSPORT_NAME_MAX || flow_rd_u8(&r, &flags) != 0 ||
      flow_rd_raw(&r, FLOW_AUTH_NONCE_LEN, &nonce) != 0 || flow_rd_left(&r) != 0) {
    free(name);
    failf(c, "malformed handshake (bad name, flags or nonce, or trailing bytes)");
    return 1;
  }
  if ((flags & ~FLOW_TRANSPORT_HELLO_AUTH) != 0) {
    free(name);
    failf(c, "malformed handshake (unknown flags 0x%02x)", (unsigned)flags);
    return 1;
  }
  c->peer_name = name;
  c->peer_role = role;
  c->handshaken = 1;
  memcpy(c->peer_nonce, nonce, FLOW_AUTH_NONCE_LEN);
  int we_auth = c->opts.secret != NULL, peer_auths = (flags & FLOW_TRANSPORT_HELLO_AUTH) != 0;
  if (!we_auth && !peer_auths) return become_verified(c);
  if (we_auth && !peer_auths) {
    char sent[256];
    snprintf(sent, sizeof sent,
             "authentication required: this %s needs the cluster secret "
             "(--secret-file FILE or " FLOW_AUTH_ENV ")",
             role_name(c->opts.role));
    reject(c, sent,
           "authentication required: the %s has no cluster secret but this %s requires one",
           role_name(role), role_name(c->opts.role));
    return 1;
  }
  if (!we_auth) {
    reject(c, "authentication required: the peer has no cluster secret",
           "authentication required: the %s requires the cluster secret and this %s has none "
           "(--secret-file FILE or " FLOW_AUTH_ENV ")",
           role_name(role), role_name(c->opts.role));
    return 1;
  }
  /* Both sides authenticate. A peer nonce equal to ours could make our own
   * proof valid as the peer's (a reflection): refuse it. */
  if (flow_auth_equal(c->peer_nonce, c->nonce, FLOW_AUTH_NONCE_LEN)) {
    reject(c, "authentication failed", "authentication failed: the peer's nonce repeats ours");
    return 1;
  }
  c->need_auth = 1;
  uint8_t proof[FLOW_AUTH_MAC_LEN];
  auth_proof(c, c->opts.role, c->peer_nonce, c->nonce, proof);
  size_t at = flow_frame_begin(&c->pending, FLOW_TRANSPORT_AUTH, 0);
  flow_wr_raw(&c->pending, proof, sizeof proof);
  if (flow_frame_finish(&c->pending, at) != 0) {
    failf(c, "out of memory queueing the authentication frame");
    return 1;
  }
  flush(c, 0);
  return c->state == ST_CONNECTED ? 0 : 1;
}

/* The peer's proof: exactly FLOW_AUTH_MAC_LEN bytes, checked in constant time. */
static int handle_auth(flow_transport_conn_t *c, const flow_frame_t *f) {
  uint8_t want[FLOW_AUTH_MAC_LEN];
  auth_proof(c, c->peer_role, c->nonce, c->peer_nonce, want);
  if (f->len != FLOW_AUTH_MAC_LEN || !flow_auth_equal(f->payload, want, FLOW_AUTH_MAC_LEN)) {
    reject(c, "authentication failed: wrong cluster secret",
           "authentication failed: wrong cluster secret");
    return 1;
  }
  return become_verified(c);
}

/* The peer refuses us: its reason (control bytes replaced) becomes ours. */
static int handle_reject(flow_transport_conn_t *c, const flow_frame_t *f) {
  flow_rbuf_t r;
  char *text = NULL;
  flow_rbuf_init(&r, f->payload, f->len);
  if (flow_rd_str(&r, &text, 0) != 0 || flow_rd_left(&r) != 0) {
    free(text);
    failf(c, "rejected by the peer (malformed reject frame)");
    return 1;
  }
  for (char *p = text; *p != '\0'; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
  if (text[0] == '\0') failf(c, "rejected by the peer");
  else failf(c, "%s", text);
  free(text);
  return 1;
}

/* Frame callback: a non-zero return stops the feed (the connection is closing). */
static int on_decoded(void *ud, const flow_frame_t *f) {
  flow_transport_conn_t *c = ud;
  if (c->state != ST_CONNECTED) return 1;
  if (f->type == FLOW_TRANSPORT_REJECT) return handle_reject(c, f);
  if (!c->handshaken) return handle_hello(c, f);
  if (f->type == FLOW_TRANSPORT_HELLO) {
    failf(c, "a second handshake frame");
    return 1;
  }
  if (!c->verified) {
    if (f->type == FLOW_TRANSPORT_AUTH) return handle_auth(c, f);
    failf(c, "expected an authentication frame (type %d), got frame type %u", FLOW_TRANSPORT_AUTH,
          (unsigned)f->type);
    return 1;
  }
  if (f->type < FLOW_TRANSPORT_TYPE_APP_MIN) {
    if (f->type == FLOW_TRANSPORT_AUTH) failf(c, "a second authentication frame");
    else failf(c, "unknown transport frame type %u", (unsigned)f->type);
    return 1;
  }
  if (c->opts.on_frame != NULL) c->opts.on_frame(c, f->type, f->payload, f->len);
  return c->state == ST_CONNECTED ? 0 : 1;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  flow_transport_conn_t *c = h->data;
  (void)suggested;
  *buf = uv_buf_init((char *)c->rbuf, READ_BUF_LEN);
}

static void decoder_failed(flow_transport_conn_t *c, int rc) {
  const flow_frame_decoder_t *d = &c->dec;
  if (rc == FLOW_EFULL) {
    uint32_t len = (uint32_t)d->hdr[8] | (uint32_t)d->hdr[9] << 8 | (uint32_t)d->hdr[10] << 16 |
                   (uint32_t)d->hdr[11] << 24;
    failf(c, "%s (%u bytes announced, limit %u%s)", flow_frame_decoder_reason(d), (unsigned)len,
          (unsigned)d->max,
          c->verified ? "" : c->handshaken ? " before authentication" : " before the handshake");
  } else {
    failf(c, "%s", flow_frame_decoder_reason(d));
  }
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  flow_transport_conn_t *c = s->data;
  (void)buf;
  if (n == 0) return;
  if (c->state == ST_CLOSING && c->draining) {
    /* rejected: discard until the peer closes (the reason is already set) */
    if (n < 0) begin_close(c, c->reason, 0);
    return;
  }
  if (c->state != ST_CONNECTED) return;
  if (n > 0) {
    int rc = flow_frame_decoder_feed(&c->dec, c->rbuf, (size_t)n, on_decoded, c);
    if (rc != 0 && c->state == ST_CONNECTED) decoder_failed(c, rc);
    return;
  }
  if (n == UV_ECONNRESET && c->verified && !c->dec.in_payload && c->dec.hdr_have == 0) {
    /* a reset between frames (e.g. a peer that exited with our last frame
     * unread) is an ordinary close: nothing was cut */
    begin_close(c, "peer closed the connection", 0);
  } else if (n != UV_EOF) {
    failf(c, "read failed: %s", uv_strerror((int)n));
  } else if (c->dec.in_payload) {
    failf(c, "truncated frame: the peer disconnected after %u of %u payload bytes",
          (unsigned)c->dec.have, (unsigned)c->dec.cur.len);
  } else if (c->dec.hdr_have > 0) {
    failf(c, "truncated frame: the peer disconnected inside a frame header (%u of %d bytes)",
          (unsigned)c->dec.hdr_have, FLOW_FRAME_HEADER_LEN);
  } else if (!c->handshaken) {
    failf(c, "the peer disconnected before the handshake");
  } else if (!c->verified) {
    failf(c, "the peer disconnected before authenticating");
  } else {
    begin_close(c, "peer closed the connection", 0);
  }
}

static void on_timer(uv_timer_t *t) {
  flow_transport_conn_t *c = t->data;
  if (c->state == ST_CONNECTING) failf(c, "connect timed out");
  else if (c->state == ST_CLOSING) failf(c, "timed out flushing the outgoing queue on close");
  else if (!c->handshaken) failf(c, "handshake timed out");
  else if (!c->verified) failf(c, "authentication timed out");
}

/* Reading starts, the handshake deadline runs, our hello goes out. */
static void start_connected(flow_transport_conn_t *c) {
  c->state = ST_CONNECTED;
  uv_tcp_nodelay(&c->tcp, 1);
  int r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (r < 0) {
    failf(c, "read failed: %s", uv_strerror(r));
    return;
  }
  flush(c, 0);
}

/* ---------------------------------------------------------- lifecycle --- */

static flow_transport_conn_t *conn_new(uv_loop_t *loop, const flow_transport_opts_t *resolved) {
  flow_transport_conn_t *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->rbuf = malloc(READ_BUF_LEN);
  char *name = flow_strdup(resolved->name);
  int oom;
  void *secret = copy_secret(resolved, &oom);
  if (c->rbuf == NULL || name == NULL || oom || uv_tcp_init(loop, &c->tcp) != 0) {
    free(c->rbuf);
    free(name);
    free_secret(secret, resolved->secret_len);
    free(c);
    return NULL;
  }
  uv_timer_init(loop, &c->timer); /* cannot fail */
  c->loop = loop;
  c->opts = *resolved;
  c->opts.name = name;
  c->opts.secret = secret;
  if (secret != NULL) flow_auth_nonce(c->nonce); /* else zeros: nothing to prove */
  c->data = resolved->data;
  c->tcp.data = c->timer.data = c;
  c->handles_open = 2;
  flow_wbuf_init(&c->pending);
  flow_wbuf_init(&c->held);
  flow_frame_decoder_init(&c->dec, FLOW_TRANSPORT_HELLO_MAX);
  snprintf(c->peer, sizeof c->peer, "unknown peer");
  if (queue_hello(c) != 0) {
    c->quiet = 1;
    begin_close(c, "out of memory", 0);
    return NULL;
  }
  uv_timer_start(&c->timer, on_timer, c->opts.handshake_timeout_ms, 0);
  return c;
}

static void on_connect(uv_connect_t *req, int status) {
  flow_transport_conn_t *c = req->data;
  if (c->state != ST_CONNECTING) return; /* closed meanwhile (UV_ECANCELED) */
  if (status < 0) {
    failf(c, "connect failed: %s", uv_strerror(status));
    return;
  }
  start_connected(c);
}

int flow_transport_connect(uv_loop_t *loop, const char *host, int port, const flow_transport_opts_t *opts,
                           flow_transport_conn_t **out) {
  struct sockaddr_storage ss;
  flow_transport_opts_t r;
  *out = NULL;
  if (resolve_opts(opts, &r) != 0 || port <= 0 || flow_tcp_parse_addr(host, port, &ss) != 0)
    return FLOW_EINVAL;
  flow_transport_conn_t *c = conn_new(loop, &r);
  if (c == NULL) return FLOW_ENOMEM;
  flow_tcp_addr_label(&ss, c->peer, sizeof c->peer);
  c->state = ST_CONNECTING;
  c->connect_req.data = c;
  int rc = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&ss, on_connect);
  if (rc < 0) {
    fprintf(stderr, "flowlua: net: %s: connect failed: %s\n", c->peer, uv_strerror(rc));
    c->quiet = 1;
    begin_close(c, "connect failed", 0);
    return FLOW_EIO;
  }
  *out = c;
  return 0;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  flow_transport_conn_t *c = req->data;
  if (c->state != ST_CLOSING) return;
  if (status < 0) failf(c, "shutdown failed: %s", uv_strerror(status));
  else if (c->draining) return; /* on_read closes at the peer's EOF */
  else begin_close(c, "closed locally", 0);
}

void flow_transport_close(flow_transport_conn_t *c) {
  if (c == NULL || c->state == ST_CLOSING || c->state == ST_CLOSED) return;
  if ((c->state == ST_CONNECTING || c->state == ST_CONNECTED) && !c->verified &&
      c->held.len > 0) {
    /* frames wait for the peer's verification: become_verified closes after
     * flushing them; the connect/handshake deadline still runs */
    c->close_requested = 1;
    return;
  }
  if (c->state == ST_CONNECTING || queued(c) == 0) {
    begin_close(c, "closed locally", 0);
    return;
  }
  c->state = ST_CLOSING;
  uv_read_stop((uv_stream_t *)&c->tcp);
  flush(c, 1);
  if (c->state == ST_CLOSED) return;
  c->shutdown_req.data = c;
  int r = uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown);
  if (r < 0) {
    failf(c, "shutdown failed: %s", uv_strerror(r));
    return;
  }
  uv_timer_start(&c->timer, on_timer, FLOW_TRANSPORT_LINGER_TIMEOUT, 0);
}

/* ------------------------------------------------------------- server --- */

static void on_connection(uv_stream_t *ls, int status) {
  flow_transport_server_t *s = ls->data;
  if (s->closing) return;
  if (status < 0) {
    fprintf(stderr, "flowlua: net: listener on port %d: accept failed: %s\n", s->port,
            uv_strerror(status));
    return;
  }
  flow_transport_conn_t *c = conn_new(s->loop, &s->opts);
  if (c == NULL) {
    /* take the connection off the backlog and drop it */
    uv_tcp_t *t = malloc(sizeof *t);
    if (t != NULL && uv_tcp_init(s->loop, t) == 0) {
      uv_accept(ls, (uv_stream_t *)t);
      uv_close((uv_handle_t *)t, (uv_close_cb)free);
    } else {
      free(t);
    }
    fprintf(stderr, "flowlua: net: listener on port %d: out of memory accepting\n", s->port);
    return;
  }
  c->server = s;
  c->next = s->conns;
  if (s->conns != NULL) s->conns->prev = c;
  s->conns = c;
  s->n_conns++;
  c->state = ST_CONNECTED;
  int r = uv_accept(ls, (uv_stream_t *)&c->tcp);
  if (r < 0) {
    c->quiet = 1;
    begin_close(c, "accept failed", 0);
    fprintf(stderr, "flowlua: net: listener on port %d: accept failed: %s\n", s->port,
            uv_strerror(r));
    return;
  }
  flow_tcp_peer_label(&c->tcp, c->peer, sizeof c->peer);
  start_connected(c);
}

static void on_listener_closed(uv_handle_t *h) {
  flow_transport_server_t *s = h->data;
  s->listener_closed = 1;
  server_maybe_free(s);
}

int flow_transport_listen(uv_loop_t *loop, const char *host, int port, const flow_transport_opts_t *opts,
                          flow_transport_server_t **out) {
  struct sockaddr_storage ss;
  flow_transport_opts_t r;
  *out = NULL;
  if (resolve_opts(opts, &r) != 0 || flow_tcp_parse_addr(host, port, &ss) != 0) return FLOW_EINVAL;
  if (r.secret == NULL && !flow_auth_is_loopback(host)) {
    fprintf(stderr,
            "flowlua: net: refusing to listen on %s without a cluster secret: anyone who can "
            "reach it could submit code (--secret-file FILE or " FLOW_AUTH_ENV ")\n",
            host);
    return FLOW_EINVAL;
  }
  flow_transport_server_t *s = calloc(1, sizeof *s);
  if (s == NULL) return FLOW_ENOMEM;
  s->name = flow_strdup(r.name);
  int oom;
  s->secret = copy_secret(&r, &oom);
  if (s->name == NULL || oom || uv_tcp_init(loop, &s->tcp) != 0) {
    free_secret(s->secret, r.secret_len);
    free(s->name);
    free(s);
    return FLOW_ENOMEM;
  }
  s->loop = loop;
  s->opts = r;
  s->opts.name = s->name;
  s->opts.secret = s->secret;
  s->tcp.data = s;
  char label[64];
  flow_tcp_addr_label(&ss, label, sizeof label);
  int rc = flow_tcp_listen(&s->tcp, &ss, on_connection, &s->port);
  if (rc != 0) {
    fprintf(stderr, "flowlua: net: cannot listen on %s: %s\n", label, uv_strerror(rc));
    s->closing = 1;
    uv_close((uv_handle_t *)&s->tcp, on_listener_closed);
    return FLOW_EIO;
  }
  *out = s;
  return 0;
}

int flow_transport_server_port(const flow_transport_server_t *s) { return s->port; }
int flow_transport_server_connections(const flow_transport_server_t *s) { return s->n_conns; }

void flow_transport_server_close(flow_transport_server_t *s) {
  if (s == NULL || s->closing) return;
  s->closing = 1;
  for (flow_transport_conn_t *c = s->conns; c != NULL; c = c->next) begin_close(c, "server closed", 0);
  uv_close((uv_handle_t *)&s->tcp, on_listener_closed);
}

/* ---------------------------------------------------------- accessors --- */

size_t flow_transport_queued(const flow_transport_conn_t *c) { return queued(c); }
int flow_transport_is_open(const flow_transport_conn_t *c) {
  return c->state == ST_CONNECTED && c->verified;
}
int flow_transport_is_authenticated(const flow_transport_conn_t *c) { return c->verified && c->need_auth; }
const char *flow_transport_peer(const flow_transport_conn_t *c) { return c->peer; }
const char *flow_transport_peer_name(const flow_transport_conn_t *c) { return c->peer_name; }
int flow_transport_peer_role(const flow_transport_conn_t *c) { return c->peer_role; }
flow_transport_server_t *flow_transport_conn_server(const flow_transport_conn_t *c) { return c->server; }
void *flow_transport_conn_data(const flow_transport_conn_t *c) { return c->data; }
void flow_transport_conn_set_data(flow_transport_conn_t *c, void *data) { c->data = data; }
