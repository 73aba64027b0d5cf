/* hist: see hist.h. */
#include "hist.h"

#define HIST_EXACT 128  /* values below this have a bucket each */
#define HIST_SUB_BITS 6 /* 64 buckets per power of two above it */
#define HIST_EXACT_BITS 7

static unsigned bucket_of(uint64_t v)
{
    if (v < HIST_EXACT)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= HIST_EXACT_BITS */
    unsigned idx = HIST_EXACT + (e - HIST_EXACT_BITS) * (1u << HIST_SUB_BITS) +
                   (unsigned)((v >> (e - HIST_SUB_BITS)) & ((1u << HIST_SUB_BITS) - 1));
    return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

static uint64_t bucket_upper(unsigned idx)
{
    if (idx < HIST_EXACT)
        return idx;
    unsigned k = idx - HIST_EXACT;
    unsigned e = k / (1u << HIST_SUB_BITS) + HIST_EXACT_BITS;
    uint64_t m = k % (1u << HIST_SUB_BITS);
    uint64_t width = 1ULL << (e - HIST_SUB_BITS);
    return ((1ULL << HIST_SUB_BITS) + m) * width + width - 1;
}

void hist_add(struct hist *h, uint64_t us)
{
    h->n[bucket_of(us)]++;
    h->count++;
    h->sum_us += us;
    if (us > h->max_us)
        h->max_us = us;
}

void hist_merge(struct hist *into, const struct hist *from)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->n[i] += from->n[i];
    into->count += from->count;
    into->sum_us += from->sum_us;
    if (from->max_us > into->max_us)
        into->max_us = from->max_us;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    if (h->count == 0)
        return 0;
    /* The rank of the q-th value, 1-based, rounded up: q = 0.5 of 3 is the 2nd. */
    uint64_t rank = (uint64_t)((double)h->count * q);
    if ((double)rank < (double)h->count * q)
        rank++;
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->n[i];
        if (seen >= rank) {
            uint64_t up = bucket_upper(i);
            return up < h->max_us ? up : h->max_us;
        }
    }
    return h->max_us;
}
