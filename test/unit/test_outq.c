/* Unit tests for lib/outq: shared buffers and bounded writev queues, flushed
 * into a socketpair whose small send buffer forces short writes and EAGAIN.
 * That a shared buffer is freed exactly once, after its last queue, is
 * checked by AddressSanitizer and LeakSanitizer in `make SAN=1 unit`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "outq.h"

#define SNDBUF 4096         /* the kernel doubles it, and has a floor near 4.5 KiB */
#define RECV_MAX (1u << 20) /* bytes one test reads back */
#define QUEUES 64           /* recipients of one broadcast */
#define THREADS 8

struct pipe {
    int tx; /* non-blocking, small send buffer: the queue writes here */
    int rx; /* the test reads back here */
    uint8_t *got;
    size_t got_len;
};

static void pipe_open(struct pipe *p)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    int size = SNDBUF;
    assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size), 0);
    p->tx = sv[0];
    p->rx = sv[1];
    p->got = malloc(RECV_MAX);
    assert_non_null(p->got);
    p->got_len = 0;
}

static void pipe_close(struct pipe *p)
{
    if (p->tx >= 0)
        close(p->tx);
    close(p->rx);
    free(p->got);
}

/* Reads whatever has arrived, at most max bytes. */
static size_t pipe_read(struct pipe *p, size_t max)
{
    size_t total = 0;
    while (total < max) {
        size_t room = RECV_MAX - p->got_len;
        if (room > max - total)
            room = max - total;
        assert_true(room > 0);
        ssize_t n = read(p->rx, p->got + p->got_len, room);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        assert_true(n > 0);
        p->got_len += (size_t)n;
        total += (size_t)n;
    }
    return total;
}

/* Flushes and reads back until the queue is empty; counts what happened. */
struct flow {
    size_t flushes, eagains, short_writes;
};

static void drain(struct outq *q, struct pipe *p, size_t read_step, struct flow *f)
{
    /* Each round either writes or reads at least one byte. */
    for (size_t round = 0; !outq_empty(q); round++) {
        assert_true(round < 10 * RECV_MAX);
        size_t before = outq_bytes(q);
        errno = 0;
        ssize_t n = outq_flush(q, p->tx);
        assert_true(n >= 0);
        assert_int_equal(outq_bytes(q), before - (size_t)n);
        f->flushes++;
        if (n == 0) {
            assert_int_equal(errno, EAGAIN);
            f->eagains++;
        } else if (!outq_empty(q)) {
            f->short_writes++;
        }
        pipe_read(p, read_step);
    }
    pipe_read(p, RECV_MAX);
}

