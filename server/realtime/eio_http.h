/* eio_http: Engine.IO's HTTP answers, shared by the endpoint and the
 * transports: the protocol's error object and plain-text bodies.  Worker
 * thread of the request. */
#ifndef CHATD_EIO_HTTP_H
#define CHATD_EIO_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct http_req;

/* The protocol's error codes, answered as {"code", "message"}. */
enum eio_http_error {
    EIO_ERR_TRANSPORT_UNKNOWN = 0,
    EIO_ERR_SESSION_UNKNOWN = 1,
    EIO_ERR_BAD_HANDSHAKE_METHOD = 2,
    EIO_ERR_BAD_REQUEST = 3,
    EIO_ERR_FORBIDDEN = 4,
    EIO_ERR_UNSUPPORTED_VERSION = 5,
};

void eio_http_error(struct http_req *req, unsigned status, enum eio_http_error code);
/* The same with a message of the caller's (static text). */
void eio_http_error_message(struct http_req *req, unsigned status, enum eio_http_error code,
                            const char *message);

/* Answers 200 with text (malloc'd, ownership taken; NULL answers 500) of
 * the given content type, never cached; cors_any adds
 * Access-Control-Allow-Origin: *. */
void eio_http_text(struct http_req *req, const char *type, char *text, size_t len, bool cors_any);

#endif
