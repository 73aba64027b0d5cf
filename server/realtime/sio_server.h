/* sio_server: Socket.IO v5 on the engine — namespaces, connect and its
 * timeout, events and acks, binary attachments — and the small interface an
 * application implements.  The application never sees a transport.
 *
 * Threads: callbacks run on a worker's thread with the client's lock held
 * (it is recursive: a callback may call any function here).  The functions
 * below may also be called later from any thread, e.g. from a Redis reply
 * on another worker, as long as the caller holds a reference. */
#ifndef CHATD_SIO_SERVER_H
#define CHATD_SIO_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "eio_session.h"

struct http_req;
struct sio_socket;
struct worker;

struct sio_app {
    /* Namespaces clients may connect to, NULL-terminated ("/" for the
     * default one); a CONNECT to any other gets CONNECT_ERROR. */
    const char *const *namespaces;
    /* A new client's handshake request (cookies, address): return a
     * pointer the app keeps for the client (sio_socket_client_data), or set *refuse
     * to answer the handshake 403.  May be NULL. */
    void *(*on_open)(void *ctx, struct http_req *req, bool *refuse);
    /* A CONNECT to a namespace: answer with sio_socket_accept or sio_socket_refuse, now or
     * later (taking a reference meanwhile).  auth is the CONNECT payload
     * ({} when absent), valid during the call.  NULL: accept everyone. */
    void (*on_connect)(void *ctx, struct sio_socket *s, struct worker *w, const cJSON *auth);
    /* An event: data is the packet's array, [name, arg1, …]; when has_ack
     * the client waits for sio_socket_ack(s, ack_id, …). */
    void (*on_event)(void *ctx, struct sio_socket *s, struct worker *w, const char *name,
                     const cJSON *data, bool has_ack, uint64_t ack_id);
    /* An event the server cannot represent (a string holding U+0000, which
     * cJSON cannot keep) for a connected socket: the app may answer its ack
     * with an error.  NULL: the connection closes, as for any packet that
     * cannot be parsed. */
    void (*on_unreadable)(void *ctx, struct sio_socket *s, bool has_ack, uint64_t ack_id);
    /* The socket left its namespace (client DISCONNECT, transport closed,
     * server close).  Not called for a socket that was never accepted. */
    void (*on_disconnect)(void *ctx, struct sio_socket *s, const char *reason);
    /* The client is gone: release what on_open returned.  May be NULL. */
    void (*on_close)(void *ctx, void *client_data);
    void *ctx;
};

struct sio_server_options {
    unsigned connect_timeout_ms; /* a client without a namespace is closed */
    /* A binary packet (BINARY_EVENT/BINARY_ACK) is held until its last
     * attachment arrives: at most this many bytes (header and attachments)
     * per client, and this many over all clients of the server; a client
     * that would pass either is closed ("attachments over budget"). */
    size_t attachment_bytes_per_client;
    size_t attachment_bytes_total;
};

/* Builds the Engine.IO handlers that run app over Socket.IO.  The returned
 * server must outlive the engine.  NULL on OOM. */
struct sio_server *sio_server_new(const struct sio_app *app, const struct sio_server_options *opt);
void sio_server_free(struct sio_server *srv);
const struct eio_handlers *sio_server_handlers(struct sio_server *srv);

/* Sockets. */
void sio_socket_ref(struct sio_socket *s);
void sio_socket_unref(struct sio_socket *s);
const char *sio_socket_nsp(const struct sio_socket *s);
const char *sio_socket_id(const struct sio_socket *s);
/* What on_open returned for the socket's client. */
void *sio_socket_client_data(const struct sio_socket *s);
/* The Engine.IO session under the socket (for broadcasts). */
struct eio_session *sio_socket_session(const struct sio_socket *s);
/* The application's own pointer for this socket, guarded by the socket's
 * lock: read or set it only inside a callback of struct sio_app (which runs
 * with that lock held) or inside sio_socket_with_data. */
void *sio_socket_data(const struct sio_socket *s);
void sio_socket_set_data(struct sio_socket *s, void *data);

/* Runs fn(arg, s, &data) with the socket's lock held, while the socket is
 * still connecting or connected: how the application reaches its
 * per-socket state from anywhere else (a Redis reply on another worker), so
 * that a disconnect cannot free that state meanwhile.  fn may call any
 * function here.  0 when fn ran, -1 when the socket is gone (fn not run). */
typedef void sio_data_fn(void *arg, struct sio_socket *s, void **data);
int sio_socket_with_data(struct sio_socket *s, sio_data_fn *fn, void *arg);

/* Answers a pending CONNECT.  0, or -1 when the socket was not connecting
 * (its client left meanwhile): nothing is sent then. */
int sio_socket_accept(struct sio_socket *s);
/* The same, the answer {sid, pid} carrying the private id of connection
 * state recovery (pid NULL: none). */
int sio_socket_accept_pid(struct sio_socket *s, const char *pid);
void sio_socket_refuse(struct sio_socket *s, const char *message);

/* Emits data = [name, args…] (arrays with {"_binary": base64} items travel
 * as binary attachments).  0, or -1 when the socket is not connected or
 * the client's outbox is full (it is then disconnected). */
int sio_socket_emit(struct sio_socket *s, const cJSON *data);
/* Emits [name, arg] (arg may be NULL). */
int sio_socket_emit_event(struct sio_socket *s, const char *name, const cJSON *arg);
/* Answers an event's ack with args (an array; NULL: []). */
int sio_socket_ack(struct sio_socket *s, uint64_t ack_id, const cJSON *args);
/* Disconnects the socket from its namespace (the client gets DISCONNECT). */
void sio_socket_disconnect(struct sio_socket *s);

#endif