static struct sbuf *pattern(size_t len, unsigned seed)
{
    struct sbuf *b = sbuf_new(len);
    assert_non_null(b);
    uint8_t *d = sbuf_data(b);
    for (size_t i = 0; i < len; i++)
        d[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
    return b;
}

/* ---- sbuf ---- */

static void test_sbuf(void **state)
{
    (void)state;
    struct sbuf *b = sbuf_from("hello", 5);
    assert_non_null(b);
    assert_int_equal(sbuf_len(b), 5);
    assert_memory_equal(sbuf_data(b), "hello", 5);
    assert_ptr_equal(sbuf_ref(b), b);
    sbuf_unref(b);
    assert_memory_equal(sbuf_data(b), "hello", 5); /* still one reference */
    sbuf_unref(b);
    sbuf_unref(NULL);

    struct sbuf *e = sbuf_from(NULL, 0);
    assert_non_null(e);
    assert_int_equal(sbuf_len(e), 0);
    sbuf_unref(e);
    assert_null(sbuf_new(SIZE_MAX));
    assert_null(sbuf_new(SIZE_MAX - 8));
}

/* ---- outq ---- */

static void test_push_flush_partial(void **state)
{
    (void)state;
    struct pipe p;
    pipe_open(&p);
    struct outq q;
    outq_init(&q, RECV_MAX, 1024);

    /* Slices of awkward sizes, some sharing one buffer, about 300 KiB. */
    uint8_t *want = malloc(RECV_MAX);
    assert_non_null(want);
    size_t want_len = 0;
    for (unsigned i = 0; i < 200; i++) {
        struct sbuf *b = pattern(1 + (i * 977) % 3001, i);
        size_t off = i % 3 == 0 ? sbuf_len(b) / 3 : 0;
        size_t len = sbuf_len(b) - off;
        assert_int_equal(outq_push_slice(&q, b, off, len), 0);
        memcpy(want + want_len, (uint8_t *)sbuf_data(b) + off, len);
        want_len += len;
        sbuf_unref(b); /* the queue holds the only reference now */
    }
    assert_int_equal(outq_bytes(&q), want_len);
    assert_int_equal(outq_slices(&q), 200);

    struct flow f = {0};
    drain(&q, &p, 1500, &f);
    assert_int_equal(p.got_len, want_len);
    assert_memory_equal(p.got, want, want_len);
    assert_true(f.eagains > 0);      /* the socket did fill up */
    assert_true(f.short_writes > 0); /* and took slices in pieces */
    assert_int_equal(outq_bytes(&q), 0);
    assert_int_equal(outq_slices(&q), 0);

    /* Empty: nothing to write is not an error. */
    errno = 0;
    assert_int_equal(outq_flush(&q, p.tx), 0);
    assert_int_equal(errno, 0);
    outq_clear(&q);
    free(want);
    pipe_close(&p);
}

/* More slices than one writev takes, all fitting at once. */
static void test_batches(void **state)
{
    (void)state;
    struct pipe p;
    pipe_open(&p);
    int size = 1 << 20;
    assert_int_equal(setsockopt(p.tx, SOL_SOCKET, SO_SNDBUF, &size, sizeof size), 0);
    struct outq q;
    outq_init(&q, 1 << 20, 1024);
    size_t n = 3 * OUTQ_IOV_BATCH + 5;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)i;
        struct sbuf *b = sbuf_from(&c, 1);
        assert_int_equal(outq_push(&q, b), 0);
        sbuf_unref(b);
    }
    assert_int_equal(outq_flush(&q, p.tx), (ssize_t)n);
    assert_true(outq_empty(&q));
    assert_int_equal(pipe_read(&p, RECV_MAX), n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p.got[i], (uint8_t)i);
    outq_clear(&q);
    pipe_close(&p);
}

/* The ring wraps, then grows while wrapped: order survives. */
static void test_ring_wraps(void **state)
{
    (void)state;
    struct pipe p;
    pipe_open(&p);
    struct outq q;
    outq_init(&q, 1 << 20, 64);
    uint8_t next = 0, expect = 0;
    for (int round = 0; round < 50; round++) {
        /* Push a few, flush them all, push more than were flushed. */
        for (int i = 0; i < 3 + round % 5; i++) {
            struct sbuf *b = sbuf_from(&next, 1);
            next++;
            assert_int_equal(outq_push(&q, b), 0);
            sbuf_unref(b);
        }
        if (round % 2 == 1) {
            struct flow f = {0};
            drain(&q, &p, RECV_MAX, &f);
        }
    }
    struct flow f = {0};
    drain(&q, &p, RECV_MAX, &f);
    assert_true(p.got_len > 0);
    for (size_t i = 0; i < p.got_len; i++, expect++)
        assert_int_equal(p.got[i], expect);
    assert_int_equal(expect, next);
    outq_clear(&q);
    pipe_close(&p);
}

/* One framed broadcast shared by many queues: each socket gets the same
 * bytes, and the buffer outlives the broadcaster's reference until the last
 * queue has flushed (ASan would see a use after free or a double free). */
