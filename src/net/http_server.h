/* Cluster-mode REST endpoint, HTTP/1.1 layer (Flink: RestServerEndpoint).
 *
 * A flow_http_server_t listens on one libuv loop (default 127.0.0.1, port 0 =
 * ephemeral) and parses requests with http-parser (no hand-written HTTP
 * parsing). Every complete request is handed to opts.handler, synchronously
 * on the loop thread, once; the handler fills a flow_http_response_t and the
 * server writes it. Loop thread only. Layering: net (util only) (no runtime,
 * no Lua). Limits and the auth scheme are also described in docs/rest.md.
 *
 * Connections:
 *   - keep-alive as http_should_keep_alive says (HTTP/1.1 by default, 1.0 with
 *     "Connection: keep-alive"); requests on one connection are answered one at
 *     a time, in order (pipelined requests wait: reading stops while a
 *     response is written). "Connection: close" is honoured.
 *   - every response carries Content-Length (except 204) and Content-Type, and
 *     "Connection: close" when the server closes after it.
 *   - "Expect: 100-continue" is answered with "100 Continue" once the headers
 *     passed the limits.
 *
 * Errors close only that connection, after a JSON error response shaped like
 * Flink's, {"errors":["..."]}, and ONE line on stderr,
 * "flowlua: rest: <peer>: <reason>":
 *   400  the request does not parse (http-parser error, bad request target)
 *   431  request line + headers (or chunked trailers) over max_header_bytes
 *   413  body over max_body_bytes: judged by Content-Length as soon as the
 *        headers are complete, and by the bytes received for chunked bodies
 * A peer that disconnects mid-request is closed with one log line and no
 * response; one that is idle between requests is closed silently. Timeouts
 * (idle_timeout_ms): waiting for a request starts when the connection is
 * accepted or the previous response was written, and is NOT reset by partial
 * data: the whole request must arrive within the timeout (slowloris), else
 * the connection is closed (logged when part of a request had arrived).
 * Writing a response has the same deadline. Memory per connection is bounded
 * by a 16 KiB read buffer + max_header_bytes + max_body_bytes + the response.
 *
 * Shared secret (opts.secret != NULL). The secret never travels; requests
 * prove it with a single-use server nonce:
 *   1. GET /auth/nonce is answered by the server itself (the handler never
 *      sees it): 200 {"nonce":"<64 lowercase hex chars>"} (32 random bytes).
 *      At most FLOW_HTTP_MAX_NONCES are outstanding (the oldest is dropped
 *      beyond that); each expires after FLOW_HTTP_NONCE_TTL_MS.
 *   2. Every request whose method is not GET or HEAD must carry
 *        X-Flowlua-Nonce: <the nonce, as issued>
 *        X-Flowlua-Auth:  <hex HMAC-SHA256 keyed with the secret over MAC input>
 *      where the MAC input is the bytes
 *        nonce "\n" METHOD "\n" TARGET "\n" BODY
 *      nonce: the 64 hex chars as issued; METHOD: e.g. "POST"; TARGET: the
 *      request path, plus "?" and the query when the query is not empty,
 *      exactly as sent (not decoded), e.g. "/jobs/abc?mode=x"; BODY: the raw
 *      body bytes (after de-chunking), possibly empty; no trailing newline.
 *      Shell: { printf '%s\n%s\n%s\n' "$nonce" POST /jobs; cat body; } |
 *               openssl dgst -sha256 -hmac "$secret" -r   (first field)
 *      The nonce is consumed by the attempt, right or wrong. On success the
 *      handler sees authenticated = 1; otherwise the server answers 401
 *      {"errors":["authentication required: <what is missing or wrong>"]}
 *      itself, logs one line, and the handler is not called.
 *   GET and HEAD requests reach the handler with authenticated = 0 (it decides
 *   what they may see). Without a secret every request reaches the handler
 *   with authenticated = 0. */
