/* rconn: a worker's own Redis connection, driven by the worker's epoll
 * (hiredis async).  Reconnects by itself with backoff; while it is down,
 * every call fails at once so routes can answer 503.  Worker thread only. */
#ifndef CHATD_RCONN_H
#define CHATD_RCONN_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "store.h"

struct config;
struct rconn;
struct worker;

/* Called once per command with its reply, or with NULL when the command
 * failed (connection lost, timed out, shutting down).  An error reply is
 * passed through as a REDIS_REPLY_ERROR; the reply is freed after the
 * callback returns. */
typedef void rconn_cb(void *priv, redisReply *reply);

/* Creates worker w's connection and starts connecting; before w's thread
 * starts.  A worker has one: NULL on OOM, or when w has one already. */
struct rconn *rconn_new(struct worker *w, const struct config *cfg);

/* Fails every pending command (callbacks get NULL) and frees; after the
 * worker's thread stopped.  NULL-safe. */
void rconn_free(struct rconn *r);

/* Worker w's connection (NULL when it has none): how the layers above reach
 * Redis from the worker a request or a socket's event runs on.  Worker w's
 * thread, or after it stopped. */
struct rconn *rconn_of(const struct worker *w);

/* Whether commands can be sent now. */
bool rconn_ready(const struct rconn *r);

/* Whether the connection has been ready at least once; any thread. */
bool rconn_was_ready(const struct rconn *r);

/* Where the connection goes or went last: "host:port" (the master the
 * Sentinels named, with REDIS_SENTINELS) or a socket path; "" before the
 * first attempt. */
const char *rconn_where(const struct rconn *r);

/* Sends a command.  0 when queued (cb will be called exactly once), -1
 * when Redis is unavailable (cb is not called). */
int rconn_command(struct rconn *r, rconn_cb *cb, void *priv, int argc, const char **argv,
                  const size_t *lens);

/* Same with NUL-terminated arguments. */
int rconn_commandv(struct rconn *r, rconn_cb *cb, void *priv, int argc, const char **argv);

/* Runs a script of store.h with EVALSHA (the scripts are loaded on every
 * connect): keys and args are NUL-terminated.  As rconn_command. */
int rconn_script(struct rconn *r, enum store_script s, rconn_cb *cb, void *priv, int nkeys,
                 const char **keys, int nargs, const char **args);

/* Periodic work: reconnect when due, time out a stalled connection.  Call
 * from the worker's loop at least every few hundred milliseconds. */
void rconn_tick(struct rconn *r, int64_t now_ms);

/* Reply helpers. */
bool rconn_is_error(const redisReply *reply);
/* The reply as a string (STRING or STATUS), NULL otherwise. */
const char *rconn_str(const redisReply *reply, size_t *len);

/* Sends a script call built by store.h's store_call_… (EVALSHA).  As
 * rconn_command; -1 also for a call whose build failed. */
int rconn_call(struct rconn *r, const struct store_call *call, rconn_cb *cb, void *priv);

/* Sends WAIT replicas timeout_ms: its integer reply is how many replicas
 * have every write this connection sent before it.  As rconn_command;
 * the connection answers nothing else meanwhile (Redis blocks it). */
int rconn_wait_replicas(struct rconn *r, unsigned replicas, unsigned timeout_ms, rconn_cb *cb,
                        void *priv);

/* Whether a WAIT on this connection fell short in the last half second:
 * then a write that must reach replicas had better be refused unsent. */
bool rconn_replicas_short(const struct rconn *r);

#endif
