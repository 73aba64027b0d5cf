/* acceptor: accept4() loop handing sockets to workers (see acceptor.h). */
#include "acceptor.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addrcap.h"
#include "config.h"
#include "log.h"
#include "worker.h"

#define LISTEN_BACKLOG 4096
/* Out of file descriptors: pause accepting this long rather than spin. */
#define EMFILE_PAUSE_MS 100

struct acceptor {
    unsigned max_connections;
    struct addrcap *per_addr;
    struct worker *const *workers;
    unsigned nworkers;
    int fd;
    int stop_fd;
    pthread_t thread;
    bool started;
};

static int listen_socket(const struct config *cfg)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->bind, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)cfg->port);
        len = sizeof *in4;
    } else if (inet_pton(AF_INET6, cfg->bind, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)cfg->port);
        len = sizeof *in6;
    } else {
        log_error("invalid BIND address %s", cfg->bind);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error("socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        log_error("cannot listen on %s port %u: %s", cfg->bind, cfg->port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

struct acceptor *acceptor_new(const struct config *cfg, struct addrcap *per_addr)
{
    struct acceptor *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->max_connections = cfg->max_connections;
    a->per_addr = per_addr;
    a->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    a->fd = listen_socket(cfg);
    if (a->fd < 0 || a->stop_fd < 0) {
        acceptor_free(a);
        return NULL;
    }
    return a;
}

/* The least-loaded worker, and the sockets all workers hold (*total). */
static struct worker *least_loaded(const struct acceptor *a, unsigned *total)
{
    struct worker *best = a->workers[0];
    unsigned best_load = worker_load(best);
    *total = best_load;
    for (unsigned i = 1; i < a->nworkers; i++) {
        unsigned load = worker_load(a->workers[i]);
        *total += load;
        if (load < best_load) {
            best = a->workers[i];
            best_load = load;
        }
    }
    return best;
}

static void *accept_main(void *arg)
{
    struct acceptor *a = arg;
    struct pollfd pfd[2] = {{.fd = a->fd, .events = POLLIN}, {.fd = a->stop_fd, .events = POLLIN}};
    for (;;) {
        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            break;
        if (pfd[1].revents)
            break;
        for (;;) {
            struct sockaddr_storage ss;
            socklen_t len = sizeof ss;
            int fd = accept4(a->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE) {
                    log_warn("accept: %s; pausing", strerror(errno));
                    poll(NULL, 0, EMFILE_PAUSE_MS);
                }
                break; /* EAGAIN, or a transient error: back to poll */
            }
            unsigned total;
            struct worker *w = least_loaded(a, &total);
            if (total >= a->max_connections) {
                close(fd); /* over capacity: refuse rather than degrade everyone */
                continue;
            }
            if (a->per_addr && !addrcap_take(a->per_addr, (struct sockaddr *)&ss)) {
                close(fd); /* one address may not take every slot */
                continue;
            }
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            worker_add_socket(w, fd, (struct sockaddr *)&ss, len);
        }
    }
    return NULL;
}

int acceptor_start(struct acceptor *a, struct worker *const *workers, unsigned nworkers)
{
    a->workers = workers;
    a->nworkers = nworkers;
    for (unsigned i = 0; i < nworkers; i++)
        worker_set_addrcap(workers[i], a->per_addr);
    int rc = pthread_create(&a->thread, NULL, accept_main, a);
    if (rc) {
        log_error("acceptor: pthread_create: %s", strerror(rc));
        return -1;
    }
    a->started = true;
    return 0;
}

void acceptor_free(struct acceptor *a)
{
    if (!a)
        return;
    if (a->started) {
        uint64_t one = 1;
        ssize_t n = write(a->stop_fd, &one, sizeof one);
        (void)n;
        pthread_join(a->thread, NULL);
    }
    if (a->fd >= 0)
        close(a->fd);
    if (a->stop_fd >= 0)
        close(a->stop_fd);
    free(a);
}
