/* log — a tiny leveled logger for operators.
 *
 * One line per call, written with a single write(2) so lines from different
 * threads (and processes sharing the terminal or pipe) never interleave:
 *
 *     2026-11-28T12:00:00.123Z info worker 2: listening on 0.0.0.0:8000
 *
 * UTC timestamp with milliseconds, level, the calling thread's name when it set
 * one, the message. A line is at most LOG_LINE_MAX bytes: longer messages are
 * cut at a UTF-8 boundary and end in "...". Control characters in the message
 * are escaped (\n, \x1b, …) so text that came from a client cannot forge lines
 * or drive the terminal. Every function is thread-safe and leaves errno alone.
 */
#ifndef CHAT_LOG_H
#define CHAT_LOG_H

#include <stdbool.h>

/* Longest line written, newline included. Below PIPE_BUF (4096 on Linux), so a
 * line written to a pipe arrives whole even when several processes share it. */
#define LOG_LINE_MAX 2048

/* Longest thread name kept by log_set_thread_name; longer ones are cut. */
#define LOG_THREAD_NAME_MAX 31

/* Most important first: a level enables itself and everything above it.
 * (Not LOG_INFO & co.: <syslog.h> owns those names.) */
enum log_level {
    LOG_LEVEL_ERROR,
    LOG_LEVEL_WARN,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
};

/* Sets the most verbose level written; LOG_LEVEL_INFO until called. */
void log_set_level(enum log_level level);

/* Whether a line at level would be written: check it before costly formatting
 * on hot paths. */
bool log_enabled(enum log_level level);

/* Names the calling thread ("worker 2") in every line it logs from now on;
 * NULL or "" clears it. The name is copied. */
void log_set_thread_name(const char *name);

/* Sends lines to fd instead of stderr (2); the caller keeps fd open while
 * logging may happen. Meant for start-up and tests. */
void log_set_fd(int fd);

/* "error", "warn", "info" or "debug"; "?" for a value outside the enum. */
const char *log_level_name(enum log_level level);

/* Parses a level name, case-insensitively ("warning" is "warn").
 * Returns 0 and sets *out, or -1 and leaves *out unchanged. */
int log_level_parse(const char *name, enum log_level *out);

/* printf-style logging at each level; a call below the current level costs one
 * relaxed atomic load. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
