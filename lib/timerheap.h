/* timerheap: a binary min-heap of deadlines for one event loop.  The timer
 * is intrusive (embed it in its owner); the heap stores pointers and keeps
 * each timer's index, so cancel and reschedule are O(log n).  Not
 * thread-safe: one loop owns a heap. */
#ifndef CHATD_TIMERHEAP_H
#define CHATD_TIMERHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct timer {
    int64_t deadline; /* milliseconds, the loop's clock */
    size_t index;     /* position in the heap, or TIMER_IDLE */
    void (*fn)(struct timer *);
};

#define TIMER_IDLE ((size_t)-1)

struct timerheap {
    struct timer **items;
    size_t count, cap;
};

/* An idle timer calling fn when it fires. */
void timer_init(struct timer *t, void (*fn)(struct timer *));

static inline bool timer_pending(const struct timer *t)
{
    return t->index != TIMER_IDLE;
}

void timerheap_init(struct timerheap *h);
/* Frees the heap's array; the timers in it become idle. */
void timerheap_free(struct timerheap *h);

/* Schedules t at deadline, or moves it there if already pending.
 * 0, or -1 when out of memory (t is then unchanged). */
int timerheap_schedule(struct timerheap *h, struct timer *t, int64_t deadline);

/* Removes t if pending; no-op otherwise. */
void timerheap_cancel(struct timerheap *h, struct timer *t);

/* The earliest deadline, or INT64_MAX when empty. */
int64_t timerheap_next(const struct timerheap *h);

/* Runs (and removes) every timer due at now, earliest first; a callback may
 * schedule or cancel timers, itself included.  Returns how many ran. */
size_t timerheap_run(struct timerheap *h, int64_t now);

#endif
