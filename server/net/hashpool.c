/* hashpool — a mutex, a condition variable and an intrusive FIFO.
 *
 * One lock guards the queue; it is never held while hashing or while calling
 * done(), so submit never waits behind a hash. */
#include "hashpool.h"

#include "log.h"

#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct hashpool {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a job was queued, or the pool is stopping */
    struct hash_job *head, *tail;
    unsigned queued, max_queued;
    bool stopping;
    unsigned nthreads; /* started, so joined by hashpool_free */
    pthread_t threads[];
};

/* The password is the one secret a job holds; it goes as soon as it is used. */
static void job_wipe(struct hash_job *job)
{
    sodium_memzero(job->password, sizeof job->password);
    job->password_len = 0;
}

static void job_run(struct hash_job *job)
{
    job->rehashed = false;
    job->new_hash[0] = '\0';
    job->result = -1;

    if (job->password_len > PW_PASSWORD_MAX) {
        /* refused: result stays -1 */
    } else if (job->op == HASH_JOB_HASH) {
        job->result = pw_hash(job->scheme, job->password, job->password_len, job->hash);
        if (job->result != 0)
            job->hash[0] = '\0';
    } else if (job->op == HASH_JOB_VERIFY && memchr(job->hash, '\0', sizeof job->hash) != NULL) {
        job->result = pw_verify(job->hash, job->password, job->password_len);
        /* The rehash (a legacy or weaker hash brought to today's cost) is
         * computed now, while the password is at hand, so it costs one trip
         * through the queue, not two. A failed rehash costs nothing but the
         * rehash: the login still succeeded. */
        if (job->result == 0 && pw_needs_rehash(job->hash, job->scheme))
            job->rehashed =
                pw_hash(job->scheme, job->password, job->password_len, job->new_hash) == 0;
    }
    job_wipe(job);
}

/* A hash is tens of milliseconds of CPU; an event loop's turn is
 * microseconds. Under contention the scheduler should run the loops first,
 * so a burst of logins slows other logins, not every chat message. Linux
 * applies a nice value to one thread (its tid) alone. */
#define HASH_THREAD_NICE 10

static void *hashpool_thread(void *arg)
{
    struct hashpool *pool = arg;

    if (setpriority(PRIO_PROCESS, (id_t)gettid(), HASH_THREAD_NICE) != 0)
        log_debug("hash thread: cannot lower its priority");

    for (;;) {
        pthread_mutex_lock(&pool->lock);
        while (pool->head == NULL && !pool->stopping)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->stopping) {
            /* hashpool_free took the queue: whatever is left is cancelled. */
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        struct hash_job *job = pool->head;
        pool->head = job->next;
        if (pool->head == NULL)
            pool->tail = NULL;
        pool->queued--;
        pthread_mutex_unlock(&pool->lock);

        job->next = NULL;
        job_run(job);
        job->done(job);
    }
}

struct hashpool *hashpool_new(unsigned threads, unsigned max_queued)
{
    if (threads == 0 || threads > HASHPOOL_MAX_THREADS || max_queued == 0)
        return NULL;

    struct hashpool *pool = calloc(1, sizeof *pool + threads * sizeof pool->threads[0]);
    if (pool == NULL)
        return NULL;
    if (pthread_mutex_init(&pool->lock, NULL) != 0) {
        free(pool);
        return NULL;
    }
    if (pthread_cond_init(&pool->wake, NULL) != 0) {
        pthread_mutex_destroy(&pool->lock);
        free(pool);
        return NULL;
    }
    pool->max_queued = max_queued;

    /* Threads inherit the creator's mask: block everything so signals reach the
     * thread main chose for them, never a thread busy hashing. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (pool->nthreads < threads) {
        pthread_t *t = &pool->threads[pool->nthreads];
        if (pthread_create(t, NULL, hashpool_thread, pool) != 0)
            break;
        pthread_setname_np(*t, "chatd-hash"); /* for top -H and gdb; may fail */
        pool->nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    if (pool->nthreads < threads) {
        hashpool_free(pool); /* joins the threads that did start */
        return NULL;
    }
    return pool;
}

int hashpool_submit(struct hashpool *pool, struct hash_job *job)
{
    if (job->done == NULL)
        return -1; /* nobody would ever get the job back */

    pthread_mutex_lock(&pool->lock);
    if (pool->stopping || pool->queued >= pool->max_queued) {
        pthread_mutex_unlock(&pool->lock);
        return -1;
    }
    job->next = NULL;
    if (pool->tail != NULL)
        pool->tail->next = job;
    else
        pool->head = job;
    pool->tail = job;
    pool->queued++;
    pthread_cond_signal(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

void hashpool_free(struct hashpool *pool)
{
    if (pool == NULL)
        return;

    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    struct hash_job *cancelled = pool->head;
    pool->head = pool->tail = NULL;
    pool->queued = 0;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);

    /* Outside the lock: done() may do anything but call back into the pool. */
    while (cancelled != NULL) {
        struct hash_job *job = cancelled;
        cancelled = job->next;
        job->next = NULL;
        job_wipe(job);
        job->rehashed = false;
        job->result = HASHPOOL_CANCELLED;
        job->done(job);
    }

    for (unsigned i = 0; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}
