/* TCP addresses and listening sockets shared by the cluster's servers
 * (transport.c, http_server.c): numeric addresses only, no resolution.
 * Loop thread only. */
#ifndef FLOW_NET_TCP_ADDR_H
#define FLOW_NET_TCP_ADDR_H

#include <stddef.h>
#include <uv.h>

/* host: numeric IPv4 or IPv6, NULL or "" = 127.0.0.1. 0 or FLOW_EINVAL. */
int flow_tcp_parse_addr(const char *host, int port, struct sockaddr_storage *ss);
/* 0.0.0.0 or :: (any spelling). */
int flow_tcp_is_wildcard(const struct sockaddr_storage *ss);
/* "1.2.3.4:80", "[::1]:80" or "unknown peer". */
void flow_tcp_addr_label(const struct sockaddr_storage *ss, char *out, size_t n);
/* The label of a connected socket's peer. */
void flow_tcp_peer_label(uv_tcp_t *t, char *out, size_t n);
/* Binds tcp (initialized) to ss, listens (backlog 128) and reports the bound
 * port. 0 or a libuv error code (the caller closes tcp). */
int flow_tcp_listen(uv_tcp_t *tcp, const struct sockaddr_storage *ss, uv_connection_cb cb, int *port);

#endif
