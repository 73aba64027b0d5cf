/* Unit tests for server/hashpool. The Makefile links unit tests with libchat.a
 * only, and the pool lives in server/, so its source is compiled in here. */
#include "../../server/net/hashpool.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <time.h>

#define WAIT_SECONDS 60 /* a hung pool fails the test instead of hanging it */

/* Legacy bcrypt of "password123", written by the original Python demo
 * (test/fixtures/original-python-demo.json, user:1). */
static const char LEGACY[] = "$2b$10$hNsLTYqomPJ7/DyHL6mXwu6iGEKeGb8UrHEx175wjSuAjqRsm3A56";

struct test_job {
    struct hash_job job;
    unsigned calls; /* done() calls seen for this job */
    bool gated;     /* done() blocks until the test opens the gate */
};

/* What done() callbacks report, from pool threads, to the test's thread. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned calls;
    bool gate_closed, gate_entered;
} T = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false, false};

static void on_done(struct hash_job *job)
{
    struct test_job *tj = job->ctx;

    pthread_mutex_lock(&T.lock);
    tj->calls++;
    T.calls++;
    pthread_cond_broadcast(&T.cond);
    if (tj->gated) {
        T.gate_entered = true;
        while (T.gate_closed)
            pthread_cond_wait(&T.cond, &T.lock);
    }
    pthread_mutex_unlock(&T.lock);
}

static int reset(void **state)
{
    (void)state;
    pthread_mutex_lock(&T.lock);
    T.calls = 0;
    T.gate_closed = T.gate_entered = false;
    pthread_mutex_unlock(&T.lock);
    return 0;
}

/* Waits until cond(arg) holds under T.lock; false on timeout. */
static bool wait_for(bool (*cond)(unsigned), unsigned arg)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WAIT_SECONDS;

    bool ok = true;
    pthread_mutex_lock(&T.lock);
    while (!cond(arg) && ok)
        ok = pthread_cond_timedwait(&T.cond, &T.lock, &deadline) != ETIMEDOUT || cond(arg);
    pthread_mutex_unlock(&T.lock);
    return ok;
}

static bool calls_reached(unsigned n)
{
    return T.calls >= n;
}
static bool gate_entered(unsigned unused)
{
    (void)unused;
    return T.gate_entered;
}

static void open_gate(void)
{
    pthread_mutex_lock(&T.lock);
    T.gate_closed = false;
    pthread_cond_broadcast(&T.cond);
    pthread_mutex_unlock(&T.lock);
}

static void job_init(struct test_job *tj, enum hash_job_op op, enum pw_scheme scheme,
                     const char *password, const char *hash)
{
    memset(tj, 0, sizeof *tj);
    tj->job.op = op;
    tj->job.scheme = scheme;
    tj->job.password_len = strlen(password);
    memcpy(tj->job.password, password, tj->job.password_len);
    if (hash != NULL)
        snprintf(tj->job.hash, sizeof tj->job.hash, "%s", hash);
    tj->job.done = on_done;
    tj->job.ctx = tj;
    tj->job.result = 42; /* so "untouched" is visible */
}

static void assert_wiped(const struct test_job *tj)
{
    static const char zeros[sizeof tj->job.password];
    assert_int_equal(tj->job.password_len, 0);
    assert_memory_equal(tj->job.password, zeros, sizeof zeros);
}

static void test_results(void **state)
{
    (void)state;
    enum { ARGON, BCRYPT, UPGRADE, WRONG, KEEP, MALFORMED, TOO_LONG, N };
    struct test_job j[N];
    job_init(&j[ARGON], HASH_JOB_HASH, PW_ARGON2ID, "alpha", NULL);
    job_init(&j[BCRYPT], HASH_JOB_HASH, PW_BCRYPT, "beta", NULL);
    job_init(&j[UPGRADE], HASH_JOB_VERIFY, PW_ARGON2ID, "password123", LEGACY);
    job_init(&j[WRONG], HASH_JOB_VERIFY, PW_ARGON2ID, "password124", LEGACY);
    job_init(&j[KEEP], HASH_JOB_VERIFY, PW_BCRYPT, "password123", LEGACY);
    job_init(&j[MALFORMED], HASH_JOB_VERIFY, PW_ARGON2ID, "password123", "$2b$10$nope");
    job_init(&j[TOO_LONG], HASH_JOB_HASH, PW_ARGON2ID, "x", NULL);
    j[TOO_LONG].job.password_len = PW_PASSWORD_MAX + 1;

    struct hashpool *pool = hashpool_new(2, N);
    assert_non_null(pool);
    for (int i = 0; i < N; i++)
        assert_int_equal(hashpool_submit(pool, &j[i].job), 0);
    assert_true(wait_for(calls_reached, N));
    hashpool_free(pool);

    for (int i = 0; i < N; i++) {
        assert_int_equal(j[i].calls, 1);
        assert_wiped(&j[i]);
        assert_null(j[i].job.next);
    }

    assert_int_equal(j[ARGON].job.result, 0);
    assert_true(strncmp(j[ARGON].job.hash, "$argon2id$", 10) == 0);
    assert_int_equal(pw_verify(j[ARGON].job.hash, "alpha", 5), 0);
    assert_false(j[ARGON].job.rehashed);

    assert_int_equal(j[BCRYPT].job.result, 0);
    assert_true(strncmp(j[BCRYPT].job.hash, "$2b$10$", 7) == 0);
    assert_int_equal(pw_verify(j[BCRYPT].job.hash, "beta", 4), 0);

    /* A legacy hash verified with Argon2id wanted comes back upgraded. */
    assert_int_equal(j[UPGRADE].job.result, 0);
    assert_true(j[UPGRADE].job.rehashed);
    assert_true(strncmp(j[UPGRADE].job.new_hash, "$argon2id$", 10) == 0);
    assert_int_equal(pw_verify(j[UPGRADE].job.new_hash, "password123", 11), 0);
    assert_string_equal(j[UPGRADE].job.hash, LEGACY);

    assert_int_equal(j[WRONG].job.result, 1);
    assert_false(j[WRONG].job.rehashed);

    assert_int_equal(j[KEEP].job.result, 0);
    assert_false(j[KEEP].job.rehashed); /* fleet with originals: no upgrade */

    assert_int_equal(j[MALFORMED].job.result, -1);
    assert_false(j[MALFORMED].job.rehashed);

    assert_int_equal(j[TOO_LONG].job.result, -1);
}

