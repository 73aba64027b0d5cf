/* sioload — many Socket.IO clients over raw WebSocket (Engine.IO v4), spread
 * over several load processes so no process passes the open-files limit.
 *
 * One run has three phases, each bounded in time:
 *   connect  every process opens its share of the clients, at most `inflight`
 *            handshakes at a time (upgrade, "0" open, "40" connect, "40" ack);
 *   hold     everyone is connected and idle for `hold` seconds (pings are
 *            answered), then the server's memory is sampled;
 *   send     the first `senders` clients send `rate` messages per second in
 *            all to General for `seconds`, each carrying its send time, and
 *            every client times what it receives; `drain` more seconds let
 *            late deliveries arrive.
 * The parent process only coordinates (pipes), samples /proc and prints one
 * result row. A client's user is first_id + (its index % users); bench users
 * and their sessions come from creds_setup.
 *
 * The fleet report replaces hold and send: clients are spread over several
 * servers (`ports`, one process each, sharing one Redis); one client sends
 * one message to General, every session has `drain` seconds to receive it,
 * all are held `hold` seconds answering the servers' pings, and the same
 * client sends a second message that must reach every session again.
 *
 * Timestamps are CLOCK_MONOTONIC, shared by all processes of the machine, so
 * a message sent by one process is timed in another. */
#ifndef CHATLOAD_SIOLOAD_H
#define CHATLOAD_SIOLOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "creds.h"

#define SIOLOAD_PROCS_MAX 64
#define SIOLOAD_CLIENTS_PER_PROC_MAX 19000 /* under this machine's 20,000 open files */
#define SIOLOAD_MSG_BYTES_MAX 4000
#define SIOLOAD_PORTS_MAX 16   /* servers one run spreads its clients over */
#define SIOLOAD_FLEET_ROUNDS 2 /* General messages of the fleet report */

enum sioload_report {
    SIOLOAD_CAPACITY, /* connections, ramp, handshake latency, server memory */
    SIOLOAD_FANOUT,   /* deliveries per second and send-to-receive latency */
    SIOLOAD_RTT,      /* send-to-ack and send-to-own-echo latency */
    SIOLOAD_FLEET,    /* sessions per server, two General messages, drops */
};

/* How clients are spread over several ports. */
enum sioload_spread {
    SIOLOAD_SPREAD_RR,    /* client i to port i mod n: every server ramps at once */
    SIOLOAD_SPREAD_BLOCK, /* equal runs of consecutive clients per port */
};

struct sioload_opts {
    const char *label;
    const char *host; /* IPv4 literal */
    unsigned port;
    unsigned ports[SIOLOAD_PORTS_MAX]; /* several servers; n_ports 0: `port` only */
    unsigned n_ports;
    enum sioload_spread spread;
    enum creds_kind kind; /* the server's flavour: cookies, join, message shape */
    unsigned clients;
    unsigned procs;
    unsigned users;     /* distinct users among the clients, >= senders */
    uint64_t first_id;  /* of the bench users */
    unsigned senders;   /* clients 0..senders-1 send */
    double rate;        /* messages per second, all senders together */
    double seconds;     /* sending window */
    double hold;        /* idle seconds between connect and send */
    double drain;       /* seconds after the window for late deliveries */
    unsigned inflight;  /* handshakes at a time per process */
    unsigned msg_bytes; /* length of each message's text */
    bool ack;           /* ask for an ack (chatd answers; the original never does) */
    pid_t server_pid;   /* sampled for memory and CPU; 0: not sampled */
    pid_t server_pids[SIOLOAD_PORTS_MAX]; /* fleet: each port's server, for memory */
    pid_t redis_pid;                      /* sampled for CPU; 0: not sampled */
    double timeout;                       /* hard bound on the whole run, seconds */
    enum sioload_report report;
};

/* Prints the header of report's result rows. */
void sioload_header(enum sioload_report report, FILE *out);

/* Seconds a run takes once its clients are connected (its phases). */
double sioload_phases_seconds(const struct sioload_opts *o);

/* Runs the load and prints one row (the fleet report: a few lines). Returns 0, or -1 when the run
 * could not happen (bad options, fork failed, a process died) or nothing connected. */
int sioload_run(const struct sioload_opts *o, FILE *out);

#endif