#ifndef FLOW_NET_HTTP_SERVER_H
#define FLOW_NET_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define FLOW_HTTP_MAX_HEADER_DEFAULT (16u * 1024u)   /* request line + headers, bytes */
#define FLOW_HTTP_MAX_BODY_DEFAULT (1024u * 1024u)
#define FLOW_HTTP_MAX_CONNECTIONS_DEFAULT 64
#define FLOW_HTTP_IDLE_TIMEOUT_DEFAULT 30000         /* ms */
#define FLOW_HTTP_MAX_HEADERS 256                    /* header lines per request; more is a 431 */
#define FLOW_HTTP_MAX_NONCES 256                     /* outstanding auth nonces */
#define FLOW_HTTP_NONCE_TTL_MS 60000
#define FLOW_HTTP_NONCE_PATH "/auth/nonce"
#define FLOW_HTTP_NONCE_HEADER "X-Flowlua-Nonce"
#define FLOW_HTTP_AUTH_HEADER "X-Flowlua-Auth"

typedef struct flow_http_server flow_http_server_t;

typedef struct flow_http_header {
  const char *name, *value; /* as sent (value without surrounding blanks) */
} flow_http_header_t;

/* Valid only during the handler call; every string is NUL-terminated. */
typedef struct flow_http_request {
  const char *method;         /* "GET", "PATCH", ... */
  const char *path;           /* raw (not decoded), without the query, e.g. "/jobs/abc" */
  const char *query;          /* raw query without '?', "" when none */
  const uint8_t *body;        /* never NULL (empty body: "") ; may contain NUL bytes */
  size_t body_len;
  const flow_http_header_t *headers;
  int n_headers;
  int authenticated;          /* 1 when the request proved the secret (see above) */
  const char *peer;           /* "127.0.0.1:5555" */
} flow_http_request_t;

typedef struct flow_http_response {
  int status;                 /* set by the handler; default 200; < 200 or > 599 = 500 */
  const char *content_type;   /* default "application/json"; must not contain CR/LF */
  char *body;                 /* malloc'd by the handler (or NULL); the server frees it */
  size_t body_len;
} flow_http_response_t;

/* Fills *res for *req. May call flow_http_server_close (the response is then
 * dropped). Must not run the loop. */
typedef void (*flow_http_handler_cb)(void *ud, const flow_http_request_t *req,
                                     flow_http_response_t *res);

typedef struct flow_http_opts {
  size_t max_header_bytes;    /* 0 = FLOW_HTTP_MAX_HEADER_DEFAULT */
  size_t max_body_bytes;      /* 0 = FLOW_HTTP_MAX_BODY_DEFAULT */
  int max_connections;        /* 0 = 64; beyond it new connections are closed at once */
  unsigned idle_timeout_ms;   /* 0 = FLOW_HTTP_IDLE_TIMEOUT_DEFAULT (see above) */
  const char *secret;         /* NULL: no auth; else see above (copied) */
  size_t secret_len;          /* bytes of secret; 0 with a secret = strlen(secret) */
  flow_http_handler_cb handler; /* required */
  void *data;                 /* the handler's ud */
} flow_http_opts_t;

/* host: a numeric IPv4 or IPv6 address (no name resolution), NULL =
 * 127.0.0.1; port 0 = ephemeral. opts are copied (the secret too). Returns
 * 0, FLOW_EINVAL (bad address, no handler, negative limits, empty secret),
 * FLOW_ENOMEM or FLOW_EIO (bind/listen failed, message on stderr). */
int flow_http_listen(uv_loop_t *loop, const char *host, int port, const flow_http_opts_t *opts,
                     flow_http_server_t **out);
int flow_http_server_port(const flow_http_server_t *s);        /* the bound port */
int flow_http_server_connections(const flow_http_server_t *s); /* accepted, not yet freed */
/* Stops listening and closes every connection (responses in flight are
 * dropped). The server is freed once all its handles are closed: run the
 * loop. Idempotent; may be called from the handler. */
void flow_http_server_close(flow_http_server_t *s);

/* The first header named name (case-insensitive), or NULL. */
const char *flow_http_header(const flow_http_request_t *req, const char *name);

#endif
