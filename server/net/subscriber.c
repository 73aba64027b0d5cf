/* subscriber: one thread in SUBSCRIBE (see subscriber.h). */
#include "subscriber.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "redis_sync.h"
#include "sentinel.h"

#define CONNECT_TIMEOUT_S 3
#define RETRY_MIN_MS 100
/* Short: while unsubscribed this server refuses chat messages. */
#define RETRY_MAX_MS 500
/* How often a quiet subscription checks whether the master moved. */
#define MASTER_CHECK_MS 100

struct subscriber {
    const struct config *cfg;
    const char *channels[SUBSCRIBER_CHANNELS_MAX];
    size_t nchannels;
    subscriber_fn *fn;
    subscriber_resume_fn *resume;
    void *ctx;
    pthread_t thread;
    int stop_fd;
    atomic_bool listening;
};

bool subscriber_listening(const struct subscriber *s)
{
    return s && atomic_load(&((struct subscriber *)s)->listening);
}

static redisContext *subscribe(struct subscriber *s)
{
    redisContext *c = redis_sync_connect(s->cfg, CONNECT_TIMEOUT_S, NULL);
    if (!c)
        return NULL;
    /* SUBSCRIBE answers with a confirmation array per channel. */
    const char *argv[1 + SUBSCRIBER_CHANNELS_MAX] = {"SUBSCRIBE"};
    for (size_t i = 0; i < s->nchannels; i++)
        argv[1 + i] = s->channels[i];
    redisReply *r = redisCommandArgv(c, (int)(1 + s->nchannels), argv, NULL);
    bool ok = r && r->type == REDIS_REPLY_ARRAY;
    for (size_t i = 1; ok && i < s->nchannels; i++) {
        freeReplyObject(r);
        r = NULL;
        ok = redisGetReply(c, (void **)&r) == REDIS_OK && r && r->type == REDIS_REPLY_ARRAY;
    }
    freeReplyObject(r);
    if (!ok) {
        redisFree(c);
        return NULL;
    }
    /* From now on reads are driven by poll(): no socket timeout. */
    redisSetTimeout(c, (struct timeval){0});
    return c;
}

/* Handles one pushed reply: ["message", channel, payload]. */
static void deliver(struct subscriber *s, redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "message") != 0 ||
        r->element[1]->type != REDIS_REPLY_STRING || r->element[2]->type != REDIS_REPLY_STRING)
        return;
    for (size_t i = 0; i < s->nchannels; i++)
        if (strcmp(r->element[1]->str, s->channels[i]) == 0)
            s->fn(s->ctx, s->channels[i], r->element[2]->str, r->element[2]->len);
}

/* Reads and delivers until the connection fails, the master moves
 * (generation: sentinel_generation() when it connected) or stop is asked.
 * Returns true when stopping. */
/* Hands over the messages hiredis has read already. */
static void deliver_buffered(struct subscriber *s, redisContext *c)
{
    void *reply;
    while (redisGetReplyFromReader(c, &reply) == REDIS_OK && reply) {
        deliver(s, reply);
        freeReplyObject(reply);
    }
}

static bool listen_until_error(struct subscriber *s, redisContext *c, unsigned generation)
{
    struct pollfd fds[2] = {{.fd = c->fd, .events = POLLIN}, {.fd = s->stop_fd, .events = POLLIN}};
    /* Some may have come with SUBSCRIBE's answers: poll() would not wake. */
    deliver_buffered(s, c);
    for (;;) {
        int n = poll(fds, 2, sentinel_enabled() ? MASTER_CHECK_MS : -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        if (fds[1].revents)
            return true;
        if (sentinel_generation() != generation) {
            log_info("subscriber: the Redis master moved; following it");
            return false;
        }
        if (n == 0)
            continue;
        if (redisBufferRead(c) != REDIS_OK)
            return false;
        deliver_buffered(s, c);
        if (c->err)
            return false;
    }
}

static bool sleep_or_stop(struct subscriber *s, int ms)
{
    struct pollfd pfd = {.fd = s->stop_fd, .events = POLLIN};
    return poll(&pfd, 1, ms) > 0;
}

static void *subscriber_main(void *arg)
{
    struct subscriber *s = arg;
    log_set_thread_name("subscriber");
    int retry_ms = RETRY_MIN_MS;
    bool warned = false;
    for (;;) {
        unsigned generation = sentinel_generation();
        redisContext *c = subscribe(s);
        if (!c) {
            if (!warned)
                log_warn("subscriber: cannot subscribe to %s; retrying", s->channels[0]);
            warned = true;
            if (sleep_or_stop(s, retry_ms))
                return NULL;
            retry_ms = retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : retry_ms * 2;
            continue;
        }
        /* Subscribed: what is published from now on arrives, and waits in
         * the connection while the resume callback reads what came before. */
        if (s->resume && s->resume(s->ctx) < 0) {
            redisFree(c);
            if (!warned)
                log_warn("subscriber: cannot catch up on %s; retrying", s->channels[0]);
            warned = true;
            if (sleep_or_stop(s, retry_ms))
                return NULL;
            continue;
        }
        if (warned)
            log_info("subscriber: listening on %s again", s->channels[0]);
        warned = false;
        retry_ms = RETRY_MIN_MS;
        atomic_store(&s->listening, true);
        bool stopping = listen_until_error(s, c, generation);
        atomic_store(&s->listening, false);
        if (!stopping && c->err) { /* else the master moved: follow it at once */
            sentinel_suspect();
            metrics_inc(METRICS_REDIS_ERRORS);
            log_warn("subscriber: connection lost: %s", c->errstr[0] ? c->errstr : "closed");
            warned = true;
        }
        redisFree(c);
        if (stopping)
            return NULL;
    }
}

struct subscriber *subscriber_start(const struct config *cfg, const char *const *channels,
                                    subscriber_fn *fn, subscriber_resume_fn *resume, void *ctx)
{
    struct subscriber *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = cfg;
    s->fn = fn;
    s->resume = resume;
    s->ctx = ctx;
    while (channels[s->nchannels] && s->nchannels < SUBSCRIBER_CHANNELS_MAX) {
        s->channels[s->nchannels] = channels[s->nchannels];
        s->nchannels++;
    }
    if (!s->nchannels || channels[s->nchannels]) {
        log_error("subscriber: between 1 and %d channels", SUBSCRIBER_CHANNELS_MAX);
        free(s);
        return NULL;
    }
    s->stop_fd = eventfd(0, EFD_CLOEXEC);
    int rc = s->stop_fd < 0 ? -1 : pthread_create(&s->thread, NULL, subscriber_main, s);
    if (rc) {
        log_error("subscriber: cannot start: %s", strerror(rc < 0 ? errno : rc));
        if (s->stop_fd >= 0)
            close(s->stop_fd);
        free(s);
        return NULL;
    }
    return s;
}

void subscriber_stop(struct subscriber *s)
{
    if (!s)
        return;
    uint64_t one = 1;
    ssize_t n = write(s->stop_fd, &one, sizeof one);
    (void)n;
    pthread_join(s->thread, NULL);
    close(s->stop_fd);
    free(s);
}
