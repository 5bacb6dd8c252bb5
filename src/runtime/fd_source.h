/* Blocking line sources for task threads (socket_text_stream, stdin):
 * reads that wait at most timeout_ms, so the task loop can check for
 * cancellation and flush on the buffer timeout between reads. Called from
 * Lua through the FFI. */
#ifndef FLOW_RUNTIME_FD_SOURCE_H
#define FLOW_RUNTIME_FD_SOURCE_H

#include <stddef.h>
#include <stdint.h>

/* Connects a TCP socket; returns the fd, or FLOW_EIO with a message in err. */
int flow_socket_connect(const char *host, int port, char *err, size_t errlen);
/* Reads up to cap bytes: > 0 bytes read, 0 end of stream, FLOW_ETIMEDOUT
 * nothing within timeout_ms, FLOW_EIO an error (message in err). */
int64_t flow_fd_read(int fd, uint8_t *buf, size_t cap, int timeout_ms, char *err, size_t errlen);
void flow_fd_close(int fd);

#endif
