/* acceptor: the thread that accepts client sockets and hands each to the
 * least-loaded worker.  It does no I/O on client sockets. */
#ifndef CHATD_ACCEPTOR_H
#define CHATD_ACCEPTOR_H

struct app;
struct acceptor;

/* Binds and listens on the configured address and port.  NULL on failure
 * (logged: e.g. the port is in use). */
struct acceptor *acceptor_new(struct app *app);

/* Starts the accepting thread.  0 or -1. */
int acceptor_start(struct acceptor *a);

/* Stops accepting, joins the thread, closes the listening socket, frees.
 * NULL-safe. */
void acceptor_free(struct acceptor *a);

#endif
