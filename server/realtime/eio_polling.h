/* eio_polling: Engine.IO's HTTP long-polling transport.  A GET waits
 * (suspended) until the session has something to send; a POST carries the
 * client's packets.  Worker thread of the request. */
#ifndef CHATD_EIO_POLLING_H
#define CHATD_EIO_POLLING_H

#include <stdbool.h>
#include <stddef.h>

struct eio_session;
struct eio_sessions;
struct http_req;

struct eio_polling_options {
    size_t max_payload; /* bytes of a POST body, and of a GET's answer */
    bool cors_any;      /* Access-Control-Allow-Origin: * */
};

/* A handshake over polling: a new session, answered with its open packet. */
void eio_polling_handshake(struct eio_sessions *t, struct http_req *req,
                           const struct eio_polling_options *opt);

/* A GET for session s: answered now, or when something is due. */
void eio_polling_get(struct eio_session *s, struct http_req *req,
                     const struct eio_polling_options *opt);

/* A POST for session s: its body's packets go to the session. */
void eio_polling_post(struct eio_session *s, struct http_req *req,
                      const struct eio_polling_options *opt);

#endif
