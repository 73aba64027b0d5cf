/* bench: see bench.h. */
#include "bench.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define PROC_LINE_MAX 512
#define METRICS_PAGE_MAX (1024 * 1024) /* chatd's page is a few KiB */
#define METRICS_TIMEOUT_S 2

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * BENCH_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* A TCP socket of `flags` (SOCK_NONBLOCK or 0) and the address of host:port. */
static int tcp_socket(const char *host, unsigned port, int flags, struct sockaddr_in *sa)
{
    *sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
}

int bench_connect(const char *host, unsigned port)
{
    struct sockaddr_in sa;
    int fd = tcp_socket(host, port, SOCK_NONBLOCK, &sa);
    if (fd < 0)
        return -1;
    /* Requests and chat frames are small and latency is what we measure. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int bench_connect_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return errno;
    return err;
}

long bench_ephemeral_ports(void)
{
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (!f)
        return -1;
    long lo, hi;
    int n = fscanf(f, "%ld %ld", &lo, &hi);
    fclose(f);
    return n == 2 && hi >= lo ? hi - lo + 1 : -1;
}

/* Connects a blocking socket whose reads and writes time out. */
static int connect_blocking(const char *host, unsigned port, int timeout_s)
{
    struct sockaddr_in sa;
    int fd = tcp_socket(host, port, 0, &sa);
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = timeout_s};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads until the peer closes, at most n - 1 bytes, NUL-terminated. */
static ssize_t read_to_close(int fd, char *buf, size_t n)
{
    size_t len = 0;
    while (len < n - 1) {
        ssize_t r = read(fd, buf + len, n - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

int bench_metric(const char *host, unsigned port, const char *name, double *out)
{
    char req[256];
    int rl = snprintf(req, sizeof req, "GET /metrics HTTP/1.0\r\nHost: %s:%u\r\n\r\n", host, port);
    if (rl < 0 || (size_t)rl >= sizeof req)
        return -1;
    int fd = connect_blocking(host, port, METRICS_TIMEOUT_S);
    if (fd < 0)
        return -1;
    char *page = malloc(METRICS_PAGE_MAX);
    int rc = -1;
    if (page && bench_write_all(fd, req, (size_t)rl) == 0 &&
        read_to_close(fd, page, METRICS_PAGE_MAX) > 0) {
        /* The value's line: "\nname value", not "\nname{label...}" or a longer name. */
        size_t nl = strlen(name);
        for (const char *at = strstr(page, name); at; at = strstr(at + 1, name)) {
            if (at > page && at[-1] == '\n' && at[nl] == ' ') {
                char *end;
                *out = strtod(at + nl + 1, &end);
                rc = end == at + nl + 1 ? -1 : 0;
                break;
            }
        }
    }
    free(page);
    close(fd);
    return rc;
}

long bench_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (long)rl.rlim_cur;
}

/* ppid, utime and stime, fields 4, 14 and 15 of /proc/<pid>/stat, counted
 * after the command name's closing parenthesis (the name may hold spaces). */
static int proc_stat(pid_t pid, pid_t *ppid, uint64_t *cpu_ns)
{
    char path[64], line[PROC_LINE_MAX];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    const char *p = strrchr(line, ')');
    int parent;
    unsigned long long utime, stime;
    /* After ')': state(3) ppid(4) pgrp session tty_nr tpgid flags minflt
     * cminflt majflt cmajflt utime(14) stime(15). */
    if (!p || sscanf(p + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &parent,
                     &utime, &stime) != 3)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    *ppid = (pid_t)parent;
    *cpu_ns = (utime + stime) * (BENCH_NS_PER_SEC / (uint64_t)(hz > 0 ? hz : 100));
    return 0;
}

static int proc_sample_one(pid_t pid, struct bench_proc *out)
{
    memset(out, 0, sizeof *out);
    if (pid <= 0)
        return -1;
    char path[64], line[PROC_LINE_MAX];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    unsigned long long v;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "VmRSS: %llu kB", &v) == 1)
            out->rss_kib = v;
        else if (sscanf(line, "VmHWM: %llu kB", &v) == 1)
            out->hwm_kib = v;
    }
    fclose(f);
    pid_t ppid;
    if (proc_stat(pid, &ppid, &out->cpu_ns) < 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

int bench_proc_sample(pid_t pid, struct bench_proc *out)
{
    if (proc_sample_one(pid, out) < 0)
        return -1;
    /* A server of several processes (the Node.js peer's cluster) counts
     * whole: its children are added to it. */
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char *end;
        long child = strtol(e->d_name, &end, 10);
        pid_t ppid;
        uint64_t cpu_ns;
        struct bench_proc c;
        if (*end || child <= 0 || child == pid || proc_stat((pid_t)child, &ppid, &cpu_ns) < 0 ||
            ppid != pid || proc_sample_one((pid_t)child, &c) < 0)
            continue;
        out->rss_kib += c.rss_kib;
        out->hwm_kib += c.hwm_kib;
        out->cpu_ns += c.cpu_ns;
    }
    if (d)
        closedir(d);
    return 0;
}

uint64_t bench_self_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * BENCH_NS_PER_SEC +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000;
}

