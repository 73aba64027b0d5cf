/* eio_http: Engine.IO's HTTP answers (see eio_http.h). */
#include "eio_http.h"

#include <stdlib.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "http.h"

static const char *error_message(enum eio_http_error code)
{
    switch (code) {
    case EIO_ERR_TRANSPORT_UNKNOWN:
        return "Transport unknown";
    case EIO_ERR_SESSION_UNKNOWN:
        return "Session ID unknown";
    case EIO_ERR_BAD_HANDSHAKE_METHOD:
        return "Bad handshake method";
    case EIO_ERR_BAD_REQUEST:
        return "Bad request";
    case EIO_ERR_FORBIDDEN:
        return "Forbidden";
    case EIO_ERR_UNSUPPORTED_VERSION:
        return "Unsupported protocol version";
    }
    return "Bad request";
}

void eio_http_error_message(struct http_req *req, unsigned status, enum eio_http_error code,
                            const char *message)
{
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddNumberToObject(o, "code", code);
        cJSON_AddStringToObject(o, "message", message);
    }
    http_respond_json(req, status, o);
}

void eio_http_error(struct http_req *req, unsigned status, enum eio_http_error code)
{
    eio_http_error_message(req, status, code, error_message(code));
}

void eio_http_text(struct http_req *req, const char *type, char *text, size_t len, bool cors_any)
{
    struct MHD_Response *r =
        text ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!r) {
        free(text);
        http_respond_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "Out of memory");
        return;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (cors_any)
        MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    http_respond(req, MHD_HTTP_OK, r);
}
