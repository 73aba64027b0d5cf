/* subscriber: the thread that listens on Redis channels (MESSAGES, and
 * chatd's own; one hiredis connection in SUBSCRIBE) and hands every message
 * to a callback, in order.  Reconnects by itself; messages published while it is away are
 * lost, as pub/sub goes, unless the resume callback catches them up. */
#ifndef CHATD_SUBSCRIBER_H
#define CHATD_SUBSCRIBER_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct subscriber;

#define SUBSCRIBER_CHANNELS_MAX 4

/* Called on the subscriber thread for every message, with its channel (one
 * of those given to subscriber_start: compare the pointers). */
typedef void subscriber_fn(void *ctx, const char *channel, const char *payload, size_t len);

/* Called on the subscriber thread each time the subscription is in place
 * (the first time too), before any message that follows it is handed
 * over: what was published while there was none can be caught up then.
 * 0, or -1 to drop the subscription and try again. */
typedef int subscriber_resume_fn(void *ctx);

/* Starts the thread, subscribed to channels (NULL-terminated, at most
 * SUBSCRIBER_CHANNELS_MAX, static storage); resume may be NULL.  NULL on
 * failure (logged). */
struct subscriber *subscriber_start(const struct config *cfg, const char *const *channels,
                                    subscriber_fn *fn, subscriber_resume_fn *resume, void *ctx);

/* Whether the subscription is live now (any thread).  While it is not,
 * published events would reach no socket of this server. */
bool subscriber_listening(const struct subscriber *s);

/* Stops and joins the thread, closes the connection.  NULL-safe. */
void subscriber_stop(struct subscriber *s);

#endif
