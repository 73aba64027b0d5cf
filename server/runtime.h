/* runtime: the life of a server process around its app: block signals,
 * compose each worker (a bare loop, worker.h, running the app's HTTP server
 * and its own Redis connection through its hooks), start the workers and
 * the acceptor, wait for SIGTERM or SIGINT, then stop everything in order.
 * Shared by chatd and the conformance server. */
#ifndef CHATD_RUNTIME_H
#define CHATD_RUNTIME_H

struct app;
struct engine;
struct worker;

/* Blocks the signals the runtime waits for; call before creating any
 * thread, so that every thread inherits the mask. */
void runtime_block_signals(void);

/* Serves app until SIGTERM/SIGINT.  Takes over app->hashes (frees it at the
 * right moment of the shutdown).  Returns the process exit code: 0 after a
 * clean stop, 1 when the server could not start. */
int runtime_run(struct app *app);

/* Mounts Engine.IO endpoint e at path (the path it was created with) on
 * app's HTTP servers, and closes its sessions at shutdown.  0, or -1 when
 * app has no room for it.  Before runtime_run. */
int runtime_mount_engine(struct app *app, const char *path, struct engine *e);

#endif
