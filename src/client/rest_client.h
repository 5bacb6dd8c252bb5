/* A small blocking HTTP/1.1 client for the jobmanager's REST endpoint
 * (`flowlua run --rest`, like Flink's CLI talking to its REST API):
 * one request per connection, the response parsed with http-parser. With
 * a cluster secret, every request other than GET is signed as docs/rest.md
 * says (a nonce from GET /auth/nonce, then HMAC-SHA256 headers).
 * Any thread; no shared state. */
#ifndef FLOW_CLUSTER_REST_CLIENT_H
#define FLOW_CLUSTER_REST_CLIENT_H

#include <stddef.h>

typedef struct flow_rest_target {
  const char *host; /* numeric IPv4/IPv6; NULL = 127.0.0.1 */
  int port;
  const char *secret; /* NULL: none */
  size_t secret_len;
  int timeout_ms;     /* per request; 0 = 30000 */
} flow_rest_target_t;

/* 0 with the status and the body (malloc'd, NUL-terminated; free it), or -1
 * with a message in err (unreachable, timed out, malformed response). */
int flow_rest_call(const flow_rest_target_t *t, const char *method, const char *path, const void *body, size_t len,
                   int *status, char **resp, size_t *resp_len, char *err, size_t errlen);

#endif
