/* route_users: GET /users/online and GET /users?ids[]=… */
#ifndef CHATD_ROUTE_USERS_H
#define CHATD_ROUTE_USERS_H

struct http_req;

/* GET /users/online: every signed-in user with a live connection. */
void online_users_start(struct http_req *req);
/* GET /users?ids[]=…: 1 to 100 users by id, with presence. */
void users_start(struct http_req *req);

#endif
