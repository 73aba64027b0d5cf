/* log — format the whole line in a stack buffer, then one write(2).
 *
 * write(2) rather than stdio: a single write of at most PIPE_BUF bytes is atomic
 * on pipes, which is what keeps lines whole across threads and processes, and it
 * takes no FILE lock that a signal handler or a stuck terminal could hold.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

_Static_assert(LOG_LINE_MAX <= 4096, "a log line must fit in PIPE_BUF to stay atomic");

/* write(2) may be interrupted or cut short; retry a bounded number of times
 * rather than spin on a descriptor that stopped accepting bytes. */
#define LOG_WRITE_TRIES 8

/* Marks a message cut to fit the line. */
#define LOG_ELLIPSIS "..."

static atomic_int log_level_now = LOG_LEVEL_INFO;
static atomic_int log_fd = STDERR_FILENO;
static _Thread_local char log_thread_name[LOG_THREAD_NAME_MAX + 1];

static const char *const level_names[] = {
    [LOG_LEVEL_ERROR] = "error",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

void log_set_level(enum log_level level)
{
    atomic_store_explicit(&log_level_now, (int)level, memory_order_relaxed);
}

bool log_enabled(enum log_level level)
{
    return (int)level <= atomic_load_explicit(&log_level_now, memory_order_relaxed);
}

void log_set_thread_name(const char *name)
{
    snprintf(log_thread_name, sizeof log_thread_name, "%s", name ? name : "");
}

void log_set_fd(int fd)
{
    atomic_store_explicit(&log_fd, fd, memory_order_relaxed);
}

const char *log_level_name(enum log_level level)
{
    if ((unsigned)level >= sizeof level_names / sizeof level_names[0])
        return "?";
    return level_names[level];
}

int log_level_parse(const char *name, enum log_level *out)
{
    for (unsigned i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (strcasecmp(name, "warning") == 0) {
        *out = LOG_LEVEL_WARN;
        return 0;
    }
    return -1;
}

/* Length of the longest prefix of s[0..len) that does not end inside a UTF-8
 * sequence, so a cut line stays valid UTF-8 for whatever ingests the logs. */
static size_t utf8_whole_prefix(const unsigned char *s, size_t len)
{
    size_t cont = 0;

    while (cont < len && cont < 3 && (s[len - 1 - cont] & 0xC0) == 0x80)
        cont++;
    if (cont == len)
        return len;
    unsigned char lead = s[len - 1 - cont];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return cont + 1 < need ? len - 1 - cont : len;
}

/* Appends msg to line[*n..cap), escaping control characters. Returns false
 * when msg did not fit (what did fit is kept). */
static bool append_escaped(char *line, size_t *n, size_t cap, const char *msg, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t at = *n;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)msg[i];
        char esc[4];
        size_t esc_len = 0;

        if (c == '\n' || c == '\r') {
            esc[esc_len++] = '\\';
            esc[esc_len++] = c == '\n' ? 'n' : 'r';
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            esc[esc_len++] = '\\';
            esc[esc_len++] = 'x';
            esc[esc_len++] = hex[c >> 4];
            esc[esc_len++] = hex[c & 0xf];
        } else {
            esc[esc_len++] = (char)c;
        }
        if (cap - at < esc_len) {
            *n = at;
            return false;
        }
        memcpy(line + at, esc, esc_len);
        at += esc_len;
    }
    *n = at;
    return true;
}

static void write_line(const char *p, size_t len)
{
    int fd = atomic_load_explicit(&log_fd, memory_order_relaxed);

    for (int tries = 0; len > 0 && tries < LOG_WRITE_TRIES; tries++) {
        ssize_t w = write(fd, p, len);
        if (w > 0) {
            p += w;
            len -= (size_t)w;
        } else if (w < 0 && errno != EINTR && errno != EAGAIN) {
            return; /* nowhere left to report it */
        }
    }
}

static void log_vwrite(enum log_level level, const char *fmt, va_list ap)
{
    /* Room kept at the end for the ellipsis and the newline. */
    enum { TAIL = sizeof LOG_ELLIPSIS - 1 + 1 };
    char line[LOG_LINE_MAX];
    char msg[LOG_LINE_MAX];
    size_t n = 0;
    int saved_errno = errno;
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ".%03ldZ %s ", ts.tv_nsec / 1000000L,
                          log_level_name(level));
    if (log_thread_name[0] != '\0')
        n += (size_t)snprintf(line + n, sizeof line - n, "%s: ", log_thread_name);

    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    size_t msg_len = m < 0 ? 0 : (size_t)m < sizeof msg ? (size_t)m : sizeof msg - 1;
    bool whole = m >= 0 && (size_t)m < sizeof msg;

    if (!append_escaped(line, &n, sizeof line - TAIL, msg, msg_len))
        whole = false;
    if (!whole) {
        n = utf8_whole_prefix((const unsigned char *)line, n);
        memcpy(line + n, LOG_ELLIPSIS, sizeof LOG_ELLIPSIS - 1);
        n += sizeof LOG_ELLIPSIS - 1;
    }
    line[n++] = '\n';
    write_line(line, n);
    errno = saved_errno;
}

#define LOG_DEFINE(fn, level)                                                                      \
    void fn(const char *fmt, ...)                                                                  \
    {                                                                                              \
        va_list ap;                                                                                \
        if (!log_enabled(level))                                                                   \
            return;                                                                                \
        va_start(ap, fmt);                                                                         \
        log_vwrite(level, fmt, ap);                                                                \
        va_end(ap);                                                                                \
    }

LOG_DEFINE(log_error, LOG_LEVEL_ERROR)
LOG_DEFINE(log_warn, LOG_LEVEL_WARN)
LOG_DEFINE(log_info, LOG_LEVEL_INFO)
LOG_DEFINE(log_debug, LOG_LEVEL_DEBUG)
