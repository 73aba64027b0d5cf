/* outq — shared buffers and the bounded output queue of one connection.
 *
 * A broadcast is encoded and framed once into an sbuf; every recipient's outq
 * takes a reference to it, and the bytes leave through writev without a copy.
 * The sbuf is freed when the last queue lets go of it, on whichever thread.
 *
 * sbuf reference counts are atomic: any thread may ref or unref. An outq is
 * not thread-safe: its owner (the worker that owns the connection, or whoever
 * holds the session's lock) serialises every call on it.
 *
 * Limits: an outq refuses a push that would take it past max_bytes queued or
 * max_slices buffers, and the caller then drops the slow consumer rather than
 * grow. Its slice array grows by doubling up to max_slices and is released
 * when a flush empties a queue that had grown past OUTQ_SLICES_KEEP.
 *
 * writev on a socket whose peer is gone raises SIGPIPE: the process ignores
 * it (chatd's main does) and outq_flush sees EPIPE.
 */
#ifndef CHAT_OUTQ_H
#define CHAT_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define OUTQ_IOV_BATCH 64   /* slices per writev; well under IOV_MAX */
#define OUTQ_SLICES_KEEP 16 /* a slice array up to this many stays when drained */

struct sbuf;

/* A buffer of len bytes (contents undefined) with one reference. Returns NULL
 * when out of memory or len is absurd. */
struct sbuf *sbuf_new(size_t len);

/* A buffer holding a copy of data[0..len), with one reference; NULL as sbuf_new. */
struct sbuf *sbuf_from(const void *data, size_t len);

/* Takes another reference; returns b. */
struct sbuf *sbuf_ref(struct sbuf *b);

/* Drops a reference; the last one frees b. NULL-safe. */
void sbuf_unref(struct sbuf *b);

/* The bytes: writable until the buffer is shared, read-only after. */
void *sbuf_data(struct sbuf *b);
size_t sbuf_len(const struct sbuf *b);

/* A piece of an sbuf waiting to be written. */
struct outq_slice {
    struct sbuf *buf; /* one reference, held by the queue */
    size_t off;
    size_t len; /* > 0 */
};

/* Fields are private; the struct is public so it can live inside a session. */
struct outq {
    struct outq_slice *ring; /* ring_cap slots, NULL until the first push */
    size_t ring_cap;
    size_t head;  /* slot of the oldest slice */
    size_t count; /* slices queued */
    size_t bytes; /* bytes queued */
    size_t max_bytes;
    size_t max_slices;
};

/* An empty queue holding at most max_bytes in at most max_slices slices.
 * Allocates nothing; cannot fail. */
void outq_init(struct outq *q, size_t max_bytes, size_t max_slices);

/* Queues all of b, taking a new reference (the caller keeps its own). Returns
 * 0, or -1 with nothing queued and b untouched when a limit would be exceeded
 * or the slice array cannot grow. An empty b queues nothing and returns 0. */
int outq_push(struct outq *q, struct sbuf *b);

/* Queues b[off..off+len) as outq_push does; -1 also when the range is not
 * inside b. */
int outq_push_slice(struct outq *q, struct sbuf *b, size_t off, size_t len);

/* Writes queued bytes to fd with writev, OUTQ_IOV_BATCH slices at a time,
 * dropping what was written and keeping the rest in order. Stops when the
 * queue is empty or the socket is full (a short write or EAGAIN). Returns the
 * bytes written: 0 with errno EAGAIN when none fit; while !outq_empty(q) after
 * a successful flush, wait for EPOLLOUT. Returns -1 with errno set on any
 * other error; bytes written before it are dropped from the queue. */
ssize_t outq_flush(struct outq *q, int fd);

/* Whether nothing waits to be written. */
bool outq_empty(const struct outq *q);

/* Bytes waiting to be written. */
size_t outq_bytes(const struct outq *q);

/* Slices waiting to be written. */
size_t outq_slices(const struct outq *q);

/* Drops every slice (unref) and frees the slice array. The queue stays
 * initialised with its limits: this is also its destructor. */
void outq_clear(struct outq *q);

#endif
