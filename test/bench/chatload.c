/* chatload — chatd's load generator: HTTP requests and Socket.IO clients over
 * loopback, every run bounded in time and count. scripts/bench.sh drives it;
 * docs/benchmarks.md shows what it measured.
 *
 *   chatload setup  --kind chatd|node --first-id N --users N [--ttl S]
 *                   RESP for `redis-cli --pipe`: bench users and sessions
 *   chatload cookie --kind chatd|node --id N
 *                   the Cookie header value of a bench user's session
 *   chatload header http|capacity|fanout|rtt|fleet
 *   chatload http   --label L --port P --path /p [--method M] [--cookie C]
 *                   [--body JSON]... [--conns N] [--seconds S] [--max-requests N]
 *                   [--server-pid PID] [--redis-pid PID]
 *   chatload sio    --label L --port P --kind K --report capacity|fanout|rtt
 *                   [--clients N] [--procs N] [--users N] [--first-id N]
 *                   [--senders N] [--rate R] [--seconds S] [--hold S]
 *                   [--drain S] [--inflight N] [--msg-bytes N] [--ack]
 *                   [--server-pid PID] [--redis-pid PID] [--timeout S]
 *   chatload sio    --report fleet --ports P1,P2,... --server-pids PID1,PID2,...
 *                   --senders 1 [--spread rr|block] [--hold S] [--drain S] and
 *                   the options above: several servers on one Redis, two
 *                   General messages `hold` seconds apart (sioload.h)
 *
 * Exit status: 0, 1 when the run failed or nothing succeeded, 2 on bad usage. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "httpload.h"
#include "sioload.h"

#define DEFAULT_FIRST_ID 1001
#define DEFAULT_TTL 86400
#define SETUP_USERS_MAX 1000000
#define TIMEOUT_MARGIN 120.0 /* seconds for connecting, on top of the phases */

enum opt_id {
    O_LABEL = 256,
    O_HOST,
    O_PORT,
    O_KIND,
    O_PATH,
    O_METHOD,
    O_COOKIE,
    O_BODY,
    O_CONNS,
    O_SECONDS,
    O_MAX_REQUESTS,
    O_REPORT,
    O_CLIENTS,
    O_PROCS,
    O_USERS,
    O_FIRST_ID,
    O_SENDERS,
    O_RATE,
    O_HOLD,
    O_DRAIN,
    O_INFLIGHT,
    O_MSG_BYTES,
    O_ACK,
    O_SERVER_PID,
    O_REDIS_PID,
    O_TIMEOUT,
    O_TTL,
    O_ID,
    O_PORTS,
    O_SPREAD,
    O_SERVER_PIDS,
};

static const struct option long_opts[] = {
    {"label", required_argument, NULL, O_LABEL},
    {"host", required_argument, NULL, O_HOST},
    {"port", required_argument, NULL, O_PORT},
    {"kind", required_argument, NULL, O_KIND},
    {"path", required_argument, NULL, O_PATH},
    {"method", required_argument, NULL, O_METHOD},
    {"cookie", required_argument, NULL, O_COOKIE},
    {"body", required_argument, NULL, O_BODY},
    {"conns", required_argument, NULL, O_CONNS},
    {"seconds", required_argument, NULL, O_SECONDS},
    {"max-requests", required_argument, NULL, O_MAX_REQUESTS},
    {"report", required_argument, NULL, O_REPORT},
    {"clients", required_argument, NULL, O_CLIENTS},
    {"procs", required_argument, NULL, O_PROCS},
    {"users", required_argument, NULL, O_USERS},
    {"first-id", required_argument, NULL, O_FIRST_ID},
    {"senders", required_argument, NULL, O_SENDERS},
    {"rate", required_argument, NULL, O_RATE},
    {"hold", required_argument, NULL, O_HOLD},
    {"drain", required_argument, NULL, O_DRAIN},
    {"inflight", required_argument, NULL, O_INFLIGHT},
    {"msg-bytes", required_argument, NULL, O_MSG_BYTES},
    {"ack", no_argument, NULL, O_ACK},
    {"server-pid", required_argument, NULL, O_SERVER_PID},
    {"redis-pid", required_argument, NULL, O_REDIS_PID},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"ttl", required_argument, NULL, O_TTL},
    {"id", required_argument, NULL, O_ID},
    {"ports", required_argument, NULL, O_PORTS},
    {"spread", required_argument, NULL, O_SPREAD},
    {"server-pids", required_argument, NULL, O_SERVER_PIDS},
    {NULL, 0, NULL, 0},
};

/* Everything any mode may be given; each mode reads what it needs. */
struct args {
    struct httpload_opts http;
    struct sioload_opts sio;
    enum creds_kind kind;
    uint64_t first_id, id, users;
    unsigned ttl;
    bool timeout_set;
};

static int usage(void)
{
    fputs("usage: chatload setup|cookie|header|http|sio [options] (see test/bench/chatload.c)\n",
          stderr);
    return 2;
}