/* The machine's busy and total clock ticks, from the first line of /proc/stat:
 * user nice system idle iowait irq softirq steal. */
static void machine_ticks(uint64_t *busy, uint64_t *total)
{
    unsigned long long v[8] = {0};
    *busy = *total = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n != 8)
        return;
    for (int i = 0; i < 8; i++)
        *total += v[i];
    *busy = *total - v[3] - v[4];
}

uint64_t bench_machine_busy_ns(void)
{
    uint64_t busy, total;
    machine_ticks(&busy, &total);
    long hz = sysconf(_SC_CLK_TCK);
    return busy * (BENCH_NS_PER_SEC / (uint64_t)(hz > 0 ? hz : 100));
}

void bench_meter_start(struct bench_meter *m, pid_t server, pid_t redis)
{
    memset(m, 0, sizeof *m);
    m->server = server;
    m->redis = redis;
    m->t0 = bench_now_ns();
    bench_proc_sample(server, &m->srv0);
    bench_proc_sample(redis, &m->rds0);
    machine_ticks(&m->busy0, &m->total0);
}

void bench_meter_stop(struct bench_meter *m)
{
    m->t1 = bench_now_ns();
    bench_proc_sample(m->server, &m->srv1);
    bench_proc_sample(m->redis, &m->rds1);
    machine_ticks(&m->busy1, &m->total1);
}

static double share(uint64_t a, uint64_t b, uint64_t window)
{
    return window && b >= a ? 100.0 * (double)(b - a) / (double)window : 0.0;
}

struct bench_cpu bench_meter_cpu(const struct bench_meter *m, uint64_t gen_ns)
{
    struct bench_cpu c = {0};
    uint64_t window = m->t1 - m->t0;
    c.server = share(m->srv0.cpu_ns, m->srv1.cpu_ns, window);
    c.redis = share(m->rds0.cpu_ns, m->rds1.cpu_ns, window);
    c.gen = share(0, gen_ns, window);
    uint64_t total = m->total1 - m->total0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (total > 0 && cpus > 0) {
        double machine = 100.0 * (double)cpus * (double)(m->busy1 - m->busy0) / (double)total;
        c.other = machine - c.server - c.redis - c.gen;
        if (c.other < 0) /* sampling jitter */
            c.other = 0;
    }
    return c;
}

int bench_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int bench_read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t r = read(fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

const char *bench_fmt_ms(char *buf, size_t n, uint64_t us)
{
    if (us < 10000)
        snprintf(buf, n, "%.3f", (double)us / 1000.0);
    else
        snprintf(buf, n, "%.1f", (double)us / 1000.0);
    return buf;
}
