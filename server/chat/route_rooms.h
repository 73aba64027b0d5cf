/* route_rooms: a user's rooms, a room's history, and private rooms —
 * GET /rooms/{userId}, GET /room/{id}/messages, POST /room. */
#ifndef CHATD_ROUTE_ROOMS_H
#define CHATD_ROUTE_ROOMS_H

struct http_req;

/* GET /rooms/{userId}: one's own rooms, named groups first. */
void rooms_start(struct http_req *req);
/* GET /room/{id}/messages?offset=&size=: resolves the session itself. */
void history_start(struct http_req *req);
/* POST /room {"user1","user2"}: opens the private room of two users. */
void private_room_start(struct http_req *req);

#endif
