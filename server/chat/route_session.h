/* route_session: signing in and out — GET /me, POST /login (which
 * registers an unknown name when REGISTRATION=open), POST /logout. */
#ifndef CHATD_ROUTE_SESSION_H
#define CHATD_ROUTE_SESSION_H

struct http_req;

/* GET /me: the signed-in user, or null. */
void me_answer(struct http_req *req);
/* POST /login {"username","password"}: a session cookie. */
void login_start(struct http_req *req);
/* POST /logout: the session ends, its connections close. */
void logout_start(struct http_req *req);

#endif
