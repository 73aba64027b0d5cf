/* sentinel: finds and follows the Redis master (see sentinel.h). */
#include "sentinel.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "metrics.h"

/* Every server is on a LAN or loopback: a second is plenty, and bounds how
 * long one dead Sentinel delays asking the next. */
#define QUERY_TIMEOUT_MS 1000
/* While no master is confirmed (a failover under way), ask this often. */
#define RETRY_MS 250
/* Asked again this often anyway: a +switch-master sent while this thread
 * was not subscribed would otherwise go unnoticed. */
#define RECHECK_MS 5000
#define SWITCH_CHANNEL "+switch-master"

struct sentinel {
    const struct config *cfg;
    pthread_t thread;
    int wake_fd; /* eventfd: sentinel_suspect, and stop */
    atomic_bool stopping;
    size_t next;        /* the Sentinel to ask first: the last that answered */
    bool warned_silent; /* "no Sentinel answers" logged once per outage */
};

/* The current answer, shared by every thread. */
static pthread_mutex_t answer_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sentinel_addr answer;
static bool answer_known;
static atomic_uint answer_generation;
static atomic_int suspect_fd = -1; /* the running thread's wake_fd, -1 when none */

bool sentinel_enabled(void)
{
    return atomic_load(&suspect_fd) >= 0;
}

unsigned sentinel_generation(void)
{
    return atomic_load(&answer_generation);
}

bool sentinel_master(const struct config *cfg, struct sentinel_addr *out)
{
    if (cfg->n_sentinels == 0) {
        snprintf(out->host, sizeof out->host, "%s", cfg->redis.host);
        out->port = cfg->redis.port;
        out->generation = 0;
        return true;
    }
    pthread_mutex_lock(&answer_lock);
    bool known = answer_known;
    if (known)
        *out = answer;
    pthread_mutex_unlock(&answer_lock);
    return known;
}

