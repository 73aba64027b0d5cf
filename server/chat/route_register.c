/* route_register: POST /register, explicit sign-up.  It runs /login's own
 * chain (route_session.c: the same limits per address, username rules and
 * hashing pool), told that only a new account will do. */
#include "route_handlers.h"

#include "config.h"
#include "http.h"
#include "route_util.h"

void register_start(struct http_req *req)
{
    if (cfg_of(req)->registration == CONFIG_REGISTRATION_CLOSED) {
        http_respond_error(req, MHD_HTTP_FORBIDDEN, "Registration is closed on this server");
        return;
    }
    login_chain_start(req, true);
}
