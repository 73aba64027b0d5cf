/* bucket — a token bucket: `rate` tokens a second, at most `burst` saved.
 *
 * Plain data, no locks and no clock of its own: the caller passes the
 * time (milliseconds of a monotonic clock) and guards the bucket.  chatd
 * budgets each socket's events with one, and counts a flooding socket's
 * refusals with another.
 */
#ifndef CHAT_BUCKET_H
#define CHAT_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct bucket {
    uint32_t rate;      /* tokens per second */
    uint32_t burst;     /* most tokens saved */
    uint64_t milli;     /* tokens × 1000, so refills are exact to the millisecond */
    int64_t refill_ms;  /* when milli was last brought up to date */
};

/* A full bucket at now_ms.  rate and burst must be at least 1. */
void bucket_init(struct bucket *b, uint32_t rate, uint32_t burst, int64_t now_ms);

/* Takes one token if there is one at now_ms: true, else false (nothing
 * taken).  A clock that went back refills nothing. */
bool bucket_take(struct bucket *b, int64_t now_ms);

#endif
