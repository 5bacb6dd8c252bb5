/* Checksums and hashes. Pure functions, any thread. */
#ifndef FLOW_UTIL_HASH_H
#define FLOW_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32 (IEEE 802.3, as zlib's crc32). */
uint32_t flow_crc32(const void *p, size_t n);
/* MurmurHash3 x86_32, seed 0: the hash of a key's bytes (key groups). */
uint32_t flow_hash_bytes(const void *p, size_t n);
/* The hash of a number key: its double's bytes, -0.0 as 0.0. */
uint32_t flow_hash_number(double d);

#endif
