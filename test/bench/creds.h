/* creds — bench users and their sessions, written straight into Redis.
 *
 * Logging in thousands of users through POST /login would spend minutes in
 * the password hash (by design), so the setup writes what a login leaves
 * behind instead: the user's keys and a live session, in the form each server
 * reads. Tokens are derived from the user id (a SHA-256 of a fixed label and
 * the id), so the setup and every load process agree on a user's cookie with
 * nothing to share but the id. Bench users cannot log in with a password.
 *
 *   chatd: chatd:session:<sha256 hex of token> = id, cookie chatd_sid=<token>
 *   node:  sess:<sid> = express-session JSON (connect-redis), cookie
 *          connect.sid=s:<sid>.<HMAC-SHA256 of sid, key "keyboard cat">
 *          URL-encoded, as express-session signs it with the demo's secret.
 */
#ifndef CHATLOAD_CREDS_H
#define CHATLOAD_CREDS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum creds_kind {
    CREDS_CHATD, /* this server */
    CREDS_NODE,  /* the original Node.js demo */
};

#define CREDS_COOKIE_MAX 128 /* "name=value" of either kind, with the NUL */

/* Parses "chatd" or "node". Returns 0, or -1 leaving *out unchanged. */
int creds_kind_parse(const char *s, enum creds_kind *out);

/* Writes the Cookie header value ("name=value") of user id's session into
 * out[0..n). Returns 0, or -1 when n is too small. */
int creds_cookie(enum creds_kind kind, uint64_t id, char *out, size_t n);

/* Writes, as RESP commands for `redis-cli --pipe`, users first_id ..
 * first_id+count-1 named "bench<id>", each a member of General ("0"), with a
 * session living ttl seconds, and total_users raised to the last id so a new
 * registration does not collide. Returns 0, or -1 on a write error. */
int creds_setup(enum creds_kind kind, uint64_t first_id, uint64_t count, unsigned ttl, FILE *out);

#endif