static void test_queue_full(void **state)
{
    (void)state;
    struct test_job gated, q[3];
    job_init(&gated, HASH_JOB_VERIFY, PW_ARGON2ID, "pw", "$2b$10$x");
    gated.gated = true;
    T.gate_closed = true;
    for (int i = 0; i < 3; i++)
        job_init(&q[i], HASH_JOB_VERIFY, PW_ARGON2ID, "pw", "$2b$10$x");

    struct hashpool *pool = hashpool_new(1, 2);
    assert_non_null(pool);
    /* The only thread is held in gated's done(), so nothing leaves the queue. */
    assert_int_equal(hashpool_submit(pool, &gated.job), 0);
    assert_true(wait_for(gate_entered, 0));
    assert_int_equal(hashpool_submit(pool, &q[0].job), 0);
    assert_int_equal(hashpool_submit(pool, &q[1].job), 0);
    assert_int_equal(hashpool_submit(pool, &q[2].job), -1);

    struct test_job no_done;
    job_init(&no_done, HASH_JOB_HASH, PW_ARGON2ID, "pw", NULL);
    no_done.job.done = NULL;
    open_gate();
    assert_true(wait_for(calls_reached, 3));
    assert_int_equal(hashpool_submit(pool, &no_done.job), -1);

    /* Room again once the queue drained. */
    assert_int_equal(hashpool_submit(pool, &q[2].job), 0);
    assert_true(wait_for(calls_reached, 4));
    hashpool_free(pool);

    assert_int_equal(gated.calls, 1);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(q[i].calls, 1);
        assert_int_equal(q[i].job.result, -1);
    }
}

static void *free_pool(void *pool)
{
    hashpool_free(pool);
    return NULL;
}

static void test_free_cancels_pending(void **state)
{
    (void)state;
    enum { PENDING = 5 };
    struct test_job running, pending[PENDING];
    job_init(&running, HASH_JOB_VERIFY, PW_BCRYPT, "password123", LEGACY);
    running.gated = true;
    T.gate_closed = true;
    for (int i = 0; i < PENDING; i++)
        job_init(&pending[i], HASH_JOB_HASH, PW_ARGON2ID, "secret", NULL);

    struct hashpool *pool = hashpool_new(1, PENDING);
    assert_non_null(pool);
    assert_int_equal(hashpool_submit(pool, &running.job), 0);
    assert_true(wait_for(gate_entered, 0));
    for (int i = 0; i < PENDING; i++)
        assert_int_equal(hashpool_submit(pool, &pending[i].job), 0);

    /* hashpool_free cancels the queue, then waits for the running job, whose
     * done() is held at the gate: so free runs on its own thread here. */
    pthread_t freer;
    assert_int_equal(pthread_create(&freer, NULL, free_pool, pool), 0);
    assert_true(wait_for(calls_reached, 1 + PENDING));
    open_gate();
    assert_int_equal(pthread_join(freer, NULL), 0);

    assert_int_equal(running.calls, 1);
    assert_int_equal(running.job.result, 0);
    for (int i = 0; i < PENDING; i++) {
        assert_int_equal(pending[i].calls, 1);
        assert_int_equal(pending[i].job.result, HASHPOOL_CANCELLED);
        assert_wiped(&pending[i]);
    }
}

static void test_bad_arguments(void **state)
{
    (void)state;
    assert_null(hashpool_new(0, 1));
    assert_null(hashpool_new(1, 0));
    assert_null(hashpool_new(HASHPOOL_MAX_THREADS + 1, 1));
    hashpool_free(NULL);

    /* An idle pool stops promptly. */
    struct hashpool *pool = hashpool_new(HASHPOOL_MAX_THREADS, 1);
    assert_non_null(pool);
    hashpool_free(pool);
}

static int setup(void **state)
{
    (void)state;
    return pw_init();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_results, reset),
        cmocka_unit_test_setup(test_queue_full, reset),
        cmocka_unit_test_setup(test_free_cancels_pending, reset),
        cmocka_unit_test_setup(test_bad_arguments, reset),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
