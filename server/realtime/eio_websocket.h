/* eio_websocket: Engine.IO's WebSocket transport.  A WebSocket lives on the
 * worker whose HTTP daemon upgraded it; it either carries a new session from
 * the start, or probes and then takes over a polling session.  Worker
 * thread of the request. */
#ifndef CHATD_EIO_WEBSOCKET_H
#define CHATD_EIO_WEBSOCKET_H

#include <stddef.h>

struct eio_session;
struct eio_sessions;
struct http_req;

/* Answers a WebSocket upgrade request: for session s (a probe), or, when s
 * is NULL, for a new session of t over WebSocket only.  max_payload bounds
 * an incoming message. */
void eio_websocket_upgrade(struct eio_sessions *t, struct eio_session *s, struct http_req *req,
                           size_t max_payload);

#endif
