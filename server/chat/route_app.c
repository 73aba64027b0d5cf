/* route_app: the small public routes the web app reads besides the API —
 * GET /randomname, /links, /stream. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "route_handlers.h"

#include "config.h"
#include "http.h"
#include "route_util.h"
#include "store.h"

static struct MHD_Response *text_response(const char *text, size_t len, const char *type)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (r)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    return r;
}

void random_name(struct http_req *req)
{
    static const char *const adjectives[] = {
        "Brave", "Calm",   "Clever", "Curious", "Eager",  "Gentle", "Happy", "Jolly",
        "Kind",  "Lively", "Lucky",  "Mellow",  "Nimble", "Quiet",  "Swift", "Witty",
    };
    static const char *const animals[] = {
        "Badger", "Beaver", "Falcon", "Fox",    "Heron", "Koala", "Lynx",  "Marten",
        "Otter",  "Owl",    "Panda",  "Puffin", "Raven", "Seal",  "Tiger", "Wombat",
    };
    char name[STORE_USERNAME_MAX_CHARS + 1];
    snprintf(name, sizeof name, "%s%s%02u", adjectives[randombytes_uniform(16)],
             animals[randombytes_uniform(16)], (unsigned)randombytes_uniform(100));
    http_respond(req, MHD_HTTP_OK, text_response(name, strlen(name), "text/plain; charset=utf-8"));
}

void links_answer(struct http_req *req)
{
    const char *json = cfg_of(req)->links;
    http_respond(req, MHD_HTTP_OK, text_response(json, strlen(json), "application/json"));
}

void stream_answer(struct http_req *req)
{
    /* Every event travels on Socket.IO; 204 tells an EventSource to stop. */
    http_respond(req, MHD_HTTP_NO_CONTENT,
                 MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
}
