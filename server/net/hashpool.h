/* hashpool — password hashing off the workers' event loops.
 *
 * A fixed set of threads takes jobs from one bounded FIFO. Its size bounds both
 * the CPU a login flood can take and the memory Argon2id needs (its memory
 * cost, PASSWORD_MEMORY, a thread); a full queue is refused at once, so the
 * caller can answer 503/429 instead of queuing without limit.
 *
 * A job belongs to its caller before hashpool_submit and again once done() has
 * been called; in between the pool owns it, and the caller must not touch it.
 */
#ifndef CHAT_HASHPOOL_H
#define CHAT_HASHPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "password.h"

#define HASHPOOL_MAX_THREADS 64 /* hashpool_new refuses more */
#define HASHPOOL_CANCELLED (-2) /* result of a job dropped by hashpool_free */

struct hash_job {
    struct hash_job *next; /* the pool's queue link while it owns the job */

    /* In: set by the caller before submitting. */
    enum hash_job_op { HASH_JOB_HASH, HASH_JOB_VERIFY } op;
    enum pw_scheme scheme;              /* HASH: the scheme to write; VERIFY: the wanted one */
    char password[PW_PASSWORD_MAX + 1]; /* wiped by the pool after use */
    size_t password_len;                /* at most PW_PASSWORD_MAX */
    char hash[PW_HASH_MAX];             /* VERIFY: the stored hash; HASH: out */

    /* Out: valid when done() runs. */
    int result;                 /* HASH: 0/-1; VERIFY: pw_verify's 0/1/-1; HASHPOOL_CANCELLED */
    bool rehashed;              /* VERIFY matched and new_hash holds the rehash */
    char new_hash[PW_HASH_MAX]; /* the password hashed again for scheme, at today's cost */

    /* Called once per submitted job, on a pool thread (or on the thread calling
     * hashpool_free for a cancelled job), after which the job is the caller's
     * again: done may free it. It must not block for long: it holds up hashing. */
    void (*done)(struct hash_job *job);
    void *ctx; /* the caller's, untouched by the pool */
};

/* Starts threads (1..HASHPOOL_MAX_THREADS) threads serving a queue of at most
 * max_queued waiting jobs (> 0). Returns NULL on bad arguments or when memory or
 * threads run out. Pool threads block all signals. Free with hashpool_free. */
struct hashpool *hashpool_new(unsigned threads, unsigned max_queued);

/* Queues job (op, scheme, password, password_len, hash, done set). Returns 0,
 * or -1 when the queue is full or the pool is shutting down; the job is then
 * still the caller's and done() will not be called. Thread-safe. */
int hashpool_submit(struct hashpool *pool, struct hash_job *job);

/* Stops accepting jobs, lets the ones already running finish, cancels the ones
 * still queued (result HASHPOOL_CANCELLED, done() called here, in queue order),
 * and joins the threads. Every submitted job gets exactly one done(). NULL-safe;
 * must not be called from a done() callback. */
void hashpool_free(struct hashpool *pool);

#endif
