#include "runtime/fd_source.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/common.h"

int flow_socket_connect(const char *host, int port, char *err, size_t errlen) {
  char service[16];
  snprintf(service, sizeof(service), "%d", port);
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host, service, &hints, &res);
  if (rc != 0) {
    snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
    return FLOW_EIO;
  }
  int fd = -1, last = 0;
  for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = errno;
      continue;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    last = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    snprintf(err, errlen, "cannot connect to %s:%d: %s", host, port, strerror(last));
    return FLOW_EIO;
  }
  return fd;
}

int64_t flow_fd_read(int fd, uint8_t *buf, size_t cap, int timeout_ms, char *err, size_t errlen) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int rc = poll(&p, 1, timeout_ms);
  if (rc == 0 || (rc < 0 && errno == EINTR)) return FLOW_ETIMEDOUT;
  if (rc < 0) {
    snprintf(err, errlen, "%s", strerror(errno));
    return FLOW_EIO;
  }
  ssize_t n = read(fd, buf, cap);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return FLOW_ETIMEDOUT;
    snprintf(err, errlen, "%s", strerror(errno));
    return FLOW_EIO;
  }
  return (int64_t)n;
}

void flow_fd_close(int fd) {
  if (fd > 2) close(fd);
}
