#include "util/hash.h"

#include <stdatomic.h>
#include <string.h>

uint32_t flow_crc32(const void *data, size_t n) {
  static uint32_t table[256];
  static atomic_int ready;
  if (!atomic_load(&ready)) { /* idempotent: racing threads compute the same table */
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    atomic_store(&ready, 1);
  }
  const uint8_t *p = data;
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

/* MurmurHash3 x86_32 (public domain algorithm), seed 0. */
uint32_t flow_hash_bytes(const void *p, size_t n) {
  const uint8_t *d = p;
  uint32_t h = 0, c1 = 0xcc9e2d51u, c2 = 0x1b873593u, k;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    memcpy(&k, d + i, 4);
    k *= c1;
    k = (k << 15) | (k >> 17);
    k *= c2;
    h ^= k;
    h = (h << 13) | (h >> 19);
    h = h * 5 + 0xe6546b64u;
  }
  k = 0;
  switch (n & 3) {
  case 3: k ^= (uint32_t)d[i + 2] << 16; /* fall through */
  case 2: k ^= (uint32_t)d[i + 1] << 8;  /* fall through */
  case 1:
    k ^= d[i];
    k *= c1;
    k = (k << 15) | (k >> 17);
    k *= c2;
    h ^= k;
  }
  h ^= (uint32_t)n;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

uint32_t flow_hash_number(double d) {
  if (d == 0) d = 0; /* -0.0 and 0.0 are one key */
  return flow_hash_bytes(&d, sizeof(d));
}