void sentinel_suspect(void)
{
    int fd = atomic_load(&suspect_fd);
    uint64_t one = 1;
    if (fd >= 0 && write(fd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_warn("sentinel: cannot wake: %s", strerror(errno));
}

/* Publishes an answer (known = false: no master now), bumping the
 * generation when it changed. */
static void publish_answer(bool known, const char *host, unsigned port)
{
    pthread_mutex_lock(&answer_lock);
    bool changed =
        known != answer_known || (known && (port != answer.port || strcmp(host, answer.host) != 0));
    if (changed) {
        answer_known = known;
        if (known) {
            snprintf(answer.host, sizeof answer.host, "%s", host);
            answer.port = port;
        }
        answer.generation = atomic_fetch_add(&answer_generation, 1) + 1;
    }
    pthread_mutex_unlock(&answer_lock);
    if (changed && known)
        log_info("sentinel: the Redis master is %s:%u", host, port);
    else if (changed)
        log_warn("sentinel: no Redis master confirmed; waiting for the Sentinels");
    if (changed)
        metrics_inc(METRICS_REDIS_MASTER_CHANGES);
}

/* ---- asking ------------------------------------------------------------------ */

static bool reply_ok(redisReply *r)
{
    bool ok = r && r->type != REDIS_REPLY_ERROR;
    freeReplyObject(r);
    return ok;
}

/* A connection with timeouts, authenticated (user may be ""; password ""
 * for none).  NULL when unreachable or refused. */
static redisContext *connect_to(const char *host, unsigned port, const char *user,
                                const char *password)
{
    struct timeval tv = {.tv_sec = QUERY_TIMEOUT_MS / 1000,
                         .tv_usec = (QUERY_TIMEOUT_MS % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(host, (int)port, tv);
    if (!c || c->err) {
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    bool ok = true;
    if (user[0])
        ok = reply_ok(redisCommand(c, "AUTH %s %s", user, password));
    else if (password[0])
        ok = reply_ok(redisCommand(c, "AUTH %s", password));
    if (!ok) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* What Sentinel i names as master: false when it cannot say. */
static bool ask_one(const struct config *cfg, size_t i, char *host, size_t n, unsigned *port)
{
    const struct config_sentinel *sn = &cfg->sentinels[i];
    redisContext *c = connect_to(sn->host, sn->port, "", cfg->sentinel_password);
    if (!c)
        return false;
    redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", cfg->master_name);
    bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
              r->element[0]->type == REDIS_REPLY_STRING &&
              r->element[1]->type == REDIS_REPLY_STRING && r->element[0]->len < n;
    char *end = NULL;
    unsigned long p = ok ? strtoul(r->element[1]->str, &end, 10) : 0;
    ok = ok && end && *end == '\0' && p > 0 && p <= 65535;
    if (ok) {
        memcpy(host, r->element[0]->str, r->element[0]->len + 1);
        *port = (unsigned)p;
    }
    freeReplyObject(r);
    redisFree(c);
    return ok;
}

/* Whether host:port says it is a master (ROLE): a demoted master that has
 * not heard of the failover yet would take writes that the new one never
 * sees. */
static bool is_master(const struct config *cfg, const char *host, unsigned port)
{
    redisContext *c = connect_to(host, port, cfg->redis.username, cfg->redis.password);
    if (!c)
        return false;
    redisReply *r = redisCommand(c, "ROLE");
    bool master = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                  r->element[0]->type == REDIS_REPLY_STRING &&
                  strcmp(r->element[0]->str, "master") == 0;
    freeReplyObject(r);
    redisFree(c);
    return master;
}

/* Whether the master last published still says it is one. */
static bool current_still_master(const struct config *cfg)
{
    struct sentinel_addr now;
    return sentinel_master(cfg, &now) && is_master(cfg, now.host, now.port);
}

/* Asks each Sentinel in turn for a master that confirms it is one, and
 * publishes the answer.  Returns whether one was found.  When no Sentinel
 * answers at all, the last answer stands: the Sentinels being away says
 * nothing of the master. */
static bool resolve(struct sentinel *s)
{
    const struct config *cfg = s->cfg;
    char host[CONFIG_HOST_MAX + 1];
    unsigned port;
    bool answered = false;
    for (size_t k = 0; k < cfg->n_sentinels; k++) {
        size_t i = (s->next + k) % cfg->n_sentinels;
        if (!ask_one(cfg, i, host, sizeof host, &port))
            continue;
        answered = true;
        if (!is_master(cfg, host, port)) {
            log_debug("sentinel: %s:%u is not a master (yet)", host, port);
            continue;
        }
        s->next = i;
        s->warned_silent = false;
        publish_answer(true, host, port);
        return true;
    }
    /* No Sentinel named a confirmed master (a stale one, a master just
     * killed): the master in use stays while it still says it is one, so
     * a Sentinel that lags does not cut every connection. */
    if (answered && !current_still_master(cfg))
        publish_answer(false, NULL, 0);
    else if (!s->warned_silent)
        log_warn("sentinel: no Sentinel answers");
    s->warned_silent = !answered;
    return false;
}

/* ---- following ------------------------------------------------------------- */

/* A connection to a Sentinel in SUBSCRIBE +switch-master, NULL when none
 * answers. */
static redisContext *subscribe_switch(struct sentinel *s)
{
    const struct config *cfg = s->cfg;
    for (size_t k = 0; k < cfg->n_sentinels; k++) {
        const struct config_sentinel *sn = &cfg->sentinels[(s->next + k) % cfg->n_sentinels];
        redisContext *c = connect_to(sn->host, sn->port, "", cfg->sentinel_password);
        if (!c)
            continue;
        redisReply *r = redisCommand(c, "SUBSCRIBE " SWITCH_CHANNEL);
        bool ok = r && r->type == REDIS_REPLY_ARRAY;
        freeReplyObject(r);
        if (ok) {
            redisSetTimeout(c, (struct timeval){0}); /* reads follow poll() */
            return c;
        }
        redisFree(c);
    }
    return NULL;
}

/* Reads what the subscription has: true when it announced a switch of our
 * master; frees *c and clears it when the connection failed. */
static bool read_switch(const struct config *cfg, redisContext **c)
{
    bool switched = false;
    if (redisBufferRead(*c) != REDIS_OK) {
        redisFree(*c);
        *c = NULL;
        return true; /* whatever happened meanwhile, ask */
    }
    void *reply;
    size_t name_len = strlen(cfg->master_name);
    while (redisGetReplyFromReader(*c, &reply) == REDIS_OK && reply) {
        redisReply *r = reply;
        /* ["message", "+switch-master", "<name> <old ip> <old port> <new ip> <new port>"] */
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
            r->element[2]->type == REDIS_REPLY_STRING &&
            strncmp(r->element[2]->str, cfg->master_name, name_len) == 0 &&
            r->element[2]->str[name_len] == ' ') {
            log_info("sentinel: %s %s", SWITCH_CHANNEL, r->element[2]->str);
            switched = true;
        }
        freeReplyObject(reply);
    }
    return switched;
}

static void drain(int fd)
{
    uint64_t v;
    ssize_t n = read(fd, &v, sizeof v);
    (void)n;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *sentinel_main(void *arg)
{
    struct sentinel *s = arg;
    log_set_thread_name("sentinel");
    redisContext *sub = NULL;
    bool known = true; /* sentinel_start resolved once */
    bool warned = false;
    int64_t recheck_at = now_ms() + RECHECK_MS;
    while (!atomic_load(&s->stopping)) {
        if (!sub && !(sub = subscribe_switch(s)) && !warned) {
            log_warn("sentinel: cannot subscribe to %s on any Sentinel; retrying", SWITCH_CHANNEL);
            warned = true;
        } else if (sub) {
            warned = false;
        }
        /* Without a master or a subscription, retry soon; else sleep until
         * the periodic check, or until woken. */
        int64_t wait_ms = !known || !sub ? RETRY_MS : recheck_at - now_ms();
        struct pollfd fds[2] = {{.fd = s->wake_fd, .events = POLLIN},
                                {.fd = sub ? sub->fd : -1, .events = POLLIN}};
        int n = poll(fds, 2, wait_ms < 0 ? 0 : (int)wait_ms);
        if (n < 0 && errno != EINTR)
            break;
        if (atomic_load(&s->stopping))
            break;
        bool ask = !known || now_ms() >= recheck_at;
        if (n > 0 && fds[0].revents) {
            drain(s->wake_fd);
            ask = true;
        }
        if (n > 0 && fds[1].revents && read_switch(s->cfg, &sub))
            ask = true;
        if (ask) {
            known = resolve(s);
            recheck_at = now_ms() + RECHECK_MS;
        }
    }
    redisFree(sub);
    return NULL;
}

struct sentinel *sentinel_start(const struct config *cfg)
{
    if (cfg->n_sentinels == 0)
        return NULL;
    struct sentinel *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = cfg;
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->wake_fd < 0) {
        log_error("sentinel: eventfd: %s", strerror(errno));
        free(s);
        return NULL;
    }
    if (!resolve(s))
        log_warn("sentinel: no Sentinel named a master %s yet; serving 503 until one does",
                 cfg->master_name);
    int rc = pthread_create(&s->thread, NULL, sentinel_main, s);
    if (rc) {
        log_error("sentinel: cannot start: %s", strerror(rc));
        close(s->wake_fd);
        free(s);
        return NULL;
    }
    atomic_store(&suspect_fd, s->wake_fd);
    return s;
}

void sentinel_stop(struct sentinel *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, true);
    uint64_t one = 1;
    ssize_t n = write(s->wake_fd, &one, sizeof one);
    (void)n;
    pthread_join(s->thread, NULL);
    atomic_store(&suspect_fd, -1);
    close(s->wake_fd);
    free(s);
}
