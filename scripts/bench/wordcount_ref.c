/* The reference for benchmark P2: a hand-written single-thread C word
 * counter (mmap + open-addressing hash table) with Flink WordCount's
 * tokenizer. Prints "(word,count)" lines to OUT when given.
 *   cc -O2 -o wordcount_ref wordcount_ref.c && ./wordcount_ref INPUT [OUT] */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct { char *w; uint32_t len; uint64_t hash; long n; } slot_t;

static slot_t *slots;
static size_t cap = 1 << 16, used;

static void grow(void) {
  size_t ncap = cap * 2;
  slot_t *s = calloc(ncap, sizeof(slot_t));
  for (size_t i = 0; i < cap; i++) {
    if (!slots[i].w) continue;
    size_t j = slots[i].hash & (ncap - 1);
    while (s[j].w) j = (j + 1) & (ncap - 1);
    s[j] = slots[i];
  }
  free(slots);
  slots = s;
  cap = ncap;
}

static void count(const char *w, uint32_t len) {
  uint64_t h = 1469598103934665603ull;
  for (uint32_t i = 0; i < len; i++) h = (h ^ (unsigned char)w[i]) * 1099511628211ull;
  size_t j = h & (cap - 1);
  while (slots[j].w && !(slots[j].hash == h && slots[j].len == len && memcmp(slots[j].w, w, len) == 0))
    j = (j + 1) & (cap - 1);
  if (!slots[j].w) {
    slots[j].w = malloc(len);
    memcpy(slots[j].w, w, len);
    slots[j].len = len;
    slots[j].hash = h;
    if (++used * 10 > cap * 7) {
      slots[j].n = 1;
      grow();
      return;
    }
  }
  slots[j].n++;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return 1;
  const unsigned char *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return 1;
  slots = calloc(cap, sizeof(slot_t));
  unsigned char is_word[256], lower[256];
  for (int c = 0; c < 256; c++) {
    is_word[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    lower[c] = (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  char word[4096];
  size_t n = (size_t)st.st_size, i = 0;
  while (i < n) {
    while (i < n && !is_word[p[i]]) i++;
    uint32_t len = 0;
    while (i < n && is_word[p[i]]) {
      if (len < sizeof(word)) word[len++] = (char)lower[p[i]];
      i++;
    }
    if (len) count(word, len);
  }
  if (argc > 2) {
    FILE *f = fopen(argv[2], "w");
    for (size_t j = 0; j < cap; j++)
      if (slots[j].w) fprintf(f, "(%.*s,%ld)\n", (int)slots[j].len, slots[j].w, slots[j].n);
    fclose(f);
  }
  return 0;
}
