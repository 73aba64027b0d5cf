/* chat: chatd's application on Socket.IO — who may connect (the session
 * cookie of the handshake), the chat events of docs/contract.md, delivery
 * through the subscriber and the roster, and presence across the fleet. */
#ifndef CHATD_CHAT_H
#define CHATD_CHAT_H

#include <stddef.h>

#include "sio_server.h"

struct chat;
struct config;
struct engine;
struct worker;

/* The application's state.  NULL on OOM. */
struct chat *chat_new(const struct config *cfg);

/* Its Socket.IO callbacks, for sio_server_new. */
const struct sio_app *chat_sio_app(struct chat *c);

/* The endpoint its clients connect through (before chat_start): a logout
 * anywhere in the fleet closes the connections its login opened there. */
void chat_attach_engine(struct chat *c, struct engine *e);

/* Closes this server's connections opened with the session cookie of
 * digest (TOKEN_DIGEST_BYTES; any thread holding no session's lock).  With
 * settle (the server answering the logout, on a worker), returns once none
 * of them handles a packet: the logout answers after it; the subscriber's
 * control message does not wait (it never takes a session's in lock).
 * How many it closed. */
size_t chat_close_login(struct chat *c, const unsigned char *digest, bool settle);

/* Per worker, as its loop starts: the first worker keeps this server's
 * presence heartbeat. */
void chat_worker_start(void *chat, struct worker *w);

/* Starts the subscriber thread.  0 or -1. */
int chat_start(struct chat *c);

/* Stops the subscriber, then (the workers are gone) takes this server's
 * connections out of the fleet's presence. */
void chat_stop(struct chat *c);

void chat_free(struct chat *c);

#endif