static int num(const char *name, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "chatload: --%s must be a number in %g..%g, not '%s'\n", name, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* A comma-separated list of at most max numbers in lo..hi, into out[]. */
static int num_list(const char *name, const char *s, double lo, double hi, unsigned max,
                    double *out, unsigned *n)
{
    char item[32];
    *n = 0;
    for (const char *at = s;; at++) {
        size_t len = strcspn(at, ",");
        if (*n == max || len == 0 || len >= sizeof item) {
            fprintf(stderr, "chatload: --%s is 1 to %u numbers separated by commas, not '%s'\n",
                    name, max, s);
            return -1;
        }
        memcpy(item, at, len);
        item[len] = '\0';
        if (num(name, item, lo, hi, &out[(*n)++]) < 0)
            return -1;
        at += len;
        if (*at == '\0')
            return 0;
    }
}

static int parse_report(const char *s, enum sioload_report *out)
{
    if (strcmp(s, "capacity") == 0)
        *out = SIOLOAD_CAPACITY;
    else if (strcmp(s, "fanout") == 0)
        *out = SIOLOAD_FANOUT;
    else if (strcmp(s, "rtt") == 0)
        *out = SIOLOAD_RTT;
    else if (strcmp(s, "fleet") == 0)
        *out = SIOLOAD_FLEET;
    else
        return -1;
    return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    struct httpload_opts *h = &a->http;
    struct sioload_opts *s = &a->sio;
    *h = (struct httpload_opts){.label = "http",
                                .host = "127.0.0.1",
                                .port = 8000,
                                .method = "GET",
                                .path = "/",
                                .conns = 64,
                                .seconds = 10};
    *s = (struct sioload_opts){.label = "sio",
                               .host = "127.0.0.1",
                               .port = 8000,
                               .clients = 100,
                               .procs = 1,
                               .users = 100,
                               .first_id = DEFAULT_FIRST_ID,
                               .seconds = 10,
                               .hold = 1,
                               .drain = 2,
                               .inflight = 64,
                               .msg_bytes = 32,
                               .timeout = 0,
                               .report = SIOLOAD_FANOUT};
    a->kind = CREDS_CHATD;
    a->first_id = DEFAULT_FIRST_ID;
    a->users = 100;
    a->ttl = DEFAULT_TTL;
    int c;
    double v, list[SIOLOAD_PORTS_MAX];
    unsigned n_list, n_pids = 0;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case O_LABEL:
            h->label = s->label = optarg;
            break;
        case O_HOST:
            h->host = s->host = optarg;
            break;
        case O_PORT:
            if (num("port", optarg, 1, 65535, &v) < 0)
                return -1;
            h->port = s->port = (unsigned)v;
            break;
        case O_KIND:
            if (creds_kind_parse(optarg, &a->kind) < 0) {
                fprintf(stderr, "chatload: --kind is chatd or node\n");
                return -1;
            }
            s->kind = a->kind;
            break;
        case O_PATH:
            h->path = optarg;
            break;
        case O_METHOD:
            h->method = optarg;
            break;
        case O_COOKIE:
            h->cookie = optarg;
            break;
        case O_BODY:
            if (h->n_bodies == HTTPLOAD_BODIES_MAX) {
                fprintf(stderr, "chatload: at most %d --body\n", HTTPLOAD_BODIES_MAX);
                return -1;
            }
            h->bodies[h->n_bodies++] = optarg;
            break;
        case O_CONNS:
            if (num("conns", optarg, 1, HTTPLOAD_CONNS_MAX, &v) < 0)
                return -1;
            h->conns = (unsigned)v;
            break;
        case O_SECONDS:
            if (num("seconds", optarg, 0.1, 3600, &v) < 0)
                return -1;
            h->seconds = s->seconds = v;
            break;
        case O_MAX_REQUESTS:
            if (num("max-requests", optarg, 0, 1e12, &v) < 0)
                return -1;
            h->max_requests = (uint64_t)v;
            break;
        case O_REPORT:
            if (parse_report(optarg, &s->report) < 0) {
                fprintf(stderr, "chatload: --report is capacity, fanout, rtt or fleet\n");
                return -1;
            }
            break;
        case O_CLIENTS:
            if (num("clients", optarg, 1, 1e6, &v) < 0)
                return -1;
            s->clients = (unsigned)v;
            break;
        case O_PROCS:
            if (num("procs", optarg, 1, SIOLOAD_PROCS_MAX, &v) < 0)
                return -1;
            s->procs = (unsigned)v;
            break;
        case O_USERS:
            if (num("users", optarg, 1, SETUP_USERS_MAX, &v) < 0)
                return -1;
            s->users = (unsigned)v;
            a->users = (uint64_t)v;
            break;
        case O_FIRST_ID:
            if (num("first-id", optarg, 1, 1e15, &v) < 0)
                return -1;
            s->first_id = a->first_id = (uint64_t)v;
            break;
        case O_SENDERS:
            if (num("senders", optarg, 0, 1e6, &v) < 0)
                return -1;
            s->senders = (unsigned)v;
            break;
        case O_RATE:
            if (num("rate", optarg, 0.001, 1e6, &v) < 0)
                return -1;
            s->rate = v;
            break;
        case O_HOLD:
            if (num("hold", optarg, 0, 3600, &v) < 0)
                return -1;
            s->hold = v;
            break;
        case O_DRAIN:
            if (num("drain", optarg, 0, 600, &v) < 0)
                return -1;
            s->drain = v;
            break;
        case O_INFLIGHT:
            if (num("inflight", optarg, 1, 10000, &v) < 0)
                return -1;
            s->inflight = (unsigned)v;
            break;
        case O_MSG_BYTES:
            if (num("msg-bytes", optarg, 0, SIOLOAD_MSG_BYTES_MAX, &v) < 0)
                return -1;
            s->msg_bytes = (unsigned)v;
            break;
        case O_ACK:
            s->ack = true;
            break;
        case O_SERVER_PID:
            if (num("server-pid", optarg, 0, 1e9, &v) < 0)
                return -1;
            s->server_pid = h->server_pid = (pid_t)v;
            break;
        case O_REDIS_PID:
            if (num("redis-pid", optarg, 0, 1e9, &v) < 0)
                return -1;
            s->redis_pid = h->redis_pid = (pid_t)v;
            break;
        case O_TIMEOUT:
            if (num("timeout", optarg, 1, 36000, &v) < 0)
                return -1;
            s->timeout = v;
            a->timeout_set = true;
            break;
        case O_TTL:
            if (num("ttl", optarg, 60, 365 * 86400, &v) < 0)
                return -1;
            a->ttl = (unsigned)v;
            break;
        case O_ID:
            if (num("id", optarg, 1, 1e15, &v) < 0)
                return -1;
            a->id = (uint64_t)v;
            break;
        case O_PORTS:
            if (num_list("ports", optarg, 1, 65535, SIOLOAD_PORTS_MAX, list, &n_list) < 0)
                return -1;
            for (unsigned i = 0; i < n_list; i++)
                s->ports[i] = (unsigned)list[i];
            s->n_ports = n_list;
            break;
        case O_SPREAD:
            if (strcmp(optarg, "rr") == 0) {
                s->spread = SIOLOAD_SPREAD_RR;
            } else if (strcmp(optarg, "block") == 0) {
                s->spread = SIOLOAD_SPREAD_BLOCK;
            } else {
                fprintf(stderr, "chatload: --spread is rr or block\n");
                return -1;
            }
            break;
        case O_SERVER_PIDS:
            if (num_list("server-pids", optarg, 1, 1e9, SIOLOAD_PORTS_MAX, list, &n_pids) < 0)
                return -1;
            for (unsigned i = 0; i < n_pids; i++)
                s->server_pids[i] = (pid_t)list[i];
            break;
        default:
            return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "chatload: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (s->report == SIOLOAD_FLEET && (s->n_ports == 0 || n_pids != s->n_ports)) {
        fprintf(stderr, "chatload: --report fleet needs --ports and one --server-pids each\n");
        return -1;
    }
    if (!a->timeout_set)
        s->timeout = TIMEOUT_MARGIN + sioload_phases_seconds(s);
    return 0;
}

