/* liveness: a loop's round count sampled at the watchdog's pace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "liveness.h"

#define STALL_MS 2000

/* Sampled less often than the stall time (every 15 s): a count that moved
 * between samples is a turning loop, one that did not is stuck. */
static void test_slow_samples(void **state)
{
    (void)state;
    struct liveness l = LIVENESS_INIT;
    assert_true(liveness_sample(&l, 10, 1000, STALL_MS));
    assert_true(liveness_sample(&l, 85, 16000, STALL_MS));
    assert_false(liveness_sample(&l, 85, 31000, STALL_MS));
    assert_int_equal(liveness_still_ms(&l, 31000), 15000);
    /* It turns again: alive at once. */
    assert_true(liveness_sample(&l, 86, 46000, STALL_MS));
    assert_int_equal(liveness_still_ms(&l, 46000), 0);
}

/* Sampled faster than the loop's tick: an unmoved count is no verdict
 * until it has stood still for the stall time. */
static void test_fast_samples(void **state)
{
    (void)state;
    struct liveness l = LIVENESS_INIT;
    assert_true(liveness_sample(&l, 5, 0, STALL_MS));
    assert_true(liveness_sample(&l, 5, 100, STALL_MS));
    assert_true(liveness_sample(&l, 5, 2000, STALL_MS));
    assert_false(liveness_sample(&l, 5, 2001, STALL_MS));
    assert_false(liveness_sample(&l, 5, 5000, STALL_MS));
    assert_int_equal(liveness_still_ms(&l, 5000), 5000);
}

/* The first sample has nothing to compare with: alive, whatever the count
 * (a loop that has not turned yet, count 0, included). */
static void test_first_sample(void **state)
{
    (void)state;
    struct liveness l = LIVENESS_INIT;
    assert_int_equal(liveness_still_ms(&l, 123), 0);
    assert_true(liveness_sample(&l, 0, 50000, STALL_MS));
    assert_false(liveness_sample(&l, 0, 60000, STALL_MS));
}

/* A count that wraps still moved. */
static void test_wrap(void **state)
{
    (void)state;
    struct liveness l = LIVENESS_INIT;
    assert_true(liveness_sample(&l, UINT64_MAX, 0, STALL_MS));
    assert_true(liveness_sample(&l, 0, 15000, STALL_MS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_samples),
        cmocka_unit_test(test_fast_samples),
        cmocka_unit_test(test_first_sample),
        cmocka_unit_test(test_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
