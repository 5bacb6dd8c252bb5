/* Files: atomic writes and directory creation. Any thread. */
#ifndef FLOW_UTIL_FS_H
#define FLOW_UTIL_FS_H

#include <stddef.h>

/* Writes len bytes to path atomically: temporary file, fsync, rename, fsync
 * of the directory. 0, or FLOW_EIO / FLOW_ENOMEM with a message in err. */
int flow_file_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);
/* mkdir -p: 0 (also when it exists), or FLOW_EIO (errno says why) / FLOW_ENOMEM. */
int flow_mkdir_p(const char *path);

#endif
