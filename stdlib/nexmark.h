/* The Nexmark event generator (flow.nexmark's built-in source): events as
 * Nexmark's generator lays them out, each drawn from its own random stream
 * seeded by (seed, event number), so any subtask can generate any event:
 * deterministic for a seed, splittable by parallelism, restartable at any
 * event number.
 *
 * Event number n (0-based, global): epoch n / 50, offset n % 50: offset 0
 * is a Person, 1-3 Auctions, 4-49 Bids. Person and auction ids start at
 * 1000. dateTime = base + n * 1000 / rate ms (Nexmark's suite: 10 M events/s
 * of event time), one event in ten delayed by 1..3000 ms. Lua builds the records (tables with
 * Nexmark's field names) from the structs, reading strings from the
 * generator's arena (per batch) and its padding pool (per generator). */
#ifndef FLOW_NEXMARK_H
#define FLOW_NEXMARK_H

#include <stdint.h>

enum flow_nexmark_type { FLOW_NEXMARK_PERSON = 0, FLOW_NEXMARK_AUCTION = 1, FLOW_NEXMARK_BID = 2 };

/* Strings (offset, length) into flow_nexmark_arena(): person name,
 * emailAddress, creditCard, city, state; auction itemName, description; bid
 * channel, url. Numbers are doubles (exact: all below 2^53). */
typedef struct flow_nexmark_event {
  double id;        /* person id, auction id; bid: auction */
  double ref;       /* auction: seller; bid: bidder */
  double price;     /* auction: initialBid; bid: price */
  double reserve;   /* auction */
  double date_time; /* epoch ms */
  double expires;   /* auction: epoch ms */
  int32_t type;     /* enum flow_nexmark_type */
  int32_t category; /* auction: 10..14; bid: its channel, 0..3 hot, 4 + k channel-k (same strings);
                     * a bid carries its channel and url strings only the first time its channel
                     * comes from this generator (str_len 0 after: the reader keeps them) */
  int32_t str_off[5];
  int32_t str_len[5];
  int32_t extra_off; /* into flow_nexmark_pool(): one of few offsets, so (off, len) may key a cache */
  int32_t extra_len;
} flow_nexmark_event_t;

typedef struct flow_nexmark flow_nexmark_t;

/* NULL when out of memory or rate is not in [1, 1e12]. base_ms: the
 * dateTime of event 0; rate: events per second of event time. */
flow_nexmark_t *flow_nexmark_new(double seed, double base_ms, double rate);
void flow_nexmark_free(flow_nexmark_t *g);

/* Events first, first + stride, ... (count of them, count <= 1024) into
 * out; their strings replace the previous batch's in the arena. Returns
 * count, or FLOW_EINVAL-like -2 for a bad count or stride. */
int flow_nexmark_generate(flow_nexmark_t *g, double first, double stride, int count, flow_nexmark_event_t *out);

const char *flow_nexmark_arena(const flow_nexmark_t *g);
const char *flow_nexmark_pool(const flow_nexmark_t *g);

#endif
