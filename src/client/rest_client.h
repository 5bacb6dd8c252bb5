/* The REST client of a standalone cluster (`flowlua run --rest`, like
 * Flink's RestClusterClient): a JobClient (job_client.h) that submits with
 * POST /jobs and follows the job by polling GET /jobs/:id on a thread of its
 * own; and the small blocking HTTP/1.1 call it is made of, one request per
 * connection, the response parsed with http-parser. With a cluster secret,
 * every request other than GET is signed as docs/rest.md says (a nonce from
 * GET /auth/nonce, then HMAC-SHA256 headers). */
#ifndef FLOW_CLIENT_REST_CLIENT_H
#define FLOW_CLIENT_REST_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "client/job_client.h"

typedef struct flow_rest_target {
  const char *host; /* numeric IPv4/IPv6; NULL = 127.0.0.1 */
  int port;
  const char *secret; /* NULL: none */
  size_t secret_len;
  int timeout_ms;     /* per request; 0 = 30000 */
} flow_rest_target_t;

/* Any thread, no shared state: 0 with the status and the body (malloc'd,
 * NUL-terminated; free it), or FLOW_EIO with a message in err (unreachable,
 * timed out, malformed response). */
int flow_rest_call(const flow_rest_target_t *t, const char *method, const char *path, const void *body, size_t len,
                   int *status, char **resp, size_t *resp_len, char *err, size_t errlen);

/* POST /jobs with the submission (a FLOW_GATEWAY_SUBMIT body without the
 * request id), then GET /jobs/:id every 200 ms until the job ended (the
 * result has no accumulators); cancel is PATCH /jobs/:id?mode=cancel;
 * savepoints need the RPC client. NULL with a message in err. */
flow_job_client_t *flow_rest_client_submit(const flow_rest_target_t *t, const uint8_t *payload, size_t len,
                                           char *err, size_t errlen);

#endif
