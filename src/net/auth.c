/* Shared-secret helpers: see auth.h. */
#include "net/auth.h"

#include "util/common.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

/* Trims trailing whitespace in place; returns the new length. */
static size_t trim_right(char *s, size_t n) {
  while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
  s[n] = '\0';
  return n;
}

/* Reads at most FLOW_AUTH_SECRET_MAX + 1 bytes of an already opened file:
 * one byte more than allowed tells a too large file. */
static int read_secret_fd(int fd, const char *file, char *buf, size_t *n, char *err,
                          size_t errlen) {
  size_t have = 0;
  while (have < FLOW_AUTH_SECRET_MAX + 1) {
    ssize_t r = read(fd, buf + have, FLOW_AUTH_SECRET_MAX + 1 - have);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      snprintf(err, errlen, "cannot read secret file %s: %s", file, strerror(errno));
      return FLOW_EINVAL;
    }
    if (r == 0) break;
    have += (size_t)r;
  }
  if (have > FLOW_AUTH_SECRET_MAX) {
    snprintf(err, errlen, "secret file %s is larger than %d bytes", file, FLOW_AUTH_SECRET_MAX);
    return FLOW_EINVAL;
  }
  *n = have;
  return 0;
}

int flow_auth_load_secret(const char *file, char **out, size_t *len, char *err, size_t errlen) {
  *out = NULL;
  *len = 0;
  if (errlen > 0) err[0] = '\0';
  /* buf holds the raw bytes (plus a NUL); wiped before it is freed */
  char *buf = malloc(FLOW_AUTH_SECRET_MAX + 2);
  if (buf == NULL) {
    snprintf(err, errlen, "out of memory loading the cluster secret");
    return FLOW_ENOMEM;
  }
  size_t n = 0;
  const char *what; /* names the source in messages */
  char label[512];
  int rc = 0;
  if (file != NULL) {
    snprintf(label, sizeof label, "the cluster secret in %s", file);
    what = label;
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0) {
      snprintf(err, errlen, "cannot open secret file %s: %s", file, strerror(errno));
      rc = FLOW_EINVAL;
    } else if (fstat(fd, &st) != 0) {
      snprintf(err, errlen, "cannot stat secret file %s: %s", file, strerror(errno));
      rc = FLOW_EINVAL;
    } else if (S_ISDIR(st.st_mode)) {
      snprintf(err, errlen, "secret file %s is a directory", file);
      rc = FLOW_EINVAL;
    } else if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
      /* checked on the opened file (fstat), so a swap after the check does not matter */
      snprintf(err, errlen, "secret file %s is readable by others (mode %04o; chmod 600 %s)", file,
               (unsigned)(st.st_mode & 07777), file);
      rc = FLOW_EINVAL;
    } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      snprintf(err, errlen, "secret file %s is writable by others (mode %04o; chmod 600 %s)", file,
               (unsigned)(st.st_mode & 07777), file);
      rc = FLOW_EINVAL;
    } else {
      rc = read_secret_fd(fd, file, buf, &n, err, errlen);
    }
    if (fd >= 0) close(fd);
    if (rc == 0) {
      n = trim_right(buf, n);
      if (n == 0) {
        snprintf(err, errlen, "secret file %s is empty", file);
        rc = FLOW_EINVAL;
      }
    }
  } else {
    const char *env = getenv(FLOW_AUTH_ENV);
    if (env == NULL) {
      free(buf);
      return 0; /* no secret */
    }
    what = FLOW_AUTH_ENV;
    n = strlen(env);
    if (n > FLOW_AUTH_SECRET_MAX) {
      snprintf(err, errlen, "%s is longer than %d bytes", FLOW_AUTH_ENV, FLOW_AUTH_SECRET_MAX);
      rc = FLOW_EINVAL;
    } else {
      memcpy(buf, env, n);
      n = trim_right(buf, n);
    }
  }
  if (rc == 0 && n < FLOW_AUTH_SECRET_MIN) {
    snprintf(err, errlen,
             "%s is too short: %zu bytes, at least %d are required (e.g. openssl rand -hex 32)",
             what, n, FLOW_AUTH_SECRET_MIN);
    rc = FLOW_EINVAL;
  }
  if (rc != 0) {
    OPENSSL_cleanse(buf, FLOW_AUTH_SECRET_MAX + 2);
    free(buf);
    return rc;
  }
  buf[n] = '\0';
  char *s = malloc(n + 1);
  if (s == NULL) {
    snprintf(err, errlen, "out of memory loading the cluster secret");
    rc = FLOW_ENOMEM;
  } else {
    memcpy(s, buf, n + 1);
    *out = s;
    *len = n;
  }
  OPENSSL_cleanse(buf, FLOW_AUTH_SECRET_MAX + 2);
  free(buf);
  return rc;
}

void flow_auth_free_secret(char *secret, size_t len) {
  if (secret == NULL) return;
  OPENSSL_cleanse(secret, len);
  free(secret);
}

void flow_auth_nonce(uint8_t out[FLOW_AUTH_NONCE_LEN]) {
  if (RAND_bytes(out, FLOW_AUTH_NONCE_LEN) != 1) {
    fputs("flowlua: cannot generate random bytes (RAND_bytes failed)\n", stderr);
    abort();
  }
}

void flow_auth_mac(const void *secret, size_t secret_len, const void *msg, size_t msg_len,
                   uint8_t out[FLOW_AUTH_MAC_LEN]) {
  unsigned int n = FLOW_AUTH_MAC_LEN;
  static const uint8_t empty = 0; /* HMAC() wants a non-NULL key pointer */
  if (HMAC(EVP_sha256(), secret != NULL ? secret : &empty, (int)secret_len,
           msg != NULL ? msg : &empty, msg_len, out, &n) == NULL ||
      n != FLOW_AUTH_MAC_LEN) {
    fputs("flowlua: HMAC-SHA256 failed\n", stderr);
    abort();
  }
}

int flow_auth_equal(const uint8_t *a, const uint8_t *b, size_t n) {
  return CRYPTO_memcmp(a, b, n) == 0;
}

void flow_auth_hex(const uint8_t *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

int flow_auth_is_loopback(const char *host) {
  if (host == NULL || host[0] == '\0' || strcasecmp(host, "localhost") == 0) return 1;
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, host, &a6) == 1) {
    static const uint8_t lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a6.s6_addr, lo, 16) == 0) return 1;
    return memcmp(a6.s6_addr, mapped, 12) == 0 && a6.s6_addr[12] == 127;
  }
  return 0;
}
