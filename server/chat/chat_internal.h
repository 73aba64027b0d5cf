/* chat_internal: what the files of the chat application share, and no one
 * else — private to server/chat/chat*.c (chat.h is the application's
 * interface; nothing outside those files includes this header).
 *
 * Where each part lives:
 *   chat.c            the application's composition: its Socket.IO callbacks,
 *                     the table of client events, its life
 *   chat_common.c     helpers of every event: the clock, ids from JSON, a
 *                     pending reply and its ack
 *   chat_budget.c     a socket's event budget (EVENTS_PER_SECOND)
 *   chat_connect.c    CONNECT (the session cookie, the roster), disconnect
 *   chat_messages.c   `message`
 *   chat_changes.c    `message.edit`, `message.delete`, `message.react`
 *   chat_rooms.c      `room.join`, `room.read`
 *   chat_presence.c   presence (grace, heartbeat), `typing`
 *   chat_recovery.c   connection state recovery: record, replay, release
 *   chat_fanout.c     one event to its sockets: live from the roster, or one
 *                     recovering socket's replay
 *   chat_subscriber.c the subscriber's side: MESSAGES and the control
 *                     channel, the catch-up after a lost connection
 *
 * Threads: a socket's chat_user is read and written under the socket's lock
 * (an event's callback, or sio_socket_with_data); see docs/architecture.md,
 * "Threads" and "Real time". */
#ifndef CHATD_CHAT_INTERNAL_H
#define CHATD_CHAT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bucket.h"
#include "roster.h"
#include "sio_server.h"
#include "store.h"
#include "timerheap.h"

struct redisReply;
struct worker;

/* A server's presence hash outlives missed heartbeats by this factor, so
 * the others can still read whom a dead server held. */
#define PRESENCE_TTL_FACTOR 20
/* Login sessions whose CONNECTs are counted at once (the oldest window
 * goes first when full), and the refused CONNECTs after which an
 * Engine.IO session that keeps trying is closed. */
#define CONNECT_METER_SESSIONS 4096
#define CONNECT_REFUSALS_MAX 3

/* An ack's error when Redis could not answer. */
#define UNAVAILABLE "Service unavailable; try again"

/* The application (chat.h): its configuration, roster, subscriber and the
 * state of its presence and CONNECT metering. */
struct chat {
    const struct config *cfg;
    struct sio_app app;
    struct roster *roster;
    struct engine *engine; /* whose connections a logout closes */
    struct subscriber *sub;
    /* The newest logged event the subscriber applied (subscriber thread
     * only): after a lost connection it catches up from there. */
    bool has_applied;
    struct store_offset applied;
    char applied_id[STORE_OFFSET_MAX];
    struct timer heartbeat;
    struct worker *heartbeat_worker;
    /* Presence held for PRESENCE_GRACE: user id -> struct leaving, and
     * the same in order of due time (a leaf lock). */
    pthread_mutex_t leave_lock;
    struct strmap *leaving;
    struct leaving *leave_head, *leave_tail;
    struct timer leave_timer;
    /* CONNECTs per login session and minute (a leaf lock). */
    pthread_mutex_t connect_lock;
    struct addrlimit *connects;
    bool locks; /* initialized */
};

/* Sockets of a user that closed on this server and are still counted in
 * its presence hash until due_ms (PRESENCE_GRACE after the last). */
struct leaving {
    char user_id[24];
    unsigned n;
    int64_t due_ms;
    struct leaving *prev, *next;
};

/* An Engine.IO session's data: the session key of its handshake's cookie
 * ("" without a well-formed one), and its refused CONNECTs. */
struct chat_client {
    unsigned refused;
    char session_key[];
};

/* A connected socket's user and place in the roster. */
struct chat_user {
    uint64_t id;
    char id_str[24];
    struct roster_member *member;
    int64_t last_typing_ms;
    char pid[STORE_PID_LEN + 1]; /* connection state recovery's private id */
    bool no_record; /* its recovery failed: it leaves no record, comes back afresh */
    /* The socket's event budget (EVENTS_PER_SECOND, EVENTS_BURST), and
     * the refusals it may still earn before it is disconnected; set up
     * by its first event. */
    bool budgeted;
    struct bucket events, flood;
    int64_t refusals_logged_ms;
    uint32_t refusals_unlogged;
};

/* ---- the replay view and the fan (chat_fanout.c) -------------------------- */

/* A recovering socket's view of the log while it is replayed: its user
 * and its rooms as the events change them, so it gets exactly what it
 * would have received had it stayed. */
struct replay {
    struct eio_session *es;
    uint64_t user;
    bool failed; /* the session did not take a packet */
    char rooms[ROSTER_ROOMS_MAX][STORE_ROOM_ID_MAX];
    size_t n;
};

/* Where one event goes: live, the roster's sockets; replayed, one socket. */
struct fan {
    struct chat *c;
    const char *offset; /* the event's, NULL when it has none (an original's) */
    struct replay *replay;
};

/* ---- a pending reply (chat_common.c) ------------------------------------- */

/* What a message.edit, .delete or .react event asks. */
enum change { CHANGE_EDIT, CHANGE_DELETE, CHANGE_REACT };

