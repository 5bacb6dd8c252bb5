#include "client/rest_client.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/auth.h"
#include "util/common.h"

#define MAX_RESPONSE (16u << 20)

typedef struct response {
  int complete;
  char *body;
  size_t len, cap;
  int too_big;
} response_t;

static int on_body(http_parser *p, const char *at, size_t n) {
  response_t *r = p->data;
  if (r->len + n > MAX_RESPONSE) {
    r->too_big = 1;
    return 1;
  }
  if (r->len + n + 1 > r->cap) {
    r->cap = (r->len + n + 1) * 2;
    r->body = flow_xrealloc(r->body, r->cap);
  }
  memcpy(r->body + r->len, at, n);
  r->len += n;
  return 0;
}

static int on_complete(http_parser *p) {
  ((response_t *)p->data)->complete = 1;
  return 0;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects with a deadline: the socket, or -1 with err. */
static int dial(const flow_rest_target_t *t, int64_t deadline, char *err, size_t errlen) {
  const char *host = t->host ? t->host : "127.0.0.1";
  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof(ss));
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)t->port);
    sl = sizeof(*a4);
  } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)t->port);
    sl = sizeof(*a6);
  } else {
    snprintf(err, errlen, "'%s' is not a numeric address", host);
    return -1;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    snprintf(err, errlen, "socket: %s", strerror(errno));
    return -1;
  }
  if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
    snprintf(err, errlen, "cannot connect to %s:%d: %s", host, t->port, strerror(errno));
    close(fd);
    return -1;
  }
  struct pollfd pf = {fd, POLLOUT, 0};
  int soerr = 0, pr;
  socklen_t el = sizeof(soerr);
  do {
    int left = (int)(deadline - now_ms());
    pr = left > 0 ? poll(&pf, 1, left) : 0;
  } while (pr < 0 && errno == EINTR);
  if (pr != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) != 0 || soerr != 0) {
    snprintf(err, errlen, "cannot connect to %s:%d: %s", host, t->port, soerr ? strerror(soerr) : "timed out");
    close(fd);
    return -1;
  }
  return fd;
}

static int send_all(int fd, const char *p, size_t n, int64_t deadline) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EINTR) return -1;
    struct pollfd pf = {fd, POLLOUT, 0};
    int left = (int)(deadline - now_ms());
    if (left <= 0) return -1;
    if (poll(&pf, 1, left) < 0 && errno != EINTR) return -1;
  }
  return 0;
}

/* One request on its own connection. */
static int call_once(const flow_rest_target_t *t, const char *method, const char *path, const void *body, size_t len,
                     const char *extra_headers, int *status, char **resp, size_t *resp_len, char *err,
                     size_t errlen) {
  int64_t deadline = now_ms() + (t->timeout_ms > 0 ? t->timeout_ms : 30000);
  int fd = dial(t, deadline, err, errlen);
  if (fd < 0) return -1;
  char head[1024];
  int hn = snprintf(head, sizeof(head),
                    "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\nContent-Type: "
                    "application/octet-stream\r\nContent-Length: %zu\r\n%s\r\n",
                    method, path, t->host ? t->host : "127.0.0.1", t->port, len, extra_headers ? extra_headers : "");
  if (hn <= 0 || (size_t)hn >= sizeof(head) || send_all(fd, head, (size_t)hn, deadline) != 0 ||
      (len > 0 && send_all(fd, body, len, deadline) != 0)) {
    snprintf(err, errlen, "cannot send the request: %s", now_ms() >= deadline ? "timed out" : strerror(errno));
    close(fd);
    return -1;
  }
  http_parser_settings st;
  http_parser_settings_init(&st);
  st.on_body = on_body;
  st.on_message_complete = on_complete;
  http_parser p;
  http_parser_init(&p, HTTP_RESPONSE);
  response_t r = {0};
  p.data = &r;
  char buf[16384];
  int rc = -1;
  for (;;) {
    struct pollfd pf = {fd, POLLIN, 0};
    int left = (int)(deadline - now_ms());
    int pr = left > 0 ? poll(&pf, 1, left) : 0;
    if (pr < 0 && errno == EINTR) continue;
    if (pr != 1) {
      snprintf(err, errlen, "timed out waiting for the response");
      break;
    }
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) {
      snprintf(err, errlen, "cannot read the response: %s", strerror(errno));
      break;
    }
    size_t used = http_parser_execute(&p, &st, buf, (size_t)n); /* n == 0: end of stream */
    if (r.complete) {
      rc = 0;
      break;
    }
    if (r.too_big || used != (size_t)n || HTTP_PARSER_ERRNO(&p) != HPE_OK) {
      snprintf(err, errlen, "malformed response: %s",
               r.too_big ? "too large" : http_errno_description(HTTP_PARSER_ERRNO(&p)));
      break;
    }
    if (n == 0) {
      snprintf(err, errlen, "the connection closed before the response ended");
      break;
    }
  }
  close(fd);
  if (rc != 0) {
    free(r.body);
    return -1;
  }
  *status = (int)p.status_code;
  if (r.body == NULL) r.body = flow_xcalloc(1, 1);
  r.body[r.len] = '\0';
  *resp = r.body;
  if (resp_len != NULL) *resp_len = r.len;
  return 0;
}

int flow_rest_call(const flow_rest_target_t *t, const char *method, const char *path, const void *body, size_t len,
                   int *status, char **resp, size_t *resp_len, char *err, size_t errlen) {
  if (t->secret == NULL || strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
    return call_once(t, method, path, body, len, NULL, status, resp, resp_len, err, errlen);
  /* signed: a fresh nonce, then HMAC(secret, nonce \n METHOD \n path \n body) */
  int st = 0;
  char *nb = NULL;
  if (call_once(t, "GET", "/auth/nonce", NULL, 0, NULL, &st, &nb, NULL, err, errlen) != 0) return -1;
  cJSON *j = cJSON_Parse(nb);
  const cJSON *nj = j ? cJSON_GetObjectItemCaseSensitive(j, "nonce") : NULL;
  if (st != 200 || !cJSON_IsString(nj) || strlen(nj->valuestring) != 64) {
    snprintf(err, errlen, "no nonce from the REST endpoint (HTTP %d): %.200s", st, nb);
    cJSON_Delete(j);
    free(nb);
    return -1;
  }
  char nonce[65];
  memcpy(nonce, nj->valuestring, 65);
  cJSON_Delete(j);
  free(nb);
  size_t ml = strlen(method), pl = strlen(path);
  size_t n = 64 + 1 + ml + 1 + pl + 1 + len;
  uint8_t *in = flow_xmalloc(n), *w = in;
  memcpy(w, nonce, 64), w += 64, *w++ = '\n';
  memcpy(w, method, ml), w += ml, *w++ = '\n';
  memcpy(w, path, pl), w += pl, *w++ = '\n';
  if (len) memcpy(w, body, len);
  uint8_t mac[32];
  flow_auth_mac(t->secret, t->secret_len, in, n, mac);
  free(in);
  char hex[65], headers[256];
  flow_auth_hex(mac, sizeof(mac), hex);
  snprintf(headers, sizeof(headers), "X-Flowlua-Nonce: %s\r\nX-Flowlua-Auth: %s\r\n", nonce, hex);
  return call_once(t, method, path, body, len, headers, status, resp, resp_len, err, errlen);
}
