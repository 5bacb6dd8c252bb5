/* Files: atomic writes and directory creation. Any thread. */
#ifndef FLOW_UTIL_FS_H
#define FLOW_UTIL_FS_H

#include <stddef.h>
#include <stdint.h>

/* Writes len bytes to path atomically: temporary file, fsync, rename, fsync
 * of the directory. 0, or FLOW_EIO / FLOW_ENOMEM with a message in err. */
int flow_file_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);
/* The names in directory path (without "." and ".."), each followed by a
 * NUL byte, written into buf: the bytes they need (more than cap: call
 * again with a larger buffer), or FLOW_EIO (errno says why). */
int64_t flow_dir_names(const char *path, char *buf, size_t cap);
/* mkdir -p: 0 (also when it exists), or FLOW_EIO (errno says why) / FLOW_ENOMEM. */
int flow_mkdir_p(const char *path);

#endif