/* A pending reply to a socket's event. */
struct pending {
    struct chat *chat;
    struct sio_socket *s;
    bool has_ack;
    uint64_t ack_id;
    char *message; /* SCRIPT_SEND_MESSAGE: the stored JSON */
    /* SCRIPT_SEND_MESSAGE followed by WAIT (REDIS_WAIT_REPLICAS): the
     * script's answer waits for WAIT's, which acks. */
    bool awaits_replicas;
    bool wait_unsent;         /* WAIT could not be queued: not known to be safe */
    const char *stored_error; /* the script's refusal, NULL when stored */
    /* SCRIPT_SOCKET_OPEN and SCRIPT_REPLAY: what a recovering CONNECT
     * brought ("" when nothing); the socket's rooms and the log's last
     * offset when it was opened (a replay). */
    char pid[STORE_PID_LEN + 1];
    char offset[STORE_OFFSET_MAX];
    struct store_offset opened;
    struct replay *replay;
    struct room_ref room;
    enum change change; /* the change scripts */
};

/* ---- shared helpers (chat_common.c) ---------------------------------------- */

/* The wall clock in ms (the presence and message dates). */
int64_t chat_now_ms(void);

/* A Redis reply nobody waits for. */
void chat_ignore_reply(void *priv, struct redisReply *reply);

/* An id given as a string or a number, as decimal text. */
bool chat_id_text(const cJSON *v, char out[24]);

/* A room id given as a string or a number (named rooms). */
bool chat_room_from_json(const cJSON *v, struct room_ref *out);

/* A group id ("12": a named room's number, never 0). */
bool chat_group_id_text(const cJSON *v, char out[24]);

/* A pending reply to s's event, holding a reference to s; NULL on OOM. */
struct pending *chat_pending_new(struct chat *c, struct sio_socket *s, bool has_ack,
                                 uint64_t ack_id);
void chat_pending_free(struct pending *p);

/* Acks result (taken): {ok:…} with what the caller added. */
void chat_ack_result(struct sio_socket *s, bool has_ack, uint64_t ack_id, cJSON *result);

/* Acks {ok:true[, message]} or {ok:false, error}; detail is taken. */
void chat_ack(struct sio_socket *s, bool has_ack, uint64_t ack_id, const char *error,
              cJSON *detail);

/* ---- the event log (chat_common.c) --------------------------------------------- */

/* One logged entry {id, {'e', envelope}}, parsed once (env NULL when it is
 * not an event chatd knows; its strings are the reply's). */
struct log_event {
    const char *id;
    struct store_offset at;
    cJSON *env;
    const char *type;
    const cJSON *data;
};

/* Parses one entry of a reply reading the log: false when malformed. */
bool chat_log_event_parse(const struct redisReply *e, struct log_event *out);

/* ---- client events: one handler each, listed in chat.c's table ------------- */

/* Under the socket's lock, the socket connected (u->member set) and its
 * budget charged; arg is the event's first argument. */
typedef void chat_event_fn(struct chat *c, struct sio_socket *s, struct worker *w, const cJSON *arg,
                           bool has_ack, uint64_t ack_id);

chat_event_fn chat_on_message;   /* chat_messages.c */
chat_event_fn chat_on_edit;      /* chat_changes.c */
chat_event_fn chat_on_delete;    /* chat_changes.c */
chat_event_fn chat_on_react;     /* chat_changes.c */
chat_event_fn chat_on_room_join; /* chat_rooms.c */
chat_event_fn chat_on_room_read; /* chat_rooms.c */
chat_event_fn chat_on_typing;    /* chat_presence.c (never acked) */

/* Charges an event to its socket's budget (chat_budget.c): true when it
 * may run; false when it was answered (refused, or the socket
 * disconnected). */
bool chat_event_budgeted(const struct chat *c, struct sio_socket *s, struct chat_user *u,
                         bool has_ack, uint64_t ack_id);

/* ---- connect and disconnect (chat_connect.c) --------------------------------- */

void chat_on_connect(void *ctx, struct sio_socket *s, struct worker *w, const cJSON *auth);
void chat_on_disconnect(void *ctx, struct sio_socket *s, const char *reason);

/* ---- presence (chat_presence.c) ---------------------------------------------- */

/* One socket of user left this server (held for PRESENCE_GRACE). */
void chat_presence_leave(struct chat *c, const char *user_id);

/* Takes this server id's connections out of presence (at start and at
 * shutdown): 0, or -1 when Redis was unavailable. */
int chat_presence_server_down(struct chat *c, const char *when);

/* ---- recovery (chat_recovery.c) ---------------------------------------------- */

/* Whether the CONNECT's auth asks to recover; fills p's pid and offset. */
bool chat_recovery_asked(const cJSON *auth, struct pending *p);

/* Whether a socket closed for reason may come back (and so keeps a record). */
bool chat_recoverable(const char *reason);

/* The socket's user and rooms under its pid, for RECOVERY_WINDOW. */
void chat_recovery_save(struct chat *c, const struct chat_user *u);

/* Replays the log after p's offset to the recovering socket, held in the
 * roster, then releases it (or closes it when the replay cannot be whole). */
void chat_replay_start(struct pending *p, struct worker *w, const char *const *rooms, size_t n,
                       const struct store_offset *opened);

/* ---- fan-out (chat_fanout.c) and the subscriber (chat_subscriber.c) ---------- */

/* The replay view's rooms as an event changes them. */
void chat_replay_join(struct replay *r, const char *room);
void chat_replay_leave(struct replay *r, const char *room);

/* One event of the channel or the log, {"serverId", "type", "data"}. */
void chat_fan_event(const struct fan *f, const char *type, const cJSON *data);

/* The subscriber's callbacks (subscriber_start). */
void chat_on_channel(void *ctx, const char *channel, const char *payload, size_t len);
int chat_on_resume(void *ctx);

#endif
