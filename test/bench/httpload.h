/* httpload — closed-loop HTTP/1.1 load: `conns` keep-alive connections, each
 * sending one request and waiting for the whole response before the next (no
 * pipelining), for `seconds` or until `max_requests` responses, whichever
 * comes first. Only responses completed before the end count; requests still
 * in flight then are dropped, as wrk does. */
#ifndef CHATLOAD_HTTPLOAD_H
#define CHATLOAD_HTTPLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define HTTPLOAD_CONNS_MAX 4096
#define HTTPLOAD_BODIES_MAX 64

struct httpload_opts {
    const char *label; /* first column of the result row */
    const char *host;  /* IPv4 literal */
    unsigned port;
    const char *method; /* "GET", "POST" */
    const char *path;   /* "/healthz" */
    const char *cookie; /* Cookie header value, or NULL */
    /* Request bodies (JSON); connection i sends bodies[i % n_bodies], so
     * logins can spread over several users. None for a GET. */
    const char *bodies[HTTPLOAD_BODIES_MAX];
    size_t n_bodies;
    unsigned conns;              /* 1..HTTPLOAD_CONNS_MAX */
    double seconds;              /* > 0 */
    uint64_t max_requests;       /* 0: no limit */
    pid_t server_pid, redis_pid; /* sampled for CPU; 0: not sampled */
};

/* The header of the rows httpload_run prints. */
void httpload_header(FILE *out);

/* Runs the load and prints one result row to out. Returns 0, or -1 when no
 * request succeeded at all (the row still says why). */
int httpload_run(const struct httpload_opts *o, FILE *out);

#endif