static void test_shared_broadcast(void **state)
{
    (void)state;
    static struct pipe pipes[QUEUES];
    static struct outq queues[QUEUES];
    struct sbuf *b = pattern(20000, 7);
    uint8_t *copy = malloc(20000);
    assert_non_null(copy);
    memcpy(copy, sbuf_data(b), 20000);
    for (int i = 0; i < QUEUES; i++) {
        pipe_open(&pipes[i]);
        outq_init(&queues[i], 1 << 16, 8);
        assert_int_equal(outq_push(&queues[i], b), 0);
        /* The header+payload split a broadcast might use: two slices. */
        assert_int_equal(outq_push_slice(&queues[i], b, 100, 10), 0);
    }
    sbuf_unref(b); /* the broadcaster lets go at once */
    for (int i = 0; i < QUEUES; i++) {
        struct flow f = {0};
        drain(&queues[i], &pipes[i], 3000, &f);
        assert_int_equal(pipes[i].got_len, 20010);
        assert_memory_equal(pipes[i].got, copy, 20000);
        assert_memory_equal(pipes[i].got + 20000, copy + 100, 10);
        outq_clear(&queues[i]);
        pipe_close(&pipes[i]);
    }
    free(copy);
}

static void test_limits(void **state)
{
    (void)state;
    struct outq q;
    outq_init(&q, 100, 3);
    struct sbuf *b = pattern(60, 1);
    assert_int_equal(outq_push(&q, b), 0);
    assert_int_equal(outq_push_slice(&q, b, 0, 40), 0);
    /* One byte over max_bytes: refused, nothing changes. */
    assert_int_equal(outq_push_slice(&q, b, 0, 1), -1);
    assert_int_equal(outq_bytes(&q), 100);
    assert_int_equal(outq_slices(&q), 2);

    outq_clear(&q);
    assert_true(outq_empty(&q));
    assert_int_equal(outq_bytes(&q), 0);
    /* max_slices: the fourth slice is refused, however small. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(outq_push_slice(&q, b, (size_t)i, 1), 0);
    assert_int_equal(outq_push_slice(&q, b, 3, 1), -1);
    assert_int_equal(outq_slices(&q), 3);
    assert_int_equal(outq_bytes(&q), 3);

    /* Ranges outside the buffer; an empty slice queues nothing. */
    outq_clear(&q);
    assert_int_equal(outq_push_slice(&q, b, 61, 0), -1);
    assert_int_equal(outq_push_slice(&q, b, 50, 11), -1);
    assert_int_equal(outq_push_slice(&q, b, 1, SIZE_MAX), -1);
    assert_int_equal(outq_push_slice(&q, b, 60, 0), 0);
    struct sbuf *e = sbuf_new(0);
    assert_non_null(e);
    assert_int_equal(outq_push(&q, e), 0);
    assert_true(outq_empty(&q));
    sbuf_unref(e);

    /* Limits of zero refuse everything. */
    struct outq none;
    outq_init(&none, 0, 10);
    assert_int_equal(outq_push(&none, b), -1);
    outq_init(&none, 10, 0);
    assert_int_equal(outq_push_slice(&none, b, 0, 1), -1);
    outq_clear(&none);

    /* The refused pushes took no reference: this is the last one (LSan). */
    outq_clear(&q);
    outq_clear(&q); /* twice is harmless */
    sbuf_unref(b);
}

/* A big queue releases its grown slice array once drained, and works after. */
static void test_clear_and_reuse(void **state)
{
    (void)state;
    struct pipe p;
    pipe_open(&p);
    struct outq q;
    outq_init(&q, 1 << 20, 1000);
    struct sbuf *b = pattern(10, 3);
    for (int i = 0; i < 500; i++)
        assert_int_equal(outq_push(&q, b), 0);
    outq_clear(&q);
    assert_true(outq_empty(&q));
    assert_null(q.ring);
    for (int i = 0; i < 500; i++)
        assert_int_equal(outq_push(&q, b), 0);
    struct flow f = {0};
    drain(&q, &p, RECV_MAX, &f);
    assert_int_equal(p.got_len, 5000);
    assert_null(q.ring); /* grown past OUTQ_SLICES_KEEP, released when drained */
    assert_int_equal(outq_push(&q, b), 0);
    assert_int_equal(outq_flush(&q, p.tx), 10);
    assert_non_null(q.ring); /* small: kept for the next message */
    outq_clear(&q);
    sbuf_unref(b);
    pipe_close(&p);
}

