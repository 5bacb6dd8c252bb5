/* The Nexmark event generator (see nexmark.h). Follows Nexmark's generator
 * (Apache Beam's, as Flink's nexmark repository uses it) for the event
 * layout, ids, hot keys, field contents and sizes; differs where Flink's is
 * not deterministic: every event draws from its own splitmix64 stream
 * seeded by (seed, event number), channel URLs are derived from (seed,
 * channel), and the padding pool from the seed, so a seed gives the same
 * events at any parallelism. Bidder ids start at 1000 like every person id
 * (Flink's generator adds the offset twice). */
#include "nexmark.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EPOCH 50          /* events per epoch: 1 person, 3 auctions, 46 bids */
#define AUCTIONS 3        /* auctions per epoch */
#define FIRST_ID 1000     /* first person and auction id */
#define ACTIVE_PEOPLE 1000
#define IN_FLIGHT_AUCTIONS 100
#define ID_LEAD 10        /* ids drawn up to this far ahead of the last one */
#define HOT_RATIO 100     /* hot ids are multiples of this */
#define POOL_SIZE (1 << 20)
#define MAX_BATCH 1024
#define CHANNELS 10000 /* non-hot channels */
#define ARENA_PER_EVENT 192 /* > the longest strings of one event (auction: 19 + 99) */
#define EXTRA_SLOTS 32      /* padding starts at one of these pool offsets: a reader may cache the strings */

struct flow_nexmark {
  uint64_t seed;
  double base;
  int64_t rate; /* events per second of event time */
  char *arena; /* this batch's strings */
  size_t used;
  char pool[POOL_SIZE]; /* 'a'..'z' padding, substrings are the `extra` fields */
  uint32_t url_off[CHANNELS]; /* channel URLs, made on first use */
  uint16_t url_len[CHANNELS];
  uint8_t delivered[4 + CHANNELS]; /* a bid's channel strings went out once (see nexmark.h) */
  size_t url_used;
  char url_text[CHANNELS * 96];
};

/* ---- random numbers: splitmix64 ---------------------------------------- */

typedef struct rng {
  uint64_t s;
} rng_t;

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

static uint64_t next64(rng_t *r) {
  r->s += 0x9E3779B97F4A7C15ULL;
  return mix64(r->s);
}

static rng_t stream(uint64_t seed, uint64_t salt, uint64_t n) {
  rng_t r = {mix64(seed ^ mix64(salt * 0x9E3779B97F4A7C15ULL + n))};
  return r;
}

/* uniform in [0, k), k < 2^32 */
static uint32_t rnd_int(rng_t *r, uint32_t k) { return (uint32_t)(((next64(r) >> 32) * (uint64_t)k) >> 32); }

static double rnd_dbl(rng_t *r) { return (double)(next64(r) >> 11) * (1.0 / 9007199254740992.0); }

/* ---- strings --------------------------------------------------------------- */

static const char *const FIRST_NAMES[] = {"Peter", "Paul",  "Luke",  "John",   "Saul",  "Vicky",
                                          "Kate",  "Julie", "Sarah", "Deiter", "Walter"};
static const char *const LAST_NAMES[] = {"Shultz", "Abrams", "Spencer", "White", "Bartels",
                                         "Walton", "Smith",  "Jones",   "Noris"};
static const char *const CITIES[] = {"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
                                     "Bend",    "Redmond",     "Seattle",       "Kent",  "Cheyenne"};