static int header(const char *what)
{
    enum sioload_report r;
    if (strcmp(what, "http") == 0)
        httpload_header(stdout);
    else if (parse_report(what, &r) == 0)
        sioload_header(r, stdout);
    else
        return usage();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (sodium_init() < 0) {
        fputs("chatload: libsodium failed to start\n", stderr);
        return 1;
    }
    /* A server that closes first must not kill the load generator. */
    signal(SIGPIPE, SIG_IGN);
    const char *mode = argv[1];
    if (strcmp(mode, "header") == 0)
        return argc == 3 ? header(argv[2]) : usage();

    struct args a;
    if (parse_args(argc - 1, argv + 1, &a) < 0)
        return 2;
    if (strcmp(mode, "setup") == 0) {
        if (a.users > SETUP_USERS_MAX)
            return usage();
        return creds_setup(a.kind, a.first_id, a.users, a.ttl, stdout) == 0 ? 0 : 1;
    }
    if (strcmp(mode, "cookie") == 0) {
        char cookie[CREDS_COOKIE_MAX];
        if (a.id == 0 || creds_cookie(a.kind, a.id, cookie, sizeof cookie) < 0)
            return usage();
        puts(cookie);
        return 0;
    }
    if (strcmp(mode, "http") == 0)
        return httpload_run(&a.http, stdout) == 0 ? 0 : 1;
    if (strcmp(mode, "sio") == 0)
        return sioload_run(&a.sio, stdout) == 0 ? 0 : 1;
    return usage();
}
