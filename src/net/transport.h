/* Cluster-mode TCP transport: frames (net/frame.h) over libuv TCP.
 *
 * A flow_transport_server_t listens (default 127.0.0.1, port 0 = ephemeral, the
 * bound port is reported); flow_transport_connect makes a client connection. Every
 * connection (client or accepted) runs on one libuv loop, single-threaded,
 * with its own flow_frame_decoder_t, and:
 *
 *   - sends a handshake frame (type FLOW_TRANSPORT_HELLO: u8 role, u32 protocol
 *     version, string name, u8 flags, 32-byte nonce) as soon as it is
 *     connected, and requires the peer's handshake as the first frame.
 *     Anything else first, a protocol version mismatch, an unknown role or a
 *     malformed handshake closes the connection.
 *   - authenticates when either side has a shared secret (opts.secret): each
 *     side sends FLOW_TRANSPORT_AUTH = HMAC-SHA256(secret, "flowlua-auth-v2" ||
 *     u8 sender role || receiver's nonce || sender's nonce) and checks the
 *     peer's in constant time; the secret itself is never sent. A side that
 *     refuses (no secret on one side, a wrong proof) sends FLOW_TRANSPORT_REJECT with
 *     a reason, logs one line and closes; the side receiving a REJECT closes
 *     with the peer's reason as its on_close reason.
 *   - is open (on_open) once the peer is verified: its handshake came and,
 *     with a secret on either side, its proof checked out. Until then the
 *     decoder accepts frames of at most FLOW_TRANSPORT_HELLO_MAX bytes, no
 *     application frame is delivered (one arriving closes the connection),
 *     and the peer has handshake_timeout_ms for the whole exchange.
 *   - delivers every later frame to on_frame, in order;
 *   - queues outgoing frames (copied) in a bounded queue: flow_transport_send
 *     returns FLOW_EFULL instead of queueing past max_queued bytes; on_drain
 *     then tells when the queue fell to half the limit (backpressure).
 *     Application frames sent before the connection is open are HELD, not
 *     written, until we verified the peer (so an unauthenticated peer never
 *     sees one); they then go out behind our own handshake frames, in order;
 *   - closes on any protocol error (bad magic/version/type, oversized length,
 *     a peer that disconnects mid-frame = truncated frame) with ONE line on
 *     stderr, "flowlua: net: <peer>: <reason>", and goes on: only that
 *     connection is affected, the server keeps accepting.
 *
 * Frame types 1..FLOW_TRANSPORT_TYPE_APP_MIN-1 belong to the transport (HELLO, AUTH,
 * REJECT, the rest reserved); application frames use FLOW_TRANSPORT_TYPE_APP_MIN..255.
 *
 * on_close(conn, reason) is called exactly once per connection that
 * flow_transport_connect returned or the server accepted, after its handles are
 * closed; the connection is freed when it returns. Layout: docs/wire.md.
 *
 * Loop thread only. Layering: net (util only) (no runtime, no Lua). */
#ifndef FLOW_NET_TRANSPORT_H
#define FLOW_NET_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define FLOW_TRANSPORT_HELLO 1             /* the handshake frame type; reserved for the transport */
#define FLOW_TRANSPORT_AUTH 2              /* the proof of the shared secret (32-byte HMAC) */
#define FLOW_TRANSPORT_REJECT 3            /* string reason; the sender closes after it */
#define FLOW_TRANSPORT_TYPE_APP_MIN 16     /* lower types are the transport's; flow_transport_send refuses them */
#define FLOW_TRANSPORT_PROTOCOL_VERSION 2  /* carried by the handshake; must match exactly */
#define FLOW_TRANSPORT_HELLO_AUTH 0x01     /* handshake flag: "I require authentication" */
#define FLOW_TRANSPORT_HELLO_MAX 1024      /* largest frame accepted before the peer is verified */
#define FLOW_TRANSPORT_NAME_MAX 255        /* longest handshake name, bytes */
#define FLOW_TRANSPORT_QUEUE_DEFAULT (4u * 1024u * 1024u)
#define FLOW_TRANSPORT_HANDSHAKE_TIMEOUT_DEFAULT 10000 /* ms; also bounds connecting */
#define FLOW_TRANSPORT_LINGER_TIMEOUT 5000 /* ms a graceful close may spend flushing */

typedef enum {
  FLOW_TRANSPORT_ROLE_CLIENT = 1,      /* a job-submitting client */
  FLOW_TRANSPORT_ROLE_JOBMANAGER = 2,  /* Dispatcher + ResourceManager + JobMasters */
  FLOW_TRANSPORT_ROLE_TASKMANAGER = 3  /* a TaskExecutor process */
} flow_transport_role_t;

typedef struct flow_transport_conn flow_transport_conn_t;
typedef struct flow_transport_server flow_transport_server_t;

