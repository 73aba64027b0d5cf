/* Unit tests of the token bucket: burst, refill rate, cap, clock going back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bucket.h"

/* How many tokens can be taken at now_ms, taking them all. */
static int drain(struct bucket *b, int64_t now_ms)
{
    int n = 0;
    while (bucket_take(b, now_ms))
        n++;
    return n;
}

static void test_burst_then_rate(void **state)
{
    (void)state;
    struct bucket b;
    bucket_init(&b, 10, 25, 1000);
    assert_int_equal(drain(&b, 1000), 25);
    assert_int_equal(drain(&b, 1099), 0); /* 0.99 token */
    assert_int_equal(drain(&b, 1100), 1); /* 10/s: one per 100 ms */
    assert_int_equal(drain(&b, 2100), 10);
}

static void test_fractions_are_kept(void **state)
{
    (void)state;
    struct bucket b;
    bucket_init(&b, 3, 2, 0);
    assert_int_equal(drain(&b, 0), 2);
    int taken = 0;
    /* Asked every millisecond for 10 s: exactly 3 a second. */
    for (int64_t t = 1; t <= 10000; t++)
        taken += bucket_take(&b, t);
    assert_int_equal(taken, 30);
}

static void test_capped_at_burst(void **state)
{
    (void)state;
    struct bucket b;
    bucket_init(&b, 100000, 5, 0);
    assert_int_equal(drain(&b, 0), 5);
    assert_int_equal(drain(&b, INT64_MAX / 2), 5); /* a long idle: no overflow */
}

static void test_clock_back(void **state)
{
    (void)state;
    struct bucket b;
    bucket_init(&b, 1, 2, 5000);
    assert_int_equal(drain(&b, 5000), 2);
    assert_int_equal(drain(&b, 1000), 0);
    assert_int_equal(drain(&b, 5999), 0);
    assert_int_equal(drain(&b, 6000), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_fractions_are_kept),
        cmocka_unit_test(test_capped_at_burst),
        cmocka_unit_test(test_clock_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