static void test_flush_errors(void **state)
{
    (void)state;
    /* writev on a socket whose peer is gone raises SIGPIPE: chatd ignores it. */
    signal(SIGPIPE, SIG_IGN);
    struct pipe p;
    pipe_open(&p);
    struct outq q;
    outq_init(&q, 1 << 20, 8);
    struct sbuf *b = pattern(100, 5);
    assert_int_equal(outq_push(&q, b), 0);
    close(p.rx);
    p.rx = -1;
    assert_int_equal(outq_flush(&q, p.tx), -1);
    assert_int_equal(errno, EPIPE);
    assert_int_equal(outq_bytes(&q), 100); /* nothing was written */
    assert_int_equal(outq_flush(&q, -1), -1);
    assert_int_equal(errno, EBADF);
    outq_clear(&q);
    sbuf_unref(b);
    close(p.tx);
    free(p.got);
}

/* Worker threads each own a queue; all share the same buffers, taking and
 * dropping references concurrently. Any miscount is a use after free or a
 * leak under the sanitizers. cmocka's asserts belong to the main thread, so
 * a worker only reports what went wrong. */
struct worker {
    struct sbuf **bufs; /* the worker's own references */
    size_t nbufs;
    struct pipe pipe;
    const char *failed; /* NULL, or what went wrong */
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct outq q;
    outq_init(&q, 1 << 20, 64);
    for (int round = 0; round < 20 && w->failed == NULL; round++) {
        for (size_t i = 0; i < w->nbufs; i++)
            if (outq_push(&q, w->bufs[i]) != 0)
                w->failed = "push";
        /* Bounded: every round writes or reads, or the worker gives up. */
        for (size_t spins = 0; !outq_empty(&q) && w->failed == NULL; spins++) {
            if (outq_flush(&q, w->pipe.tx) < 0 || spins > RECV_MAX)
                w->failed = "flush";
            ssize_t n = read(w->pipe.rx, w->pipe.got + w->pipe.got_len, RECV_MAX - w->pipe.got_len);
            if (n > 0)
                w->pipe.got_len += (size_t)n;
        }
    }
    /* What is still in flight after the last flush. */
    for (;;) {
        ssize_t n = read(w->pipe.rx, w->pipe.got + w->pipe.got_len, RECV_MAX - w->pipe.got_len);
        if (n <= 0)
            break;
        w->pipe.got_len += (size_t)n;
    }
    outq_clear(&q);
    return NULL;
}

static void test_threads_share_buffers(void **state)
{
    (void)state;
    struct sbuf *bufs[4];
    size_t total = 0;
    for (size_t i = 0; i < 4; i++) {
        bufs[i] = pattern(1000 * (i + 1), (unsigned)i);
        total += sbuf_len(bufs[i]);
    }
    struct worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.nbufs = 4};
        pipe_open(&w[i].pipe);
        /* Each worker holds its own references, as sessions would. */
        w[i].bufs = malloc(4 * sizeof *w[i].bufs);
        assert_non_null(w[i].bufs);
        for (size_t k = 0; k < 4; k++)
            w[i].bufs[k] = sbuf_ref(bufs[k]);
    }
    for (size_t k = 0; k < 4; k++)
        sbuf_unref(bufs[k]);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_null(w[i].failed);
        assert_int_equal(w[i].pipe.got_len, 20 * total);
        for (size_t k = 0; k < 4; k++)
            sbuf_unref(w[i].bufs[k]);
        free(w[i].bufs);
        pipe_close(&w[i].pipe);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sbuf),
        cmocka_unit_test(test_push_flush_partial),
        cmocka_unit_test(test_batches),
        cmocka_unit_test(test_ring_wraps),
        cmocka_unit_test(test_shared_broadcast),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_clear_and_reuse),
        cmocka_unit_test(test_flush_errors),
        cmocka_unit_test(test_threads_share_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
