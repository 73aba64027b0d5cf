/* liveness: is a loop that counts its rounds still turning?  A loop that
 * turns at least every so often, busy or idle, is stuck once its count has
 * stood still for longer than that; this tells it from samples of the
 * count taken at any pace (the watchdog's, runtime.c).  No threads, no
 * clock of its own: the caller passes the count and the time. */
#ifndef CHAT_LIVENESS_H
#define CHAT_LIVENESS_H

#include <stdbool.h>
#include <stdint.h>

struct liveness {
    uint64_t rounds;  /* the count at the last sample */
    int64_t moved_ms; /* when it was last seen to move */
    bool sampled;
};

#define LIVENESS_INIT {0, 0, false}

/* Takes a sample: the loop's round count at now_ms.  True while the loop
 * turns: its first sample, a count that moved since the last sample, or one
 * that has stood still for at most stall_ms. */
bool liveness_sample(struct liveness *l, uint64_t rounds, int64_t now_ms, int64_t stall_ms);

/* How long the count has stood still, as of now_ms. */
int64_t liveness_still_ms(const struct liveness *l, int64_t now_ms);

#endif
