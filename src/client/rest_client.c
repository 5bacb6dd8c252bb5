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

#include "coordination/dispatcher_gateway.h"
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
    return FLOW_EIO;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    snprintf(err, errlen, "socket: %s", strerror(errno));
    return FLOW_EIO;
  }
  if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
    snprintf(err, errlen, "cannot connect to %s:%d: %s", host, t->port, strerror(errno));
    close(fd);
    return FLOW_EIO;
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
    return FLOW_EIO;
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
    if (w < 0 && errno != EAGAIN && errno != EINTR) return FLOW_EIO;
    struct pollfd pf = {fd, POLLOUT, 0};
    int left = (int)(deadline - now_ms());
    if (left <= 0) return FLOW_EIO;
    if (poll(&pf, 1, left) < 0 && errno != EINTR) return FLOW_EIO;
  }
  return 0;
}

/* One request on its own connection. */
static int call_once(const flow_rest_target_t *t, const char *method, const char *path, const void *body, size_t len,
                     const char *extra_headers, int *status, char **resp, size_t *resp_len, char *err,
                     size_t errlen) {
  int64_t deadline = now_ms() + (t->timeout_ms > 0 ? t->timeout_ms : 30000);
  int fd = dial(t, deadline, err, errlen);
  if (fd < 0) return FLOW_EIO;
  char head[1024];
  int hn = snprintf(head, sizeof(head),
                    "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\nContent-Type: "
                    "application/octet-stream\r\nContent-Length: %zu\r\n%s\r\n",
                    method, path, t->host ? t->host : "127.0.0.1", t->port, len, extra_headers ? extra_headers : "");
  if (hn <= 0 || (size_t)hn >= sizeof(head) || send_all(fd, head, (size_t)hn, deadline) != 0 ||
      (len > 0 && send_all(fd, body, len, deadline) != 0)) {
    snprintf(err, errlen, "cannot send the request: %s", now_ms() >= deadline ? "timed out" : strerror(errno));
    close(fd);
    return FLOW_EIO;
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
    return FLOW_EIO;
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
  if (call_once(t, "GET", "/auth/nonce", NULL, 0, NULL, &st, &nb, NULL, err, errlen) != 0) return FLOW_EIO;
  cJSON *j = cJSON_Parse(nb);
  const cJSON *nj = j ? cJSON_GetObjectItemCaseSensitive(j, "nonce") : NULL;
  if (st != 200 || !cJSON_IsString(nj) || strlen(nj->valuestring) != 64) {
    snprintf(err, errlen, "no nonce from the REST endpoint (HTTP %d): %.200s", st, nb);
    cJSON_Delete(j);
    free(nb);
    return FLOW_EIO;
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

/* ---- the REST JobClient ---------------------------------------------------- */

typedef struct rest_client {
  flow_job_client_t base; /* first: the client is freed through it */
  flow_rest_target_t target;
  char *host;
  char *secret;
  uv_thread_t thread;
  int stop; /* guarded by base.mu: free asks the poller to end */
} rest_client_t;

/* Follows the job by polling GET /jobs/:id until it ended or free asks. */
static void rest_main(void *arg) {
  rest_client_t *rc = arg;
  char path[48], err[512];
  snprintf(path, sizeof(path), "/jobs/%s", rc->base.job_id);
  flow_rest_target_t poll_t = rc->target;
  poll_t.timeout_ms = 2000; /* a poll is short; free() waits for at most one */
  uint64_t failing_since = 0;
  for (;;) {
    uv_mutex_lock(&rc->base.mu);
    if (!rc->stop) (void)uv_cond_timedwait(&rc->base.cond, &rc->base.mu, 200u * 1000000u);
    int stop = rc->stop;
    uv_mutex_unlock(&rc->base.mu);
    if (stop) return;
    int status = 0;
    char *body = NULL;
    cJSON *j = NULL;
    const cJSON *state = NULL;
    if (flow_rest_call(&poll_t, "GET", path, NULL, 0, &status, &body, NULL, err, sizeof(err)) == 0 &&
        status == 200) {
      j = cJSON_Parse(body);
      state = j ? cJSON_GetObjectItemCaseSensitive(j, "state") : NULL;
    }
    flow_job_status_t s = FLOW_JOB__COUNT;
    for (int k = 0; cJSON_IsString(state) && k < FLOW_JOB__COUNT; k++)
      if (strcmp(state->valuestring, flow_job_status_name((flow_job_status_t)k)) == 0) s = (flow_job_status_t)k;
    if (s == FLOW_JOB__COUNT) { /* no answer, or not one we understand */
      cJSON_Delete(j);
      if (failing_since == 0) failing_since = uv_hrtime();
      if (uv_hrtime() - failing_since < 10000ull * 1000000ull) { /* 10 s */
        free(body);
        continue;
      }
      char msg[700];
      snprintf(msg, sizeof(msg), "lost the REST endpoint (the job may still run): %s",
               status ? (body ? body : "no body") : err);
      free(body);
      flow_job_client_fail(&rc->base, msg);
      return;
    }
    failing_since = 0;
    free(body);
    flow_job_client_set_status(&rc->base, s);
    if (s == FLOW_JOB_FINISHED || s == FLOW_JOB_FAILED || s == FLOW_JOB_CANCELED) {
      const cJSON *fc = cJSON_GetObjectItemCaseSensitive(j, "failure-cause");
      const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "restarts");
      const cJSON *du = cJSON_GetObjectItemCaseSensitive(j, "duration");
      flow_job_result_t r;
      memset(&r, 0, sizeof(r));
      r.status = s;
      r.failure = cJSON_IsString(fc) ? flow_strdup(fc->valuestring) : NULL;
      r.restarts = cJSON_IsNumber(rs) ? rs->valueint : 0;
      r.net_runtime_ms = cJSON_IsNumber(du) ? (int64_t)du->valuedouble : 0;
      flow_job_client_complete(&rc->base, &r);
      cJSON_Delete(j);
      return;
    }
    cJSON_Delete(j);
  }
}

static void rest_cancel(flow_job_client_t *c) {
  rest_client_t *rc = (rest_client_t *)c;
  char path[64], err[256], *body = NULL;
  int status = 0;
  snprintf(path, sizeof(path), "/jobs/%s?mode=cancel", rc->base.job_id);
  if (flow_rest_call(&rc->target, "PATCH", path, NULL, 0, &status, &body, NULL, err, sizeof(err)) != 0)
    fprintf(stderr, "flowlua: cancel: %s\n", err);
  else if (status != 202)
    fprintf(stderr, "flowlua: cancel: HTTP %d: %s\n", status, body);
  free(body);
}

static int rest_savepoint(flow_job_client_t *c, const char *dir, int stop, int64_t timeout_ms, char *out,
                          size_t cap) {
  (void)c, (void)dir, (void)stop, (void)timeout_ms;
  snprintf(out, cap, "error: savepoints need the RPC client (run --jobmanager, or flowlua savepoint)");
  return FLOW_EINVAL;
}

static void rest_destroy(rest_client_t *rc) {
  flow_job_client_destroy(&rc->base);
  free(rc->host);
  free(rc->secret);
  free(rc);
}

static void rest_free(flow_job_client_t *c) {
  rest_client_t *rc = (rest_client_t *)c;
  uv_mutex_lock(&rc->base.mu);
  rc->stop = 1;
  uv_cond_broadcast(&rc->base.cond);
  uv_mutex_unlock(&rc->base.mu);
  uv_thread_join(&rc->thread);
  rest_destroy(rc);
}

static const flow_job_client_ops_t rest_ops = {
    .cancel = rest_cancel,
    .savepoint = rest_savepoint,
    .free = rest_free,
};

flow_job_client_t *flow_rest_client_submit(const flow_rest_target_t *t, const uint8_t *payload, size_t len,
                                           char *err, size_t errlen) {
  int status = 0;
  char *body = NULL;
  if (flow_rest_call(t, "POST", "/jobs", payload, len, &status, &body, NULL, err, errlen) != 0) return NULL;
  cJSON *j = cJSON_Parse(body);
  const cJSON *id = j ? cJSON_GetObjectItemCaseSensitive(j, "jobid") : NULL;
  if (status != 202 || !cJSON_IsString(id) || !flow_gateway_is_job_id(id->valuestring)) {
    const cJSON *errs = j ? cJSON_GetObjectItemCaseSensitive(j, "errors") : NULL;
    const cJSON *e0 = cJSON_IsArray(errs) ? cJSON_GetArrayItem(errs, 0) : NULL;
    snprintf(err, errlen, "the jobmanager refused the job (HTTP %d): %s", status,
             cJSON_IsString(e0) ? e0->valuestring : body);
    cJSON_Delete(j);
    free(body);
    return NULL;
  }
  rest_client_t *rc = flow_xcalloc(1, sizeof(*rc));
  flow_job_client_init(&rc->base, &rest_ops);
  rc->host = flow_strdup(t->host);
  rc->secret = flow_xmemdup(t->secret, t->secret_len);
  rc->target = *t;
  rc->target.host = rc->host;
  rc->target.secret = rc->secret;
  memcpy(rc->base.job_id, id->valuestring, 33);
  cJSON_Delete(j);
  free(body);
  if (uv_thread_create(&rc->thread, rest_main, rc) != 0) {
    snprintf(err, errlen, "cannot start the client thread");
    rest_destroy(rc);
    return NULL;
  }
  return &rc->base;
}
