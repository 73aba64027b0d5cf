/* timerheap: binary min-heap of intrusive timers (see timerheap.h). */
#include "timerheap.h"

#include <stdlib.h>

#define TIMERHEAP_MIN_CAP 64

void timer_init(struct timer *t, void (*fn)(struct timer *))
{
    t->deadline = 0;
    t->index = TIMER_IDLE;
    t->fn = fn;
}

void timerheap_init(struct timerheap *h)
{
    h->items = NULL;
    h->count = h->cap = 0;
}

void timerheap_free(struct timerheap *h)
{
    for (size_t i = 0; i < h->count; i++)
        h->items[i]->index = TIMER_IDLE;
    free(h->items);
    timerheap_init(h);
}

static void place(struct timerheap *h, size_t i, struct timer *t)
{
    h->items[i] = t;
    t->index = i;
}

static void sift_up(struct timerheap *h, size_t i)
{
    struct timer *t = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->items[parent]->deadline <= t->deadline)
            break;
        place(h, i, h->items[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(struct timerheap *h, size_t i)
{
    struct timer *t = h->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->count)
            break;
        if (child + 1 < h->count && h->items[child + 1]->deadline < h->items[child]->deadline)
            child++;
        if (t->deadline <= h->items[child]->deadline)
            break;
        place(h, i, h->items[child]);
        i = child;
    }
    place(h, i, t);
}

int timerheap_schedule(struct timerheap *h, struct timer *t, int64_t deadline)
{
    if (timer_pending(t)) {
        int64_t old = t->deadline;
        t->deadline = deadline;
        if (deadline < old)
            sift_up(h, t->index);
        else
            sift_down(h, t->index);
        return 0;
    }
    if (h->count == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : TIMERHEAP_MIN_CAP;
        struct timer **items = realloc(h->items, cap * sizeof *items);
        if (!items)
            return -1;
        h->items = items;
        h->cap = cap;
    }
    t->deadline = deadline;
    place(h, h->count++, t);
    sift_up(h, t->index);
    return 0;
}

void timerheap_cancel(struct timerheap *h, struct timer *t)
{
    if (!timer_pending(t))
        return;
    size_t i = t->index;
    t->index = TIMER_IDLE;
    struct timer *last = h->items[--h->count];
    if (i == h->count)
        return;
    place(h, i, last);
    if (i > 0 && h->items[(i - 1) / 2]->deadline > last->deadline)
        sift_up(h, i);
    else
        sift_down(h, i);
}

int64_t timerheap_next(const struct timerheap *h)
{
    return h->count ? h->items[0]->deadline : INT64_MAX;
}

size_t timerheap_run(struct timerheap *h, int64_t now)
{
    size_t ran = 0;
    while (h->count && h->items[0]->deadline <= now) {
        struct timer *t = h->items[0];
        timerheap_cancel(h, t);
        t->fn(t);
        ran++;
    }
    return ran;
}
