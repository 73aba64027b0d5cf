/* worker: one thread, one epoll loop — watchers, timers, and items posted
 * from other threads — that knows nothing of what it runs.  The layer that
 * composes a worker (runtime.c: its HTTP server and its Redis connection)
 * plugs in through struct worker_hooks.  Everything of a connection stays
 * on its worker; other threads talk to a worker only through worker_post(). */
#ifndef CHATD_WORKER_H
#define CHATD_WORKER_H

#include <stdint.h>
#include <sys/socket.h>

struct timer;
struct worker;

/* How often the tick hook runs (worker_hooks.tick), about. */
#define WORKER_TICK_MS 200

/* A file descriptor in a worker's epoll; fn runs on the worker's thread
 * with the ready events.  Embed it in the object that owns the fd. */
struct watcher {
    int fd;
    uint32_t events; /* what is registered now */
    void (*fn)(struct watcher *, uint32_t events);
};

/* Work handed to a worker from another thread: run() is called on the
 * worker's thread, once, and owns the item from then on.  When the worker
 * is shutting down, run() is still called, with the worker stopping
 * (worker_stopping() true) so the item can fail cleanly. */
struct inbox_item {
    struct inbox_item *next;
    void (*run)(struct worker *, struct inbox_item *);
};

/* What a worker runs besides its watchers, timers and posted items.  Every
 * hook gets the worker's context and runs on the worker's thread (or, once
 * the thread is joined, on the thread shutting it down); any may be NULL. */
struct worker_hooks {
    /* The loop starts. */
    void (*start)(void *ctx, struct worker *w);
    /* Takes over an accepted socket (worker_add_socket).  -1 when it could
     * not; the fd is closed either way once handed over. */
    int (*adopt)(void *ctx, int fd, const struct sockaddr *addr, socklen_t len);
    /* How long the loop may sleep, at most cap milliseconds. */
    int (*timeout_ms)(void *ctx, int cap);
    /* After each round of events, deferred items and timers. */
    void (*after_round)(void *ctx);
    /* Every WORKER_TICK_MS or so. */
    void (*tick)(void *ctx, int64_t now_ms);
    /* worker_close, after the worker's connections are closed: fail what is
     * still pending. */
    void (*close)(void *ctx);
};

/* Creates worker number index (its epoll and eventfd) without starting its
 * thread; hooks (copied) and ctx are the composing layer's.  NULL on
 * failure (logged). */
struct worker *worker_new(unsigned index, const struct worker_hooks *hooks, void *ctx);

/* The ctx given to worker_new. */
void *worker_context(const struct worker *w);

/* Starts the worker's thread.  0, or -1 (logged). */
int worker_start(struct worker *w);

/* Shutdown, in this order, each step for every worker before the next
 * step (work may cross workers until the last one):
 *   worker_stop     asks the thread to stop (any thread, returns at once);
 *   worker_join     waits for it;
 *   worker_drain    runs what other threads handed over meanwhile; repeat
 *                   over all workers until none ran anything;
 *   worker_close    closes the listed connections, then calls the close
 *                   hook (pending Redis commands fail: their requests
 *                   answer 503);
 *   worker_free     frees the loop (what the hooks own is freed by their
 *                   layer before).  NULL-safe. */
void worker_stop(struct worker *w);
void worker_join(struct worker *w);
unsigned worker_drain(struct worker *w);
void worker_close(struct worker *w);
void worker_free(struct worker *w);

/* Runs item on the worker's thread once the current batch of events is
 * handled: an object whose fd may still have events in that batch is freed
 * this way.  Worker thread only. */
void worker_defer(struct worker *w, struct inbox_item *item);

/* A connection the worker owns outside libmicrohttpd (an upgraded
 * WebSocket): listed so that worker_close can close it. */
struct worker_conn {
    struct worker_conn *prev, *next;
    void (*close)(struct worker_conn *);
};
void worker_conn_add(struct worker *w, struct worker_conn *c);
void worker_conn_remove(struct worker *w, struct worker_conn *c);

/* Queues an item for the worker and wakes it.  Any thread. */
void worker_post(struct worker *w, struct inbox_item *item);

/* Hands an accepted socket to the worker's adopt hook (takes ownership of
 * fd).  Any thread.  -1 when out of memory (fd is then closed). */
int worker_add_socket(struct worker *w, int fd, const struct sockaddr *addr, socklen_t len);

/* The layer that adopted a socket tells the worker it is closed, with its
 * peer's address (NULL when unknown), so its slot in the per-address cap
 * is given back. */
void worker_socket_closed(struct worker *w, const struct sockaddr *addr);

/* The per-address counts the acceptor takes slots in (NULL: none); set
 * before the worker starts, outlives the worker's connections. */
struct addrcap;
void worker_set_addrcap(struct worker *w, struct addrcap *cap);

/* Sockets the worker holds now, handed over and not yet closed (any
 * thread; approximate). */
unsigned worker_load(const struct worker *w);

/* Rounds the worker's loop has turned (any thread).  A running loop turns
 * at least every WORKER_TICK_MS, busy or idle, so a count that stands
 * still for longer means a stuck loop. */
uint64_t worker_rounds(const struct worker *w);

unsigned worker_index(const struct worker *w);
int worker_stopping(const struct worker *w);

/* Registers or updates (events != 0) or removes (events == 0) a watcher
 * in the worker's epoll.  Worker thread only.  0 or -1. */
int worker_watch(struct worker *w, struct watcher *wt, uint32_t events);

/* Schedules (or moves) a timer of lib/timerheap.h on the worker's loop; it
 * fires on the worker's thread.  Worker thread only.  0, or -1 on OOM. */
int worker_timer_schedule(struct worker *w, struct timer *t, int64_t deadline_ms);
void worker_timer_cancel(struct worker *w, struct timer *t);

/* The worker whose thread this is, or NULL on any other thread. */
struct worker *worker_current(void);

/* Milliseconds of a monotonic clock. */
int64_t worker_now_ms(void);

#endif