typedef struct flow_transport_opts {
  uint8_t role;          /* our role, a flow_transport_role_t */
  const char *name;      /* our name in the handshake (copied; NULL = "") */
  uint32_t max_frame;    /* largest payload accepted after the handshake; 0 = FLOW_FRAME_MAX */
  size_t max_queued;     /* outgoing queue limit in bytes; 0 = FLOW_TRANSPORT_QUEUE_DEFAULT */
  unsigned handshake_timeout_ms; /* 0 = FLOW_TRANSPORT_HANDSHAKE_TIMEOUT_DEFAULT; covers authentication */
  /* The cluster secret (copied; NULL = none, then secret_len is ignored;
   * otherwise at least FLOW_AUTH_SECRET_MIN bytes — see net/auth.h).
   * With a secret, only peers proving the same secret are accepted; without
   * one, a peer that requires authentication is refused. */
  const void *secret;
  size_t secret_len;
  /* All optional. on_open: the peer's handshake was accepted (and, with a
   * secret on either side, the peer proved it). */
  void (*on_open)(flow_transport_conn_t *c);
  /* A frame after the handshake. payload (NULL when len == 0) is valid only
   * during the call. The callback may send, close or fail the connection. */
  void (*on_frame)(flow_transport_conn_t *c, uint8_t type, const uint8_t *payload, uint32_t len);
  /* After flow_transport_send returned FLOW_EFULL: the queue is at most half full. */
  void (*on_drain)(flow_transport_conn_t *c);
  /* Once per connection; c is freed after it returns. reason is never NULL:
   * "closed locally", "peer closed the connection", "server closed" for
   * ordinary closes (not logged), otherwise the logged error; after a
   * FLOW_TRANSPORT_REJECT from the peer, the peer's reason (printable for a user,
   * e.g. "authentication failed: wrong cluster secret"). */
  void (*on_close)(flow_transport_conn_t *c, const char *reason);
  void *data;            /* initial flow_transport_conn_data of each connection */
  int no_log;            /* 1: no log line; the caller reports on_close's reason itself */
} flow_transport_opts_t;

/* host: a numeric IPv4 or IPv6 address (no name resolution), NULL = 127.0.0.1;
 * port 0 = ephemeral. opts are copied. A host that is not loopback
 * (flow_auth_is_loopback) requires opts->secret. Returns 0, FLOW_EINVAL (bad
 * address, role, name or secret; a non-loopback host without a secret, with a
 * message on stderr) or FLOW_EIO (bind/listen failed, message on stderr). */
int flow_transport_listen(uv_loop_t *loop, const char *host, int port, const flow_transport_opts_t *opts,
                          flow_transport_server_t **out);
int flow_transport_server_port(const flow_transport_server_t *s); /* the bound port */
int flow_transport_server_connections(const flow_transport_server_t *s); /* accepted, not yet closed */
/* Stops listening and closes every accepted connection (reason "server
 * closed", queued frames dropped). The server is freed once all its handles
 * are closed: run the loop. */
void flow_transport_server_close(flow_transport_server_t *s);

/* Starts connecting; frames may be sent at once (they are held until the
 * peer is verified, then written behind our handshake). A failure to connect
 * is reported by on_close. Returns 0, FLOW_EINVAL (bad address, role, name or
 * secret) or FLOW_EIO. */
int flow_transport_connect(uv_loop_t *loop, const char *host, int port, const flow_transport_opts_t *opts,
                           flow_transport_conn_t **out);

/* Queues one frame (payload copied). Returns 0; FLOW_EFULL when the queue
 * holds data and this frame would take it past max_queued (nothing queued;
 * wait for on_drain — a single frame larger than the limit is accepted into
 * an empty queue; frames held before the connection is open count); FLOW_EINVAL
 * for a type below FLOW_TRANSPORT_TYPE_APP_MIN or a payload over FLOW_FRAME_MAX;
 * FLOW_ESTATE once the connection is closing; FLOW_ENOMEM or FLOW_EIO (the
 * connection is then closed). */
int flow_transport_send(flow_transport_conn_t *c, uint8_t type, const void *payload, uint32_t len);
/* Graceful: stops reading, flushes the queue (at most FLOW_TRANSPORT_LINGER_TIMEOUT
 * ms), then closes; on_close follows with "closed locally". Idempotent.
 * Before the connection is open with frames held: the handshake (and
 * authentication) finishes first, within handshake_timeout_ms, then the held
 * frames are flushed and the connection closes without on_open; if the peer
 * is refused instead, the held frames are dropped. */
void flow_transport_close(flow_transport_conn_t *c);
/* Protocol error found by a higher layer (e.g. a payload that does not
 * parse): logs "flowlua: net: <peer>: <reason>" and closes at once. */
void flow_transport_fail(flow_transport_conn_t *c, const char *reason);

size_t flow_transport_queued(const flow_transport_conn_t *c);     /* outgoing bytes not yet written */
int flow_transport_is_open(const flow_transport_conn_t *c);       /* peer verified, not closing */
const char *flow_transport_peer(const flow_transport_conn_t *c);  /* "127.0.0.1:5555" */
/* From the peer's handshake, or NULL / 0 before it; claims only until on_open. */
const char *flow_transport_peer_name(const flow_transport_conn_t *c);
int flow_transport_peer_role(const flow_transport_conn_t *c);
/* 1 when the peer proved the shared secret (on_open came with a secret set). */
int flow_transport_is_authenticated(const flow_transport_conn_t *c);
flow_transport_server_t *flow_transport_conn_server(const flow_transport_conn_t *c); /* NULL for clients */
void *flow_transport_conn_data(const flow_transport_conn_t *c);
void flow_transport_conn_set_data(flow_transport_conn_t *c, void *data);

#endif
