/* Error codes and small helpers shared by every layer.
 * Convention (as libuv): functions return 0 or a negative FLOW_E* code. */
#ifndef FLOW_COMMON_H
#define FLOW_COMMON_H

#include <stddef.h>

#define FLOW_OK 0
#define FLOW_ENOMEM (-1)
#define FLOW_EINVAL (-2)
#define FLOW_ESTATE (-3)   /* illegal state transition */
#define FLOW_EGRAPH (-4)   /* invalid job graph */
#define FLOW_EIO (-5)
#define FLOW_ECANCELED (-6)
#define FLOW_ELUA (-7)     /* a Lua error; message elsewhere */
#define FLOW_EFULL (-8)
#define FLOW_ETIMEDOUT (-9)
#define FLOW_EBLOCKED (-10) /* only blocked (aligning) input channels are left */

const char *flow_strerror(int code);
char *flow_strdup(const char *s); /* NULL-safe; NULL on OOM */
void *flow_xmalloc(size_t n);      /* aborts on OOM: for structures whose loss is unrecoverable */
void *flow_xcalloc(size_t n, size_t size);
void *flow_xrealloc(void *p, size_t n);

#endif
