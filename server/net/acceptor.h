/* acceptor: the thread that accepts client sockets and hands each to the
 * least-loaded worker.  It does no I/O on client sockets. */
#ifndef CHATD_ACCEPTOR_H
#define CHATD_ACCEPTOR_H

struct acceptor;
struct config;
struct worker;

/* Binds and listens on the configured address and port.  NULL on failure
 * (logged: e.g. the port is in use).  per_addr (may be NULL) caps the
 * connections of one address; it outlives the workers' connections, and
 * so the acceptor. */
struct addrcap;
struct acceptor *acceptor_new(const struct config *cfg, struct addrcap *per_addr);

/* Starts the accepting thread, handing sockets to workers[0..nworkers-1]
 * (at least one; the array outlives the acceptor) while they hold fewer
 * than the configured MAX_CONNECTIONS in all, and the peer's address
 * holds fewer than its cap (the workers give slots back: see
 * worker_set_addrcap, called here before the first accept).  0 or -1. */
int acceptor_start(struct acceptor *a, struct worker *const *workers, unsigned nworkers);

/* Stops accepting, joins the thread, closes the listening socket, frees.
 * NULL-safe. */
void acceptor_free(struct acceptor *a);

#endif
