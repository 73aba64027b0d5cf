/* bucket: a token bucket (see bucket.h). */
#include "bucket.h"

#define MILLI 1000u

void bucket_init(struct bucket *b, uint32_t rate, uint32_t burst, int64_t now_ms)
{
    b->rate = rate;
    b->burst = burst;
    b->milli = (uint64_t)burst * MILLI;
    b->refill_ms = now_ms;
}

/* rate tokens a second is rate milli-tokens a millisecond. */
static void refill(struct bucket *b, int64_t now_ms)
{
    if (now_ms <= b->refill_ms)
        return;
    uint64_t full = (uint64_t)b->burst * MILLI;
    uint64_t elapsed = (uint64_t)(now_ms - b->refill_ms);
    /* Past a full refill the product cannot matter (and must not overflow). */
    uint64_t gained = elapsed >= full ? full : elapsed * b->rate;
    b->milli = full - b->milli <= gained ? full : b->milli + gained;
    b->refill_ms = now_ms;
}

bool bucket_take(struct bucket *b, int64_t now_ms)
{
    refill(b, now_ms);
    if (b->milli < MILLI)
        return false;
    b->milli -= MILLI;
    return true;
}
