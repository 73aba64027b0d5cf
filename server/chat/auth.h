/* auth: who a request is — chatd's sessions, from the cookie to the user.
 *
 * A session is a random token (token.h) in the cookie AUTH_COOKIE; Redis
 * keeps only its digest, under the key store_key_session builds.  The HTTP
 * routes resolve it to a user with auth_with_user; the Socket.IO handshake
 * takes the key alone with auth_session_key and resolves it on CONNECT.
 * Worker thread only. */
#ifndef CHATD_AUTH_H
#define CHATD_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "token.h"

struct config;
struct http_req;

#define AUTH_COOKIE "chatd_sid"

/* Writes the Set-Cookie value of a new session (token, for ttl seconds) or of
 * a cleared one (token NULL) into buf, truncated to n bytes.  Returns buf. */
char *auth_set_cookie(char *buf, size_t n, const char *token, long ttl, bool secure);

/* Writes the Redis key of the request's session into key (n bytes).  false,
 * with key "", when the request has no well-formed session cookie (or the key
 * does not fit). */
bool auth_session_key(struct http_req *req, char *key, size_t n);

/* Writes the SHA-256 of the request's session cookie, as it is (well-formed
 * or not), into digest: what binds a Socket.IO connection to the login that
 * opened it.  false when the request has no session cookie. */
bool auth_cookie_digest(struct http_req *req, unsigned char digest[TOKEN_DIGEST_BYTES]);

/* Sets req->user_id and username from a session script's {id, username}
 * replies (as auth_with_user does); leaves them unset when not valid. */
void auth_take_user(struct http_req *req, const redisReply *id, const redisReply *name);

/* Resolves the request's session (refreshing its lifetime, cfg->session_ttl)
 * and calls next(req) with req->user_id, username and session_key set;
 * user_id 0 means no valid session.  When required and there is none, answers
 * 401 instead; when Redis is unavailable, answers 503 itself. */
void auth_with_user(struct http_req *req, const struct config *cfg, bool required,
                    void (*next)(struct http_req *));

#endif
