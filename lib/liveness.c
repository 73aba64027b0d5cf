/* liveness: a stuck loop told from samples of its round count (see liveness.h). */
#include "liveness.h"

bool liveness_sample(struct liveness *l, uint64_t rounds, int64_t now_ms, int64_t stall_ms)
{
    if (!l->sampled || rounds != l->rounds) {
        l->sampled = true;
        l->rounds = rounds;
        l->moved_ms = now_ms;
        return true;
    }
    return now_ms - l->moved_ms <= stall_ms;
}

int64_t liveness_still_ms(const struct liveness *l, int64_t now_ms)
{
    return l->sampled ? now_ms - l->moved_ms : 0;
}
