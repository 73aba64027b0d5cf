/* bench — small helpers shared by chatload's modes: clocks, sockets, limits,
 * and what /proc says about a process. Linux only; no state, thread-safe. */
#ifndef CHATLOAD_BENCH_H
#define CHATLOAD_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_NS_PER_SEC 1000000000ULL

/* CLOCK_MONOTONIC in nanoseconds: one clock for every process on the machine,
 * so a timestamp written by one load process can be read by another. */
uint64_t bench_now_ns(void);

/* Starts a non-blocking TCP connect to host:port (an IPv4 literal). Returns
 * the socket (connected or EINPROGRESS), or -1 with errno set. */
int bench_connect(const char *host, unsigned port);

/* After EPOLLOUT on a connecting socket: 0 when the connect succeeded, or the
 * socket's error (an errno value). */
int bench_connect_result(int fd);

/* How many ephemeral ports connect() may pick from (ip_local_port_range):
 * at most this many connections from one address to one server port.
 * Returns -1 when it cannot be read. */
long bench_ephemeral_ports(void);

/* Reads one unlabelled metric (a line "name value") from a server's
 * GET /metrics, over a blocking connection bounded by a 2 s timeout.
 * Returns 0 with *out set, or -1. */
int bench_metric(const char *host, unsigned port, const char *name, double *out);

/* Raises the soft open-files limit to the hard one. Returns the new soft
 * limit, or -1 when it cannot be read. */
long bench_raise_nofile(void);

/* What /proc says about a process: resident memory now and at its peak, in
 * KiB, and CPU time used (user + system) in nanoseconds. */
struct bench_proc {
    uint64_t rss_kib;
    uint64_t hwm_kib;
    uint64_t cpu_ns;
};

/* Fills *out for pid and its child processes together (a server may be a
 * primary and its workers; their peaks are added, an upper bound). Returns
 * 0, or -1 (out zeroed) when the process is gone or pid is 0. */
int bench_proc_sample(pid_t pid, struct bench_proc *out);

/* CPU time the whole machine has been busy (all CPUs, /proc/stat), in ns. */
uint64_t bench_machine_busy_ns(void);

/* CPU time (user + system) used by the calling process so far, in ns. */
uint64_t bench_self_cpu_ns(void);

/* Where the CPU went over a window: the server, Redis, and the whole machine,
 * sampled at its start and end. Other work on the machine skews every
 * figure, so it is measured and printed with them. */
struct bench_meter {
    pid_t server, redis; /* 0: not sampled */
    uint64_t t0, t1;
    struct bench_proc srv0, srv1, rds0, rds1;
    uint64_t busy0, total0, busy1, total1; /* the machine, in clock ticks */
};

/* CPU used over a window, each in percent of one CPU (200 = two busy CPUs). */
struct bench_cpu {
    double server, redis, gen, other; /* other: the machine minus the three */
};

void bench_meter_start(struct bench_meter *m, pid_t server, pid_t redis);
void bench_meter_stop(struct bench_meter *m);

/* The window's figures, given the CPU the load generator itself used in it. */
struct bench_cpu bench_meter_cpu(const struct bench_meter *m, uint64_t gen_ns);

/* Writes all of buf to a blocking fd (a pipe), retrying on EINTR and short
 * writes. Returns 0, or -1 with errno set. */
int bench_write_all(int fd, const void *buf, size_t len);

/* Reads exactly len bytes from a blocking fd. Returns 0, or -1 on error or
 * end of file before len bytes. */
int bench_read_all(int fd, void *buf, size_t len);

/* Formats a duration in microseconds as milliseconds into buf: three
 * decimals below 10 ms, one above. Returns buf. */
const char *bench_fmt_ms(char *buf, size_t n, uint64_t us);

#endif
