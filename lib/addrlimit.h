/* addrlimit: how often each client address did something in the current
 * window (a fixed window per address), in a table of bounded size.  When
 * the table is full, expired addresses are dropped first, then the one
 * whose window is oldest: memory stays bounded whatever the number of
 * addresses, and a flood of fresh addresses can only make the count of the
 * quietest address restart early.  Not thread-safe: its owner locks. */
#ifndef CHATD_ADDRLIMIT_H
#define CHATD_ADDRLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest address kept (an IPv6 text address and its NUL fit). */
#define ADDRLIMIT_ADDR_MAX 64

struct addrlimit;

/* A table of at most max_addrs addresses, each allowed limit hits per
 * window_ms.  NULL on OOM or a zero argument. */
struct addrlimit *addrlimit_new(size_t max_addrs, unsigned limit, int64_t window_ms);
/* NULL-safe. */
void addrlimit_free(struct addrlimit *l);

/* Counts a hit of addr at now_ms: true when within the limit, false when
 * over it (not counted).  An address longer than ADDRLIMIT_ADDR_MAX - 1 is
 * cut to that length. */
bool addrlimit_take(struct addrlimit *l, const char *addr, int64_t now_ms);

/* Addresses in the table. */
size_t addrlimit_count(const struct addrlimit *l);

#endif