static const char *const STATES[] = {"AZ", "CA", "ID", "OR", "WA", "WY"};
static const char *const HOT_CHANNELS[] = {"Google", "Facebook", "Baidu", "Apple"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* An event's strings are appended to the arena; `at` records where. */
typedef struct str_out {
  flow_nexmark_t *g;
  flow_nexmark_event_t *ev;
  int field;
  size_t start;
} str_out_t;

static void begin(str_out_t *o, flow_nexmark_event_t *ev, int field) {
  o->ev = ev;
  o->field = field;
  o->start = o->g->used;
}

static void put(str_out_t *o, const char *s, size_t n) {
  memcpy(o->g->arena + o->g->used, s, n);
  o->g->used += n;
}

static void puts_(str_out_t *o, const char *s) { put(o, s, strlen(s)); }

static void put_uint(str_out_t *o, uint64_t x, int width) {
  char b[24];
  int i = 24;
  do {
    b[--i] = (char)('0' + x % 10);
    x /= 10;
    width--;
  } while (x > 0 || width > 0);
  put(o, b + i, (size_t)(24 - i));
}

static int end(str_out_t *o) {
  int len = (int)(o->g->used - o->start);
  o->ev->str_off[o->field] = (int32_t)o->start;
  o->ev->str_len[o->field] = len;
  return len;
}

/* Nexmark's nextString: 3..max-1 characters, a-z or (1 in 13) `special`,
 * with leading and trailing spaces trimmed. */
static void random_string(str_out_t *o, rng_t *r, uint32_t max, char special) {
  uint32_t len = 3 + rnd_int(r, max - 3);
  char b[128];
  for (uint32_t i = 0; i < len; i++) b[i] = rnd_int(r, 13) == 0 ? special : (char)('a' + rnd_int(r, 26));
  uint32_t lo = 0, hi = len;
  while (lo < hi && b[lo] == ' ') lo++;
  while (hi > lo && b[hi - 1] == ' ') hi--;
  put(o, b + lo, hi - lo);
}

/* Nexmark's nextExtra: padding that brings the record's size to `avg` on
 * average (a substring of the pool). */
static void extra(rng_t *r, flow_nexmark_event_t *ev, int cur, int avg) {
  ev->extra_off = 0;
  ev->extra_len = 0;
  if (cur > avg) return;
  int d = avg - cur;
  int delta = (int)(d * 0.2 + 0.5);
  int size = d - delta + (delta == 0 ? 0 : (int)rnd_int(r, (uint32_t)(2 * delta)));
  ev->extra_off = (int32_t)(rnd_int(r, EXTRA_SLOTS) * (POOL_SIZE / 2 / EXTRA_SLOTS)); /* size < POOL_SIZE / 2 */
  ev->extra_len = size;
}

/* Nexmark's nextPrice: log-uniform in [100, 10^8) cents, rounded */
static double price(rng_t *r) { return floor(exp(rnd_dbl(r) * (6.0 * 2.302585092994045684)) * 100.0 + 0.5); }

/* ---- ids ----------------------------------------------------------------- */

static int64_t last_base0_person(int64_t n) { return n / EPOCH; }

static int64_t last_base0_auction(int64_t n) {
  int64_t e = n / EPOCH, r = n % EPOCH;
  if (r == 0) return e * AUCTIONS - 1; /* the previous epoch's last */
  if (r <= AUCTIONS) return e * AUCTIONS + r - 1;
  return e * AUCTIONS + AUCTIONS - 1;
}

/* an active person, possibly one of the next ID_LEAD to come */
static int64_t next_base0_person(rng_t *r, int64_t n) {
  int64_t people = last_base0_person(n) + 1;
  int64_t active = people < ACTIVE_PEOPLE ? people : ACTIVE_PEOPLE;
  return people - active + rnd_int(r, (uint32_t)(active + ID_LEAD));
}

/* an auction in flight, possibly one of the next ID_LEAD to come */
static int64_t next_base0_auction(rng_t *r, int64_t n) {
  int64_t last = last_base0_auction(n);
  int64_t min = last - IN_FLIGHT_AUCTIONS > 0 ? last - IN_FLIGHT_AUCTIONS : 0;
  return min + rnd_int(r, (uint32_t)(last - min + 1 + ID_LEAD));
}

static int64_t nominal_time(const flow_nexmark_t *g, int64_t n) { return n * 1000 / g->rate; }

/* ---- events -------------------------------------------------------------- */

static void person(str_out_t *o, rng_t *r, int64_t n, flow_nexmark_event_t *ev) {
  ev->type = FLOW_NEXMARK_PERSON;
  ev->id = (double)(last_base0_person(n) + FIRST_ID);
  int size = 8;
  begin(o, ev, 0);
  puts_(o, FIRST_NAMES[rnd_int(r, COUNT(FIRST_NAMES))]);
  put(o, " ", 1);
  puts_(o, LAST_NAMES[rnd_int(r, COUNT(LAST_NAMES))]);
  size += end(o);
  begin(o, ev, 1);
  random_string(o, r, 7, ' ');
  put(o, "@", 1);
  random_string(o, r, 5, ' ');
  puts_(o, ".com");
  size += end(o);
  begin(o, ev, 2);
  for (int i = 0; i < 4; i++) {
    if (i > 0) put(o, " ", 1);
    put_uint(o, rnd_int(r, 10000), 4);
  }
  size += end(o);
  begin(o, ev, 3);
  puts_(o, CITIES[rnd_int(r, COUNT(CITIES))]);
  size += end(o);
  begin(o, ev, 4);
  puts_(o, STATES[rnd_int(r, COUNT(STATES))]);
  size += end(o);
  extra(r, ev, size, 200);
}

static void auction(str_out_t *o, rng_t *r, int64_t n, flow_nexmark_event_t *ev) {
  ev->type = FLOW_NEXMARK_AUCTION;
  ev->id = (double)(last_base0_auction(n) + FIRST_ID);
  int64_t seller = rnd_int(r, 4) > 0 ? last_base0_person(n) / HOT_RATIO * HOT_RATIO : next_base0_person(r, n);
  ev->ref = (double)(seller + FIRST_ID);
  ev->category = 10 + (int32_t)rnd_int(r, 5);
  ev->price = price(r);
  /* Nexmark's auction length: up to twice the event time that the next
   * IN_FLIGHT_AUCTIONS auctions take to come */
  int64_t horizon = nominal_time(o->g, n + IN_FLIGHT_AUCTIONS * EPOCH / AUCTIONS) - nominal_time(o->g, n);
  ev->expires = ev->date_time + 1 + rnd_int(r, (uint32_t)(2 * horizon > 1 ? 2 * horizon : 1));
  begin(o, ev, 0);
  random_string(o, r, 20, ' ');
  int size = 48 + end(o);
  begin(o, ev, 1);
  random_string(o, r, 100, ' ');
  size += end(o);
  ev->reserve = ev->price + price(r);
  extra(r, ev, size, 500);
}

/* the URL of a (non-hot) channel, derived from (seed, channel) */
static void channel_url(str_out_t *o, uint64_t seed, uint32_t k) {
  rng_t r = stream(seed, 2, k);
  puts_(o, "https://www.nexmark.com/");
  for (int i = 0; i < 3; i++) {
    random_string(o, &r, 5, '_');
    put(o, "/", 1);
  }
  puts_(o, "item.htm?query=1");
  if (rnd_int(&r, 10) > 0) { /* 9 in 10: a channel id, bit-reversed as Nexmark's */
    uint32_t x = k, rev = 0;
    for (int i = 0; i < 32; i++, x >>= 1) rev = (rev << 1) | (x & 1);
    int32_t v = (int32_t)rev;
    puts_(o, "&channel_id=");
    if (v < 0) {
      if (v == INT32_MIN) { /* Java's Math.abs(Integer.MIN_VALUE) */
        puts_(o, "-2147483648");
        return;
      }
      v = -v;
    }
    put_uint(o, (uint64_t)v, 1);
  }
}

/* channel_url, made once per channel: urls[k] in url_text */
static void cached_url(str_out_t *o, uint32_t k) {
  flow_nexmark_t *g = o->g;
  if (g->url_len[k] == 0) {
    size_t at = g->used;
    channel_url(o, g->seed, k);
    size_t n = g->used - at;
    g->used = at;
    if (g->url_used + n <= sizeof(g->url_text)) {
      memcpy(g->url_text + g->url_used, g->arena + at, n);
      g->url_off[k] = (uint32_t)g->url_used;
      g->url_len[k] = (uint16_t)n;
      g->url_used += n;
    } else {
      channel_url(o, g->seed, k); /* (cannot happen: url_text holds every URL) */
      return;
    }
  }
  put(o, g->url_text + g->url_off[k], g->url_len[k]);
}

static void bid(str_out_t *o, rng_t *r, int64_t n, flow_nexmark_event_t *ev) {
  ev->type = FLOW_NEXMARK_BID;
  int64_t a = rnd_int(r, 2) > 0 ? last_base0_auction(n) / HOT_RATIO * HOT_RATIO : next_base0_auction(r, n);
  ev->id = (double)(a + FIRST_ID);
  int64_t b = rnd_int(r, 4) > 0 ? last_base0_person(n) / HOT_RATIO * HOT_RATIO + 1 : next_base0_person(r, n);
  ev->ref = (double)(b + FIRST_ID);
  ev->price = price(r);
  if (rnd_int(r, 2) > 0) {
    uint32_t j = rnd_int(r, COUNT(HOT_CHANNELS));
    ev->category = (int32_t)j;
    if (o->g->delivered[j]) goto done;
    o->g->delivered[j] = 1;
    begin(o, ev, 0);
    puts_(o, HOT_CHANNELS[j]);
    end(o);
    begin(o, ev, 1);
    puts_(o, "https://www.nexmark.com/hot/");
    puts_(o, HOT_CHANNELS[j]);
    puts_(o, "/item.htm?query=1");
    end(o);
  } else {
    uint32_t k = rnd_int(r, CHANNELS);
    ev->category = (int32_t)(COUNT(HOT_CHANNELS) + k);
    if (o->g->delivered[ev->category]) goto done;
    o->g->delivered[ev->category] = 1;
    begin(o, ev, 0);
    puts_(o, "channel-");
    put_uint(o, k, 1);
    end(o);
    begin(o, ev, 1);
    cached_url(o, k);
    end(o);
  }
done:
  extra(r, ev, 32, 100);
}

/* ---- the generator ------------------------------------------------------- */

flow_nexmark_t *flow_nexmark_new(double seed, double base_ms, double rate) {
  if (!(rate >= 1 && rate <= 1e12)) return NULL;
  flow_nexmark_t *g = malloc(sizeof(*g));
  if (g == NULL) return NULL;
  g->arena = malloc((size_t)MAX_BATCH * ARENA_PER_EVENT);
  if (g->arena == NULL) {
    free(g);
    return NULL;
  }
  g->seed = (uint64_t)(int64_t)seed;
  g->base = base_ms;
  g->rate = (int64_t)rate;
  g->used = 0;
  g->url_used = 0;
  memset(g->url_len, 0, sizeof(g->url_len));
  memset(g->delivered, 0, sizeof(g->delivered));
  rng_t r = stream(g->seed, 1, 0);
  for (size_t i = 0; i < POOL_SIZE; i++) g->pool[i] = (char)('a' + rnd_int(&r, 26));
  return g;
}

void flow_nexmark_free(flow_nexmark_t *g) {
  if (g == NULL) return;
  free(g->arena);
  free(g);
}

int flow_nexmark_generate(flow_nexmark_t *g, double first, double stride, int count, flow_nexmark_event_t *out) {
  if (count < 0 || count > MAX_BATCH || stride < 1 || first < 0) return -2;
  g->used = 0;
  str_out_t o = {g, NULL, 0, 0};
  int64_t n = (int64_t)first, step = (int64_t)stride;
  for (int i = 0; i < count; i++, n += step) {
    flow_nexmark_event_t *ev = &out[i];
    memset(ev, 0, sizeof(*ev));
    rng_t r = stream(g->seed, 0, (uint64_t)n);
    int64_t t = nominal_time(g, n);
    if (rnd_int(&r, 10) == 0) t -= 1 + rnd_int(&r, 3000); /* a delayed event, at most 3 s late */
    ev->date_time = g->base + (double)t;
    int64_t off = n % EPOCH;
    if (off == 0) person(&o, &r, n, ev);
    else if (off <= AUCTIONS) auction(&o, &r, n, ev);
    else bid(&o, &r, n, ev);
  }
  return count;
}

const char *flow_nexmark_arena(const flow_nexmark_t *g) { return g->arena; }

const char *flow_nexmark_pool(const flow_nexmark_t *g) { return g->pool; }
