/* Unit tests of the timer heap: order, cancel, reschedule, re-entrancy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "timerheap.h"

#define N 1000

static int64_t fired[N];
static size_t nfired;

static void record(struct timer *t)
{
    fired[nfired++] = t->deadline;
}

static void test_order_and_cancel(void **state)
{
    (void)state;
    struct timerheap h;
    static struct timer timers[N];
    timerheap_init(&h);
    nfired = 0;
    srand(7);
    for (int i = 0; i < N; i++) {
        timer_init(&timers[i], record);
        assert_int_equal(timerheap_schedule(&h, &timers[i], rand() % 10000), 0);
    }
    /* Cancel every third, move every fifth later. */
    for (int i = 0; i < N; i += 3)
        timerheap_cancel(&h, &timers[i]);
    for (int i = 1; i < N; i += 5)
        timerheap_schedule(&h, &timers[i], 20000 + i);
    assert_false(timer_pending(&timers[0]));
    assert_true(timer_pending(&timers[1]));
    size_t expected = h.count;
    size_t first = timerheap_run(&h, 5000);
    assert_int_equal(first, nfired);
    for (size_t i = 0; i < nfired; i++)
        assert_true(fired[i] <= 5000);
    size_t second = timerheap_run(&h, INT64_MAX - 1);
    assert_int_equal(first + second, expected);
    assert_int_equal(nfired, expected);
    for (size_t i = 1; i < nfired; i++)
        assert_true(fired[i - 1] <= fired[i]);
    assert_int_equal(timerheap_next(&h), INT64_MAX);
    timerheap_free(&h);
}

static struct timerheap *reentrant_heap;
static int reschedules;

static void again(struct timer *t)
{
    if (++reschedules < 3)
        timerheap_schedule(reentrant_heap, t, t->deadline + 10);
}

static void test_reentrant(void **state)
{
    (void)state;
    struct timerheap h;
    struct timer t;
    timerheap_init(&h);
    reentrant_heap = &h;
    timer_init(&t, again);
    timerheap_schedule(&h, &t, 5);
    assert_int_equal(timerheap_run(&h, 100), 3);
    assert_false(timer_pending(&t));
    timerheap_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_cancel),
        cmocka_unit_test(test_reentrant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
