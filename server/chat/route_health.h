/* route_health: what monitors read — GET /healthz and GET /metrics. */
#ifndef CHATD_ROUTE_HEALTH_H
#define CHATD_ROUTE_HEALTH_H

struct http_req;

/* GET /healthz: 200 when Redis answers PING, else 503. */
void healthz(struct http_req *req);
/* GET /metrics: the Prometheus text of metrics.h. */
void metrics_page(struct http_req *req);

#endif
