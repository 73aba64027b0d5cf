/* route_groups: named groups — POST /rooms, GET /rooms/public, and
 * /room/{id}/join and /room/{id}/members[/{userId}]. */
#ifndef CHATD_ROUTE_GROUPS_H
#define CHATD_ROUTE_GROUPS_H

struct http_req;

/* POST /rooms {"name","members":[ids],"public"}: the creator is a member. */
void group_create_start(struct http_req *req);
/* GET /rooms/public: the first STORE_GROUP_LIST_MAX public groups. */
void public_groups_start(struct http_req *req);
/* POST /room/{id}/join: a public group, by oneself. */
void group_join_start(struct http_req *req);
/* GET /room/{id}/members: members with presence. */
void group_members_start(struct http_req *req);
/* POST /room/{id}/members {"userId"}: a member adds someone. */
void group_invite_start(struct http_req *req);
/* DELETE /room/{id}/members/{userId}: oneself, or the creator anyone. */
void group_remove_start(struct http_req *req);

#endif
