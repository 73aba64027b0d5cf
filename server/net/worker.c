/* worker: one thread, one epoll loop (see worker.h). */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "addrcap.h"
#include "log.h"
#include "timerheap.h"

#define MAX_EVENTS 128

struct worker {
    struct worker_hooks hooks;
    void *ctx;
    unsigned index;
    pthread_t thread;
    bool started;
    int epfd;
    struct watcher wake; /* eventfd: the inbox has items */
    struct timerheap timers;
    atomic_bool stop;
    atomic_uint load;
    atomic_uint_fast64_t rounds; /* turns of the loop: the watchdog's sign of life */
    struct addrcap *addrcap; /* the acceptor's per-address counts; NULL: none */

    pthread_mutex_t inbox_lock;
    struct inbox_item *inbox_head, *inbox_tail;

    struct inbox_item *deferred; /* worker thread only */
    struct worker_conn conns;    /* list head; worker thread only */
};

/* An accepted socket on its way to a worker. */
struct new_socket {
    struct inbox_item item;
    int fd;
    socklen_t len;
    struct sockaddr_storage addr;
};

static _Thread_local struct worker *current;

struct worker *worker_current(void)
{
    return current;
}

int64_t worker_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void *worker_context(const struct worker *w)
{
    return w->ctx;
}
unsigned worker_index(const struct worker *w)
{
    return w->index;
}
int worker_stopping(const struct worker *w)
{
    return atomic_load(&w->stop);
}
unsigned worker_load(const struct worker *w)
{
    return atomic_load_explicit(&w->load, memory_order_relaxed);
}
uint64_t worker_rounds(const struct worker *w)
{
    return atomic_load_explicit(&w->rounds, memory_order_relaxed);
}

int worker_watch(struct worker *w, struct watcher *wt, uint32_t events)
{
    int op = events ? (wt->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD) : EPOLL_CTL_DEL;
    if (!events && !wt->events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = wt};
    if (epoll_ctl(w->epfd, op, wt->fd, &ev) < 0)
        return -1;
    wt->events = events;
    return 0;
}

int worker_timer_schedule(struct worker *w, struct timer *t, int64_t deadline_ms)
{
    return timerheap_schedule(&w->timers, t, deadline_ms);
}

void worker_timer_cancel(struct worker *w, struct timer *t)
{
    timerheap_cancel(&w->timers, t);
}

/* ---- inbox ----------------------------------------------------------- */

void worker_post(struct worker *w, struct inbox_item *item)
{
    item->next = NULL;
    pthread_mutex_lock(&w->inbox_lock);
    bool was_empty = !w->inbox_head;
    if (w->inbox_tail)
        w->inbox_tail->next = item;
    else
        w->inbox_head = item;
    w->inbox_tail = item;
    pthread_mutex_unlock(&w->inbox_lock);
    /* One wake-up per batch: the loop drains the whole list. */
    if (was_empty) {
        uint64_t one = 1;
        ssize_t n = write(w->wake.fd, &one, sizeof one);
        (void)n; /* EAGAIN means the counter is already non-zero: awake */
    }
}

static unsigned drain_inbox(struct worker *w)
{
    unsigned n = 0;
    pthread_mutex_lock(&w->inbox_lock);
    struct inbox_item *item = w->inbox_head;
    w->inbox_head = w->inbox_tail = NULL;
    pthread_mutex_unlock(&w->inbox_lock);
    while (item) {
        struct inbox_item *next = item->next;
        item->run(w, item);
        item = next;
        n++;
    }
    return n;
}

void worker_defer(struct worker *w, struct inbox_item *item)
{
    item->next = w->deferred;
    w->deferred = item;
}

static unsigned run_deferred(struct worker *w)
{
    unsigned n = 0;
    while (w->deferred) {
        struct inbox_item *item = w->deferred;
        w->deferred = item->next;
        item->run(w, item);
        n++;
    }
    return n;
}

void worker_conn_add(struct worker *w, struct worker_conn *c)
{
    c->next = w->conns.next;
    c->prev = &w->conns;
    w->conns.next->prev = c;
    w->conns.next = c;
}

