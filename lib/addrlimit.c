/* addrlimit: per-address counters in a bounded table (see addrlimit.h).
 *
 * The entries live in one array, the used ones packed at its front, and a
 * strmap finds an address's entry: dropping one moves the last into its
 * place, so both stay O(1). */
#include "addrlimit.h"

#include <stdio.h>
#include <stdlib.h>

#include "strmap.h"

struct entry {
    char addr[ADDRLIMIT_ADDR_MAX];
    int64_t start_ms; /* the address's window began then */
    unsigned count;
};

struct addrlimit {
    struct strmap *index; /* addr -> its entry */
    struct entry *entries;
    size_t n, max;
    unsigned limit;
    int64_t window_ms;
};

struct addrlimit *addrlimit_new(size_t max_addrs, unsigned limit, int64_t window_ms)
{
    if (!max_addrs || !limit || window_ms <= 0)
        return NULL;
    struct addrlimit *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->index = strmap_new();
    l->entries = calloc(max_addrs, sizeof *l->entries);
    if (!l->index || !l->entries) {
        addrlimit_free(l);
        return NULL;
    }
    l->max = max_addrs;
    l->limit = limit;
    l->window_ms = window_ms;
    return l;
}

void addrlimit_free(struct addrlimit *l)
{
    if (!l)
        return;
    strmap_free(l->index);
    free(l->entries);
    free(l);
}

size_t addrlimit_count(const struct addrlimit *l)
{
    return l->n;
}

static bool expired(const struct addrlimit *l, const struct entry *e, int64_t now_ms)
{
    return now_ms - e->start_ms >= l->window_ms;
}

/* Drops entry i: the last entry takes its place. */
static void drop(struct addrlimit *l, size_t i)
{
    strmap_remove(l->index, l->entries[i].addr);
    if (i != --l->n) {
        l->entries[i] = l->entries[l->n];
        strmap_put(l->index, l->entries[i].addr, &l->entries[i]); /* replaces: cannot fail */
    }
}

/* Makes room in a full table: every expired entry goes, or else the one
 * whose window is oldest. */
static void make_room(struct addrlimit *l, int64_t now_ms)
{
    /* Downwards: what drop moves into i was checked already. */
    for (size_t i = l->n; i-- > 0;)
        if (expired(l, &l->entries[i], now_ms))
            drop(l, i);
    if (l->n < l->max)
        return;
    size_t oldest = 0;
    for (size_t i = 1; i < l->n; i++)
        if (l->entries[i].start_ms < l->entries[oldest].start_ms)
            oldest = i;
    drop(l, oldest);
}

static struct entry *entry_new(struct addrlimit *l, const char *key, int64_t now_ms)
{
    if (l->n == l->max)
        make_room(l, now_ms);
    struct entry *e = &l->entries[l->n];
    snprintf(e->addr, sizeof e->addr, "%s", key);
    e->start_ms = now_ms;
    e->count = 0;
    if (strmap_put(l->index, e->addr, e) < 0)
        return NULL;
    l->n++;
    return e;
}

bool addrlimit_take(struct addrlimit *l, const char *addr, int64_t now_ms)
{
    char key[ADDRLIMIT_ADDR_MAX];
    snprintf(key, sizeof key, "%s", addr);
    struct entry *e = strmap_get(l->index, key);
    if (e && expired(l, e, now_ms)) {
        e->start_ms = now_ms;
        e->count = 0;
    }
    if (!e && !(e = entry_new(l, key, now_ms)))
        return true; /* out of memory: not counted, not refused */
    if (e->count >= l->limit)
        return false;
    e->count++;
    return true;
}
