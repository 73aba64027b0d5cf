/* argon2-cost — what one Argon2id password hash costs on this machine, at the
 * costs chatd may be given (PASSWORD_MEMORY, PASSWORD_ITERATIONS), with
 * libsodium alone: the same call chatd makes (crypto_pwhash_argon2id_str, one
 * lane), so no HTTP, Redis or queueing is in the figures.
 *
 * For each cost it prints one Markdown row: the median time of one hash on one
 * thread, wall clock and CPU (the thread's own CPU time, which time spent
 * waiting for a core on a shared machine does not inflate), and the hashes per
 * second that THREADS threads hashing at once reach (chatd's HASH_THREADS; a
 * login is one such hash). Asserts nothing.
 *
 *   make build/bench/argon2-cost
 *   build/bench/argon2-cost [--threads 2] [--seconds 1] [MiB:passes ...]
 *
 * Without costs it measures 19, 32, 46 and 64 MiB at 2 and 3 passes.
 * docs/benchmarks.md ("Choosing the Argon2id cost") has the figures. */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THREADS_MAX 64
#define SAMPLES_MAX 1000 /* single-thread hashes timed per cost */
#define COSTS_MAX 32
#define PASSWORD "correct horse battery staple"

struct cost {
    unsigned mib, passes;
};

/* One hashing thread of the parallel run. */
struct runner {
    pthread_t thread;
    struct cost cost;
    double deadline; /* monotonic seconds */
    unsigned long hashes;
    int failed;
};

static double seconds_of(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
    return seconds_of(CLOCK_MONOTONIC);
}

static int hash_once(struct cost c)
{
    char out[crypto_pwhash_argon2id_STRBYTES];
    return crypto_pwhash_argon2id_str(out, PASSWORD, strlen(PASSWORD), c.passes,
                                      (size_t)c.mib * 1024 * 1024);
}

static void *run_hashes(void *arg)
{
    struct runner *r = arg;

    while (now() < r->deadline) {
        if (hash_once(r->cost) != 0) {
            r->failed = 1;
            break;
        }
        r->hashes++;
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median milliseconds of one hash on this thread, wall clock and CPU, over
 * about `seconds` (at least 3 hashes). Returns -1 when hashing fails. */
static int single_ms(struct cost c, double seconds, double *wall_ms, double *cpu_ms)
{
    static double wall[SAMPLES_MAX], cpu[SAMPLES_MAX];
    size_t n = 0;
    double end = now() + seconds;

    while (n < SAMPLES_MAX && (n < 3 || now() < end)) {
        double t0 = now(), c0 = seconds_of(CLOCK_THREAD_CPUTIME_ID);
        if (hash_once(c) != 0)
            return -1;
        cpu[n] = (seconds_of(CLOCK_THREAD_CPUTIME_ID) - c0) * 1000;
        wall[n++] = (now() - t0) * 1000;
    }
    qsort(wall, n, sizeof wall[0], cmp_double);
    qsort(cpu, n, sizeof cpu[0], cmp_double);
    *wall_ms = wall[n / 2];
    *cpu_ms = cpu[n / 2];
    return 0;
}

/* Hashes per second with `threads` threads hashing for `seconds`; -1 on failure. */
static double parallel_rate(struct cost c, unsigned threads, double seconds)
{
    static struct runner runners[THREADS_MAX];
    double t0 = now();
    unsigned started = 0;
    unsigned long total = 0;
    int failed = 0;

    for (; started < threads; started++) {
        runners[started] = (struct runner){.cost = c, .deadline = t0 + seconds};
        if (pthread_create(&runners[started].thread, NULL, run_hashes, &runners[started]) != 0)
            break;
    }
    for (unsigned i = 0; i < started; i++) {
        pthread_join(runners[i].thread, NULL);
        total += runners[i].hashes;
        failed |= runners[i].failed;
    }
    if (failed || started < threads)
        return -1;
    return (double)total / (now() - t0);
}

static int parse_cost(const char *s, struct cost *c)
{
    char tail;
    return sscanf(s, "%u:%u%c", &c->mib, &c->passes, &tail) == 2 && c->mib > 0 && c->passes > 0
               ? 0
               : -1;
}

static int usage(void)
{
    fprintf(stderr, "usage: argon2-cost [--threads N] [--seconds S] [MiB:passes ...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    static const struct cost grid[] = {{19, 2}, {19, 3}, {32, 2}, {32, 3},
                                       {46, 2}, {46, 3}, {64, 2}, {64, 3}};
    struct cost costs[COSTS_MAX];
    size_t n = 0;
    unsigned threads = 2;
    double seconds = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], NULL);
        } else if (n < COSTS_MAX && parse_cost(argv[i], &costs[n]) == 0) {
            n++;
        } else {
            return usage();
        }
    }
    if (threads < 1 || threads > THREADS_MAX || !(seconds > 0 && seconds <= 60))
        return usage();
    if (n == 0) {
        memcpy(costs, grid, sizeof grid);
        n = sizeof grid / sizeof grid[0];
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "argon2-cost: libsodium failed to initialise\n");
        return 1;
    }

    printf("| m (memory) | t (passes) | one hash: wall ms | one hash: CPU ms | %u / CPU time "
           "(hashes/s) | hashes/s, %u threads |\n",
           threads, threads);
    printf("| --- | --- | ---: | ---: | ---: | ---: |\n");
    for (size_t i = 0; i < n; i++) {
        double wall_ms, cpu_ms;
        int rc = single_ms(costs[i], seconds, &wall_ms, &cpu_ms);
        double rate = rc < 0 ? -1 : parallel_rate(costs[i], threads, seconds);
        if (rc < 0 || rate < 0) {
            fprintf(stderr, "argon2-cost: hashing at %u MiB, t=%u failed (out of memory?)\n",
                    costs[i].mib, costs[i].passes);
            return 1;
        }
        printf("| %u MiB | %u | %.1f | %.1f | %.1f | %.1f |\n", costs[i].mib, costs[i].passes,
               wall_ms, cpu_ms, threads * 1000 / cpu_ms, rate);
        fflush(stdout);
    }
    return 0;
}
