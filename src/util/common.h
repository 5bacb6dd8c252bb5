/* Error codes and small helpers shared by every layer.
 * Convention (as libuv): functions return 0 or a negative FLOW_E* code. */
#ifndef FLOW_COMMON_H
#define FLOW_COMMON_H

#include <stddef.h>

/* An enum, not #defines: lua/flow/ffi.lua declares the same enum (ffi.cdef
 * reads no #define) and spec/unit/ffi_spec.lua checks that the two agree. */
enum flow_error {
  FLOW_OK = 0,
  FLOW_ENOMEM = -1,
  FLOW_EINVAL = -2,
  FLOW_ESTATE = -3,    /* illegal state transition */
  FLOW_EGRAPH = -4,    /* invalid job graph */
  FLOW_EIO = -5,
  FLOW_ECANCELED = -6,
  FLOW_ELUA = -7,      /* a Lua error; message elsewhere */
  FLOW_EFULL = -8,
  FLOW_ETIMEDOUT = -9,
  FLOW_EBLOCKED = -10, /* only blocked (aligning) input channels are left */
};

const char *flow_strerror(int code);
char *flow_strdup(const char *s); /* NULL-safe; NULL on OOM */
/* n bytes and a NUL (a secret that may hold any byte); NULL-safe; aborts on OOM. */
char *flow_xmemdup(const void *p, size_t n);
void *flow_xmalloc(size_t n);      /* aborts on OOM: for structures whose loss is unrecoverable */
void *flow_xcalloc(size_t n, size_t size);
void *flow_xrealloc(void *p, size_t n);

#endif
