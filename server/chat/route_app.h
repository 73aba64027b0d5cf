/* route_app: the small public routes the web app reads besides the API —
 * GET /randomname, /links, /stream. */
#ifndef CHATD_ROUTE_APP_H
#define CHATD_ROUTE_APP_H

struct http_req;

/* GET /randomname: a suggested username, as text. */
void random_name(struct http_req *req);
/* GET /links: LINKS, as configured. */
void links_answer(struct http_req *req);
/* GET /stream: 204, an EventSource's cue to stop. */
void stream_answer(struct http_req *req);

#endif
