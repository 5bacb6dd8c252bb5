/* Cluster-mode shared-secret authentication: the primitives behind the
 * transport's challenge-response (net/transport.h, docs/wire.md).
 *
 * The secret is never sent: each side proves it knows the secret with
 * HMAC-SHA256(secret, context || both sides' random nonces), compared in
 * constant time. This file holds the secret loading (a file with owner-only
 * permissions, or the FLOWLUA_CLUSTER_SECRET environment variable) and the
 * crypto helpers; the protocol itself lives in transport.c.
 *
 * libcrypto only: no libuv, no Lua. Thread-safe (no state of its own). */
#ifndef FLOW_NET_AUTH_H
#define FLOW_NET_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define FLOW_AUTH_NONCE_LEN 32   /* bytes of random challenge per connection */
#define FLOW_AUTH_MAC_LEN 32     /* HMAC-SHA256 */
#define FLOW_AUTH_SECRET_MIN 16  /* shortest accepted secret, bytes */
#define FLOW_AUTH_SECRET_MAX 4096 /* longest accepted secret file, bytes */
#define FLOW_AUTH_ENV "FLOWLUA_CLUSTER_SECRET"

/* Loads the cluster secret. file given: reads it, refusing a file that group
 * or others may read or write ("chmod 600"), an empty one and one shorter
 * than FLOW_AUTH_SECRET_MIN bytes; trailing whitespace (the newline an editor
 * adds) is trimmed. file NULL: the FLOWLUA_CLUSTER_SECRET environment variable,
 * same trimming and length rule. Neither: *out = NULL, *len = 0 (no secret).
 * On success *out is a malloc'd NUL-terminated copy (release it with
 * flow_auth_free_secret). Returns 0, FLOW_EINVAL (err holds one line, no
 * trailing newline) or FLOW_ENOMEM. */
int flow_auth_load_secret(const char *file, char **out, size_t *len, char *err, size_t errlen);
/* Wipes and frees a secret from flow_auth_load_secret (NULL-safe). */
void flow_auth_free_secret(char *secret, size_t len);

/* FLOW_AUTH_NONCE_LEN bytes from the CSPRNG (RAND_bytes). Aborts if the
 * generator cannot be seeded: a predictable nonce would defeat the protocol. */
void flow_auth_nonce(uint8_t out[FLOW_AUTH_NONCE_LEN]);
/* out = HMAC-SHA256(secret, msg). */
void flow_auth_mac(const void *secret, size_t secret_len, const void *msg, size_t msg_len,
                   uint8_t out[FLOW_AUTH_MAC_LEN]);
/* 1 when the n bytes are equal, 0 otherwise; time independent of the contents. */
int flow_auth_equal(const uint8_t *a, const uint8_t *b, size_t n);
/* Lowercase hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void flow_auth_hex(const uint8_t *p, size_t n, char *out);
/* Whether binding host keeps the service on this machine: NULL, "",
 * "localhost", 127.0.0.0/8, ::1 and ::ffff:127.x.y.z. Anything else
 * (0.0.0.0, ::, a LAN address, a malformed string) is not. */
int flow_auth_is_loopback(const char *host);

#endif
