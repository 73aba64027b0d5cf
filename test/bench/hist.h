/* hist — a latency histogram of fixed size: log-linear buckets (exact below
 * 128 us, then 64 per power of two, so about 1.5 % error), from 0 to about
 * 38 hours. Fixed size so a child process can send it to its parent through a
 * pipe as plain bytes, and two can be merged by adding counts. */
#ifndef CHATLOAD_HIST_H
#define CHATLOAD_HIST_H

#include <stdint.h>

#define HIST_BUCKETS 2048

struct hist {
    uint64_t count;
    uint64_t sum_us;
    uint64_t max_us;
    uint64_t n[HIST_BUCKETS];
};

/* Records one value in microseconds (clamped to the top bucket). */
void hist_add(struct hist *h, uint64_t us);

/* Adds every count of from into into. */
void hist_merge(struct hist *into, const struct hist *from);

/* The value at quantile q (0 < q <= 1) in microseconds: the upper bound of
 * its bucket, never above the largest value recorded. 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);

#endif
