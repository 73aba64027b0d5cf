/* sdnotify: systemd's notify protocol (sd_notify(3), "Type=notify") without
 * libsystemd: each message is one datagram of "KEY=value" lines sent to the
 * AF_UNIX socket named by NOTIFY_SOCKET (a path, or "@name" for Linux's
 * abstract namespace).  Not started by systemd (NOTIFY_SOCKET unset),
 * there is no notifier and nothing is sent.
 *
 * The watchdog (WatchdogSec=): systemd sets WATCHDOG_USEC, and WATCHDOG_PID
 * when the watchdog belongs to one process; the service must send
 * "WATCHDOG=1" more often than that, or systemd kills and restarts it. */
#ifndef CHATD_SDNOTIFY_H
#define CHATD_SDNOTIFY_H

#include <stdint.h>

struct sdnotify;

/* Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (call before any
 * thread exists: getenv) and opens a datagram socket.  NULL when
 * NOTIFY_SOCKET is unset, or unusable (then logged). */
struct sdnotify *sdnotify_open(void);

/* The watchdog's timeout in milliseconds when it is this process's
 * (WATCHDOG_USEC set, and WATCHDOG_PID unset or ours); 0 otherwise.
 * NULL-safe. */
int64_t sdnotify_watchdog_ms(const struct sdnotify *n);

/* Sends state, "READY=1" or several lines ("STOPPING=1\nSTATUS=…"), as one
 * datagram.  Never blocks; a failure is logged and otherwise ignored (the
 * service goes on).  NULL-safe: without a notifier it does nothing. */
void sdnotify_send(struct sdnotify *n, const char *state);

/* NULL-safe. */
void sdnotify_close(struct sdnotify *n);

#endif
