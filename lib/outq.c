/* outq — shared buffers and bounded writev queues. See outq.h. */
#include "outq.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define OUTQ_SLICES_INITIAL 4 /* most connections never have more queued */

_Static_assert(OUTQ_IOV_BATCH <= IOV_MAX, "one writev takes at most IOV_MAX slices");
_Static_assert(OUTQ_SLICES_INITIAL <= OUTQ_SLICES_KEEP, "a fresh array is kept");

struct sbuf {
    atomic_size_t refs;
    size_t len;
    unsigned char data[];
};

struct sbuf *sbuf_new(size_t len)
{
    if (len > SIZE_MAX - sizeof(struct sbuf))
        return NULL;
    struct sbuf *b = malloc(sizeof *b + len);
    if (b == NULL)
        return NULL;
    atomic_init(&b->refs, 1);
    b->len = len;
    return b;
}

struct sbuf *sbuf_from(const void *data, size_t len)
{
    struct sbuf *b = sbuf_new(len);
    if (b != NULL && len > 0)
        memcpy(b->data, data, len);
    return b;
}

struct sbuf *sbuf_ref(struct sbuf *b)
{
    /* Relaxed: a new reference is made from one the caller already holds. */
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void sbuf_unref(struct sbuf *b)
{
    if (b == NULL)
        return;
    /* Release orders this holder's reads of data before the count drops;
     * acquire makes every holder's reads happen before the free. (Not a
     * release decrement plus an acquire fence: ThreadSanitizer does not model
     * fences and would report the free as a race.) */
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        free(b);
}

void *sbuf_data(struct sbuf *b)
{
    return b->data;
}

size_t sbuf_len(const struct sbuf *b)
{
    return b->len;
}

void outq_init(struct outq *q, size_t max_bytes, size_t max_slices)
{
    /* outq_flush reports bytes as ssize_t. */
    if (max_bytes > SSIZE_MAX)
        max_bytes = SSIZE_MAX;
    *q = (struct outq){.max_bytes = max_bytes, .max_slices = max_slices};
}

static struct outq_slice *slot(const struct outq *q, size_t i)
{
    return &q->ring[(q->head + i) % q->ring_cap];
}

/* Doubles the slice array up to max_slices, unwrapping the ring into order. */
static int grow(struct outq *q)
{
    size_t cap = q->ring_cap == 0                  ? OUTQ_SLICES_INITIAL
                 : q->ring_cap > q->max_slices / 2 ? q->max_slices
                                                   : q->ring_cap * 2;
    if (cap > q->max_slices)
        cap = q->max_slices;
    if (cap <= q->ring_cap || cap > SIZE_MAX / sizeof(struct outq_slice))
        return -1;
    struct outq_slice *ring = malloc(cap * sizeof *ring);
    if (ring == NULL)
        return -1;
    for (size_t i = 0; i < q->count; i++)
        ring[i] = *slot(q, i);
    free(q->ring);
    q->ring = ring;
    q->ring_cap = cap;
    q->head = 0;
    return 0;
}

int outq_push_slice(struct outq *q, struct sbuf *b, size_t off, size_t len)
{
    if (off > b->len || len > b->len - off)
        return -1;
    if (len == 0)
        return 0;
    if (q->count >= q->max_slices || len > q->max_bytes - q->bytes)
        return -1;
    if (q->count == q->ring_cap && grow(q) != 0)
        return -1;
    *slot(q, q->count) = (struct outq_slice){.buf = sbuf_ref(b), .off = off, .len = len};
    q->count++;
    q->bytes += len;
    return 0;
}

int outq_push(struct outq *q, struct sbuf *b)
{
    return outq_push_slice(q, b, 0, b->len);
}

/* Drops the first n written bytes: whole slices, then the front of one. */
static void consume(struct outq *q, size_t n)
{
    while (n > 0 && q->count > 0) {
        struct outq_slice *s = slot(q, 0);
        if (n < s->len) {
            s->off += n;
            s->len -= n;
            q->bytes -= n;
            return;
        }
        n -= s->len;
        q->bytes -= s->len;
        sbuf_unref(s->buf);
        *s = (struct outq_slice){0};
        q->head = (q->head + 1) % q->ring_cap;
        q->count--;
    }
}

static void release_ring(struct outq *q)
{
    free(q->ring);
    q->ring = NULL;
    q->ring_cap = 0;
    q->head = 0;
}

ssize_t outq_flush(struct outq *q, int fd)
{
    size_t total = 0;
    int err = 0;
    /* Each round either drains a whole batch or ends the flush, so there are
     * at most max_slices / OUTQ_IOV_BATCH + 1 rounds (plus EINTR retries). */
    while (q->count > 0) {
        struct iovec iov[OUTQ_IOV_BATCH];
        size_t n = 0, want = 0;
        for (; n < q->count && n < OUTQ_IOV_BATCH; n++) {
            const struct outq_slice *s = slot(q, n);
            iov[n] = (struct iovec){.iov_base = (unsigned char *)s->buf->data + s->off,
                                    .iov_len = s->len};
            want += s->len;
        }
        ssize_t w = writev(fd, iov, (int)n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                err = errno;
            break;
        }
        consume(q, (size_t)w);
        total += (size_t)w;
        /* A short write means the socket buffer is full: another writev
         * would only return EAGAIN. */
        if ((size_t)w < want)
            break;
    }
    if (q->count == 0 && q->ring_cap > OUTQ_SLICES_KEEP)
        release_ring(q);
    if (err != 0) {
        errno = err;
        return -1;
    }
    if (total == 0 && q->count > 0)
        errno = EAGAIN;
    return (ssize_t)total;
}

bool outq_empty(const struct outq *q)
{
    return q->count == 0;
}

size_t outq_bytes(const struct outq *q)
{
    return q->bytes;
}

size_t outq_slices(const struct outq *q)
{
    return q->count;
}

void outq_clear(struct outq *q)
{
    for (size_t i = 0; i < q->count; i++)
        sbuf_unref(slot(q, i)->buf);
    release_ring(q);
    q->count = 0;
    q->bytes = 0;
}
