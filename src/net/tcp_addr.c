#include "net/tcp_addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "util/common.h"

int flow_tcp_parse_addr(const char *host, int port, struct sockaddr_storage *ss) {
  if (host == NULL || *host == '\0') host = "127.0.0.1";
  if (port < 0 || port > 65535) return FLOW_EINVAL;
  memset(ss, 0, sizeof *ss);
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0) return 0;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0) return 0;
  return FLOW_EINVAL;
}

void flow_tcp_addr_label(const struct sockaddr_storage *ss, char *out, size_t n) {
  char ip[INET6_ADDRSTRLEN + 1] = "?";
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    uv_ip6_name(a, ip, sizeof ip);
    snprintf(out, n, "[%s]:%d", ip, ntohs(a->sin6_port));
  } else if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    uv_ip4_name(a, ip, sizeof ip);
    snprintf(out, n, "%s:%d", ip, ntohs(a->sin_port));
  } else {
    snprintf(out, n, "unknown peer");
  }
}

void flow_tcp_peer_label(uv_tcp_t *t, char *out, size_t n) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len) == 0) flow_tcp_addr_label(&ss, out, n);
  else snprintf(out, n, "unknown peer");
}

int flow_tcp_listen(uv_tcp_t *tcp, const struct sockaddr_storage *ss, uv_connection_cb cb, int *port) {
  int rc = uv_tcp_bind(tcp, (const struct sockaddr *)ss, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)tcp, 128, cb);
  if (rc == 0) {
    struct sockaddr_storage bound;
    int len = sizeof bound;
    rc = uv_tcp_getsockname(tcp, (struct sockaddr *)&bound, &len);
    if (rc == 0)
      *port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
  }
  return rc;
}

int flow_tcp_is_wildcard(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET) return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
  if (ss->ss_family == AF_INET6)
    return memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0;
  return 0;
}