void worker_conn_remove(struct worker *w, struct worker_conn *c)
{
    (void)w;
    if (!c->next)
        return;
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

static void on_wake(struct watcher *wt, uint32_t events)
{
    struct worker *w = (struct worker *)((char *)wt - offsetof(struct worker, wake));
    uint64_t count;
    ssize_t n = read(wt->fd, &count, sizeof count);
    (void)n;
    (void)events;
    drain_inbox(w);
}

static void run_new_socket(struct worker *w, struct inbox_item *item)
{
    struct new_socket *ns = (struct new_socket *)item;
    if (worker_stopping(w) || !w->hooks.adopt) {
        close(ns->fd);
        worker_socket_closed(w, (struct sockaddr *)&ns->addr);
    } else if (w->hooks.adopt(w->ctx, ns->fd, (struct sockaddr *)&ns->addr, ns->len) < 0) {
        worker_socket_closed(w, (struct sockaddr *)&ns->addr);
    }
    free(ns);
}

int worker_add_socket(struct worker *w, int fd, const struct sockaddr *addr, socklen_t len)
{
    struct new_socket *ns = malloc(sizeof *ns);
    if (!ns || len > sizeof ns->addr) {
        free(ns);
        close(fd);
        return -1;
    }
    ns->item.run = run_new_socket;
    ns->fd = fd;
    ns->len = len;
    memcpy(&ns->addr, addr, len);
    atomic_fetch_add(&w->load, 1);
    worker_post(w, &ns->item);
    return 0;
}

void worker_socket_closed(struct worker *w, const struct sockaddr *addr)
{
    atomic_fetch_sub(&w->load, 1);
    if (addr)
        addrcap_release(w->addrcap, addr);
}

void worker_set_addrcap(struct worker *w, struct addrcap *cap)
{
    w->addrcap = cap;
}

/* ---- loop ------------------------------------------------------------ */

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event events[MAX_EVENTS];
    char name[32];
    snprintf(name, sizeof name, "worker %u", w->index);
    log_set_thread_name(name);
    current = w;
    if (w->hooks.start)
        w->hooks.start(w->ctx, w);
    int64_t next_tick = 0;
    while (!atomic_load(&w->stop)) {
        int64_t now = worker_now_ms();
        int timeout =
            w->hooks.timeout_ms ? w->hooks.timeout_ms(w->ctx, WORKER_TICK_MS) : WORKER_TICK_MS;
        int64_t due = timerheap_next(&w->timers);
        if (due > next_tick)
            due = next_tick;
        if (due - now < timeout)
            timeout = due > now ? (int)(due - now) : 0;
        int n = epoll_wait(w->epfd, events, MAX_EVENTS, timeout);
        if (n < 0 && errno != EINTR) {
            log_error("worker %u: epoll_wait: %s", w->index, strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            struct watcher *wt = events[i].data.ptr;
            wt->fn(wt, events[i].events);
        }
        run_deferred(w);
        now = worker_now_ms();
        timerheap_run(&w->timers, now);
        if (now >= next_tick) {
            if (w->hooks.tick)
                w->hooks.tick(w->ctx, now);
            next_tick = now + WORKER_TICK_MS;
        }
        if (w->hooks.after_round)
            w->hooks.after_round(w->ctx);
        atomic_fetch_add_explicit(&w->rounds, 1, memory_order_relaxed);
    }
    return NULL;
}

struct worker *worker_new(unsigned index, const struct worker_hooks *hooks, void *ctx)
{
    struct worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->hooks = *hooks;
    w->ctx = ctx;
    w->index = index;
    w->wake.fd = -1;
    w->conns.next = w->conns.prev = &w->conns;
    timerheap_init(&w->timers);
    pthread_mutex_init(&w->inbox_lock, NULL);
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->wake.fn = on_wake;
    if (w->epfd < 0 || w->wake.fd < 0 || worker_watch(w, &w->wake, EPOLLIN) < 0) {
        log_error("worker %u: %s", index, strerror(errno));
        worker_free(w);
        return NULL;
    }
    return w;
}

int worker_start(struct worker *w)
{
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    if (rc) {
        log_error("worker %u: pthread_create: %s", w->index, strerror(rc));
        return -1;
    }
    w->started = true;
    return 0;
}

void worker_stop(struct worker *w)
{
    atomic_store(&w->stop, true);
    uint64_t one = 1;
    ssize_t n = write(w->wake.fd, &one, sizeof one);
    (void)n;
}

void worker_join(struct worker *w)
{
    if (w->started)
        pthread_join(w->thread, NULL);
    w->started = false;
    atomic_store(&w->stop, true);
}

/* From here on the thread is gone and the caller runs everything,
 * single-threaded. */
unsigned worker_drain(struct worker *w)
{
    unsigned n = drain_inbox(w);
    return n + run_deferred(w);
}

void worker_close(struct worker *w)
{
    while (w->conns.next != &w->conns) {
        struct worker_conn *c = w->conns.next;
        worker_conn_remove(w, c);
        c->close(c);
    }
    run_deferred(w);
    if (w->hooks.close)
        w->hooks.close(w->ctx);
    w->hooks.close = NULL; /* once */
    worker_drain(w);
}

void worker_free(struct worker *w)
{
    if (!w)
        return;
    worker_join(w);
    if (w->wake.fd >= 0)
        worker_drain(w);
    worker_close(w);
    timerheap_free(&w->timers);
    if (w->wake.fd >= 0)
        close(w->wake.fd);
    if (w->epfd >= 0)
        close(w->epfd);
    pthread_mutex_destroy(&w->inbox_lock);
    free(w);
}
