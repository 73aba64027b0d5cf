/* sdnotify: systemd's notify protocol (see sdnotify.h). */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

struct sdnotify {
    int fd;
    struct sockaddr_un addr;
    socklen_t addr_len;
    int64_t watchdog_ms;
};

/* NOTIFY_SOCKET as an address: a path, or '@' for an abstract name (whose
 * first byte is NUL, and whose length is exact: no terminating NUL).  0, or
 * -1 when it cannot be one. */
static int notify_address(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
    size_t n = strlen(name);
    if (n < 2 || n > sizeof sa->sun_path - (name[0] == '@' ? 0 : 1) ||
        (name[0] != '/' && name[0] != '@'))
        return -1;
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, name, n);
    if (name[0] == '@')
        sa->sun_path[0] = '\0';
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '@' ? 0 : 1));
    return 0;
}

/* A positive decimal number of at most 18 digits, or -1. */
static int64_t parse_positive(const char *s)
{
    if (!s || !*s || strlen(s) > 18)
        return -1;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v > 0 ? v : -1;
}

/* WATCHDOG_USEC in ms when the watchdog is this process's, else 0. */
static int64_t watchdog_from_env(void)
{
    const char *usec = getenv("WATCHDOG_USEC");
    if (!usec || !*usec)
        return 0;
    int64_t us = parse_positive(usec);
    if (us < 0) {
        log_warn("sdnotify: WATCHDOG_USEC %.32s is not a number of microseconds: no watchdog",
                 usec);
        return 0;
    }
    const char *pid = getenv("WATCHDOG_PID");
    if (pid && *pid && parse_positive(pid) != (int64_t)getpid())
        return 0; /* another process's watchdog */
    return us / 1000 > 0 ? us / 1000 : 1;
}

struct sdnotify *sdnotify_open(void)
{
    const char *name = getenv("NOTIFY_SOCKET");
    if (!name || !*name)
        return NULL;
    struct sdnotify *n = calloc(1, sizeof *n);
    if (!n) {
        log_error("sdnotify: out of memory: systemd will not hear from chatd");
        return NULL;
    }
    if (notify_address(name, &n->addr, &n->addr_len) < 0) {
        log_error("sdnotify: NOTIFY_SOCKET %.120s is neither an absolute path nor an abstract "
                  "@name that fits a Unix socket address",
                  name);
        free(n);
        return NULL;
    }
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (n->fd < 0) {
        log_error("sdnotify: socket: %s", strerror(errno));
        free(n);
        return NULL;
    }
    n->watchdog_ms = watchdog_from_env();
    return n;
}

int64_t sdnotify_watchdog_ms(const struct sdnotify *n)
{
    return n ? n->watchdog_ms : 0;
}

void sdnotify_send(struct sdnotify *n, const char *state)
{
    if (!n)
        return;
    ssize_t sent = sendto(n->fd, state, strlen(state), MSG_NOSIGNAL,
                          (const struct sockaddr *)&n->addr, n->addr_len);
    if (sent < 0)
        log_warn("sdnotify: cannot tell systemd %.40s: %s", state, strerror(errno));
}

void sdnotify_close(struct sdnotify *n)
{
    if (!n)
        return;
    close(n->fd);
    free(n);
}
