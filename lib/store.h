/* store: the Redis data model.  Every key name, every Lua script and every
 * stored format lives here and only here; the rest of chatd asks this module.
 * Pure: no I/O, no threads.  Commands are built as argv arrays for the caller
 * to send; replies' payloads are parsed here. */
#ifndef CHATD_STORE_H
#define CHATD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Limits of what we accept or build. */
#define STORE_KEY_MAX 320 /* longest key we build */
#define STORE_USERNAME_MAX_CHARS 32
#define STORE_USERNAME_MAX_BYTES (STORE_USERNAME_MAX_CHARS * 4)
#define STORE_ROOM_ID_MAX 48             /* "a:b" with two 20-digit ids, + NUL */
#define STORE_ID_MAX 9007199254740991ULL /* 2^53-1: ids stay exact in JSON */
#define STORE_MESSAGE_ID_BYTES 12        /* random bytes of a message id */
#define STORE_MESSAGE_ID_LEN (STORE_MESSAGE_ID_BYTES * 2)

/* The pub/sub channel shared with the original servers, named once: the
 * Lua scripts splice this literal in, C code uses STORE_CHANNEL. */
#define STORE_CHANNEL_NAME "MESSAGES"

/* chatd's own channel between the servers of a fleet, for what concerns
 * no client directly (the originals neither read nor publish it). */
#define STORE_CONTROL_CHANNEL_NAME "chatd:control"

/* Fixed keys and the channel. */
extern const char STORE_KEY_TOTAL_USERS[];
extern const char STORE_KEY_ONLINE_USERS[];
extern const char STORE_CHANNEL[];         /* STORE_CHANNEL_NAME */
extern const char STORE_CONTROL_CHANNEL[]; /* STORE_CONTROL_CHANNEL_NAME */
/* Prefix of every key chatd adds for itself (never session:/sess:). */
extern const char STORE_OWN_PREFIX[];
/* Live chatd servers: sorted set, member = server id, score = last
 * heartbeat (milliseconds). */
extern const char STORE_KEY_SERVERS[];

/* Key builders: write the key into buf (NUL-terminated) and return its
 * length, or -1 when it does not fit in n bytes (buf is then undefined). */
int store_key_user(char *buf, size_t n, uint64_t user_id);
int store_key_user_rooms(char *buf, size_t n, uint64_t user_id);
int store_key_username(char *buf, size_t n, const char *name, size_t len);
/* chatd's index of usernames by canonical form (lib/username.h): one user
 * per canonical name, so look-alikes do not become new users. */
int store_key_username_canonical(char *buf, size_t n, const char *canonical);
/* The SCAN pattern of the originals' username keys, and the name in one
 * (0, or -1 when key is not one). */
extern const char STORE_USERNAME_KEY_PATTERN[];
int store_username_of_key(const char *key, size_t len, const char **name, size_t *name_len);
int store_key_room(char *buf, size_t n, const char *room_id);
int store_key_room_name(char *buf, size_t n, const char *room_id);
int store_key_session(char *buf, size_t n, const char *token_digest_hex);
int store_key_login_fails_pair(char *buf, size_t n, const char *name, size_t len,
                               const char *addr);
int store_key_login_fails_addr(char *buf, size_t n, const char *addr);
int store_key_registrations_addr(char *buf, size_t n, const char *addr);
int store_key_logins_addr(char *buf, size_t n, const char *addr);
/* A server's presence: hash user id -> sockets of that user on it. */
int store_key_presence(char *buf, size_t n, const char *server_id);
/* A user's message counter of the current minute (rate limit). */
int store_key_message_rate(char *buf, size_t n, uint64_t user_id);
/* A message a user sent with a clientId: its JSON, for
 * STORE_CLIENT_ID_TTL_S, so a retry with the same clientId is not stored twice. */
int store_key_sent(char *buf, size_t n, uint64_t user_id, const char *client_id);
/* A user's typing gate: exists while their last typing is too recent. */
int store_key_typing(char *buf, size_t n, uint64_t user_id);
/* A room's message index: hash message id -> its score in `room:{id}`, so
 * edits, deletes and reactions find a message without scanning the room.
 * Kept by the scripts that write messages; the originals' messages (and
 * the demo seed's) are not in it. */
int store_key_message_index(char *buf, size_t n, const char *room_id);

/* Connection state recovery.  The event log: a stream every publishing
 * script appends each event to (its id is the event's offset), trimmed
 * to about STORE_EVENTS_MAX entries and expiring STORE_EVENTS_TTL_S
 * after the last event.  A socket whose transport was lost leaves a
 * record under its private id (pid, STORE_PID_LEN lowercase hex digits):
 * {"user":"<id>","rooms":[…],"first":"<offset>","last":"<offset>"} for
 * RECOVERY_WINDOW: a recovery may name an offset in [first, last] only
 * (from the log's last one when the socket began to the last one it was
 * sent).  At most STORE_REPLAY_MAX missed events of at most
 * STORE_REPLAY_MAX_BYTES (their envelopes) are replayed; more: no
 * recovery.  The byte bound, half a chat session's outbox, keeps a replay
 * cheap to read and deliverable. */
#define STORE_KEY_EVENTS_NAME "chatd:events"
/* The bytes of the envelopes in the log (a string, the log's TTL). */
#define STORE_KEY_EVENTS_BYTES_NAME "chatd:events:bytes"
/* The log's default byte budget (EVENT_LOG_BYTES). */
#define STORE_EVENTS_BYTES_DEFAULT 67108864 /* 64 MiB */
#define STORE_EVENTS_MAX 10000
#define STORE_EVENTS_TTL_S 3600
#define STORE_REPLAY_MAX 1000
#define STORE_REPLAY_MAX_BYTES (512 * 1024)
#define STORE_PID_BYTES 16
#define STORE_PID_LEN (STORE_PID_BYTES * 2)
#define STORE_OFFSET_MAX 42 /* "<20 digits>-<20 digits>" and NUL */
#define STORE_STR_(x) #x
#define STORE_STR(x) STORE_STR_(x)
extern const char STORE_KEY_EVENTS[];
int store_key_recovery(char *buf, size_t n, const char *pid);
bool store_pid_valid(const char *s, size_t len);

/* An event's offset: a stream id "<ms>-<seq>". */
struct store_offset {
    uint64_t ms, seq;
};
/* 0, or -1 when s is not a stream id. */
int store_offset_parse(const char *s, size_t len, struct store_offset *out);
/* <0, 0, >0 as a is before, the same as, after b. */
int store_offset_cmp(const struct store_offset *a, const struct store_offset *b);
/* o as a stream id, into out. */
void store_offset_format(const struct store_offset *o, char out[STORE_OFFSET_MAX]);
/* A recovery record's JSON (malloc'd, caller frees), NULL on OOM. */
char *store_recovery_encode(uint64_t user_id, const char *const *rooms, size_t n,
                            const struct store_offset *first, const struct store_offset *last);

/* The index lives this long after the room's last indexed write. */
#define STORE_MESSAGE_INDEX_TTL_S (30u * 24 * 3600)
/* Distinct emoji on one message; longest emoji in bytes. */
#define STORE_REACTIONS_MAX 20
#define STORE_EMOJI_MAX_BYTES 32
/* A user's read markers: hash room id -> "<score> <message id>". */
int store_key_read_markers(char *buf, size_t n, uint64_t user_id);

/* Read markers live this long, renewed by every read. */
#define STORE_READ_TTL_S (180u * 24 * 3600)
/* GET /rooms counts others' unread messages among the newest
 * STORE_UNREAD_SCAN after the marker, and reports at most STORE_UNREAD_CAP
 * (with a flag saying there may be more), so one listing stays bounded. */
#define STORE_UNREAD_CAP 99
#define STORE_UNREAD_SCAN 100
/* A message stored before the index existed is found by scanning this
 * many of its room's newest messages; older ones cannot be marked. */
#define STORE_READ_FALLBACK_SCAN 100

/* Group rooms (numbered like named rooms, so the originals list them by
 * `room:{id}:name`); chatd's own keys, kept without a TTL like the rooms:
 * the set of member ids, the hash {creator, public}, the index of public
 * groups (sorted set, score = id) and the counter that numbers groups. */
int store_key_group_members(char *buf, size_t n, const char *room_id);
int store_key_group(char *buf, size_t n, const char *room_id);
/* Members who left a group by themselves: nobody else may add them back. */
int store_key_group_left(char *buf, size_t n, const char *room_id);
/* The groups a user created and is still a member of (GROUPS_PER_USER). */
int store_key_groups_owned(char *buf, size_t n, uint64_t user_id);
/* Counters with a window: groups a user created this hour
 * (GROUPS_PER_HOUR), membership changes a user made this minute
 * (MEMBERSHIP_CHANGES_PER_MINUTE), times others added a user to a group
 * this hour (GROUP_ADDS_PER_HOUR). */
int store_key_group_rate(char *buf, size_t n, uint64_t user_id);
int store_key_membership_rate(char *buf, size_t n, uint64_t user_id);
int store_key_added_rate(char *buf, size_t n, uint64_t user_id);
#define STORE_GROUP_RATE_WINDOW_S 3600
#define STORE_MEMBERSHIP_RATE_WINDOW_S 60
#define STORE_ADDED_RATE_WINDOW_S 3600
extern const char STORE_KEY_PUBLIC_GROUPS[];
extern const char STORE_KEY_GROUP_COUNTER[];

/* Parses a canonical decimal id: digits only, no sign, no leading zero
 * (except "0" itself when allow_zero), at most STORE_ID_MAX.
 * Returns 0 and sets *out, or -1 leaving *out unchanged. */
int store_parse_id(const char *s, size_t len, bool allow_zero, uint64_t *out);

/* Parses the value of `username:{name}` ("user:{id}"): 0 or -1. */
int store_parse_user_ref(const char *s, size_t len, uint64_t *out);

enum room_kind { ROOM_NAMED, ROOM_PRIVATE };

struct room_ref {
    enum room_kind kind;
    uint64_t a, b;              /* private rooms: the two users, a < b */
    char id[STORE_ROOM_ID_MAX]; /* canonical text form */
};

/* Parses a room id: a named room ("0", "12") or a canonical private room
 * "a:b" with 0 < a < b.  Returns 0, or -1 for anything else. */
int store_room_parse(const char *s, size_t len, struct room_ref *out);

/* The private room of two distinct users.  Returns 0, -1 when u1 == u2 or
 * either id is 0. */
int store_room_private(uint64_t u1, uint64_t u2, struct room_ref *out);

/* Whether user is a member of a private room by its id alone (a or b).
 * Named rooms need the user's room set: returns false for them. */
bool store_room_is_private_member(const struct room_ref *room, uint64_t user_id);

/* Validates a username: 1..32 code points of valid UTF-8 with no
 * whitespace or control characters.  Returns NULL when valid, otherwise a
 * message for the client (static storage). */
const char *store_username_problem(const char *s, size_t len);

/* Validates message text: non-empty valid UTF-8 of at most max_bytes, not
 * only whitespace, with no control character but tab and line feed (C0,
 * DEL, C1) and no bidirectional embedding, override or isolate (U+202A–
 * U+202E, U+2066–U+2069).  Refused, never stripped: what is stored is what
 * was sent.  Returns NULL or a message for the client.  (Edits too.) */
const char *store_message_problem(const char *s, size_t len, size_t max_bytes);

/* Validates a reaction: one emoji (a pictograph, optionally with variation
 * selector, skin tone, keycap or tag sequence, or several joined by ZWJ;
 * or a flag of two regional indicators), at most STORE_EMOJI_MAX_BYTES of
 * valid UTF-8.  Returns NULL or a message for the client. */
const char *store_emoji_problem(const char *s, size_t len);

/* Whether s (len bytes) is a message id as chatd writes it
 * (STORE_MESSAGE_ID_LEN lowercase hex digits). */
bool store_message_id_valid(const char *s, size_t len);

/* A client's own id for a message it sends (retries carry the same one):
 * 1..STORE_CLIENT_ID_MAX of A-Z a-z 0-9 _ - */
#define STORE_CLIENT_ID_MAX 64
#define STORE_CLIENT_ID_TTL_S 600u
bool store_client_id_valid(const char *s, size_t len);

/* Validates a group's name: 1..STORE_GROUP_NAME_MAX_CHARS code points of
 * valid UTF-8, no control characters, no bidirectional embedding, override
 * or isolate (as store_message_problem), not only whitespace.  Returns NULL
 * when valid, otherwise a message for the client (static storage). */
#define STORE_GROUP_NAME_MAX_CHARS 64
#define STORE_GROUP_NAME_MAX_BYTES (STORE_GROUP_NAME_MAX_CHARS * 4)
const char *store_group_name_problem(const char *s, size_t len);

/* Members one POST /rooms may name (the creator besides), members a group
 * may hold, and public groups one listing answers. */
#define STORE_GROUP_CREATE_MAX 100
#define STORE_GROUP_MEMBERS_MAX 1000
#define STORE_GROUP_LIST_MAX 100

/* A group as the scripts answer and publish it (JSON of
 * {id, name, public, creator, members}; an empty Lua list arrives as {}),
 * checked and normalized to {"id","name","names":[name],"public",
 * "creator","members":[ids in numeric order],"memberCount"}; NULL when it
 * is not one.  Its summary (room.added) has memberCount and no members:
 * {id, name, public, creator, memberCount}, normalized the same way
 * without "members".  Caller frees with cJSON_Delete. */
cJSON *store_group_from_object(const cJSON *o);

/* A list of member ids (JSON array of id strings, or the {} of an empty
 * Lua list) as a new array of canonical id strings; NULL when not one. */
cJSON *store_group_members(const cJSON *v);

/* Strict UTF-8 check (no overlongs, no surrogates, <= U+10FFFF).  When
 * chars is not NULL, it receives the number of code points. */
bool store_utf8_valid(const char *s, size_t len, size_t *chars);

/* A chat message as chatd writes it. */
struct store_message {
    uint64_t from;
    int64_t date; /* unix seconds */
    const char *text;
    size_t text_len;
    const char *room_id;
    char id[STORE_MESSAGE_ID_LEN + 1]; /* empty string: no id */
};

/* Encodes a message as the JSON member stored in `room:{id}`:
 * {"from":"1","date":…,"message":"…","roomId":"0","id":"…"}.
 * Returns a malloc'd NUL-terminated string (caller frees), NULL on OOM. */
char *store_message_encode(const struct store_message *msg);

/* Parses a stored message in any form the originals or chatd wrote
 * (`from` string or number, `date` integer, float or numeric string) and
 * returns the normalized object {"from":"<id>","date":<int>,"message",
 * "roomId"[,"id"]} (caller frees with cJSON_Delete), or NULL when the
 * member is not a message. */
cJSON *store_message_normalize(const char *json, size_t len);

/* The same for a message already parsed (e.g. an event's data).  chatd's
 * additions come along when well-formed: `edited` (integer seconds) and
 * `reactions` (store_reactions_normalize's, left out when empty). */
cJSON *store_message_from_object(const cJSON *o);

/* A message's reactions, {emoji: ["<user id>", …]}, keeping at most
 * STORE_REACTIONS_MAX emoji with at least one user id each (ids as
 * strings; anything else is dropped).  Always an object ({} when none);
 * NULL only on OOM. */
cJSON *store_reactions_normalize(const cJSON *reactions);

/* Lua scripts, loaded once per connection and called with EVALSHA. */
enum store_script {
    SCRIPT_SESSION,        /* resolve a session, refresh its TTL */
    SCRIPT_LOGIN_LOOKUP,   /* rate limit, count the attempt, id and hash */
    SCRIPT_LOGIN_RELEASE,  /* uncount an attempt that did not fail */
    SCRIPT_LOGIN_FAILED,   /* a pair's wait starts when its attempt failed */
    SCRIPT_REGISTER,       /* create a user atomically */
    SCRIPT_REHASH,         /* replace a password hash if unchanged */
    SCRIPT_ONLINE_USERS,   /* online ids with usernames */
    SCRIPT_USERS,          /* usernames and presence of ids */
    SCRIPT_ROOMS,          /* a user's rooms with names */
    SCRIPT_HISTORY,        /* session, membership check, a page of messages */
    SCRIPT_CREATE_PRIVATE, /* add a private room to both users' sets */
    SCRIPT_PRELOAD,        /* General's name and newest messages */
    SCRIPT_SOCKET_OPEN,    /* session, rooms, presence +1 (user.connected) */
    SCRIPT_SEND_MESSAGE,   /* check, rate-limit, store, publish (+show.room) */
    SCRIPT_PRESENCE_LEAVE, /* presence -1 (user.disconnected) */
    SCRIPT_HEARTBEAT,      /* refresh this server, drop dead ones */
    SCRIPT_SERVER_DOWN,    /* drop this server's presence (shutdown) */
    SCRIPT_EDIT_MESSAGE,   /* check, rate-limit, replace the text, publish */
    SCRIPT_DELETE_MESSAGE, /* check, rate-limit, remove, publish */
    SCRIPT_REACT_MESSAGE,  /* check, rate-limit, toggle a reaction, publish */
    SCRIPT_READ_MARK,      /* move a read marker forward, publish room.read */
    SCRIPT_GROUP_CREATE,   /* a new group with its members (room.added) */
    SCRIPT_GROUP_ADD,      /* join a public group, or add a member */
    SCRIPT_GROUP_REMOVE,   /* leave, or the creator removes a member */
    SCRIPT_GROUP_MEMBERS,  /* a group's members with presence */
    SCRIPT_GROUPS_PUBLIC,  /* the public groups */
    SCRIPT_TYPING,         /* per-user gate, then log and publish typing */
    SCRIPT_RECOVERY_SAVE,  /* a lost socket's recovery record */
    SCRIPT_REPLAY,         /* the logged events after an offset */
    SCRIPT_ROOM_JOIN,      /* room.join's membership check and log position */
    SCRIPT_CATCH_UP,       /* the log's position, or what a subscriber missed */
    SCRIPT_LOGOUT,         /* end a session, tell the fleet (STORE_CONTROL_CHANNEL) */
    SCRIPT_COUNT
};

/* The script's source (static storage). */
const char *store_script_source(enum store_script s);

/* The script's SHA-1 as 40 hex characters (static storage, computed once
 * on first use; thread-safe). */
const char *store_script_sha(enum store_script s);

/* ---- events on the channel --------------------------------------------- */

/* Longest envelope we publish, NUL included: a message of 64 KiB and room
 * for its JSON escapes. */
#define STORE_ENVELOPE_MAX (64 * 1024 + 512)

/* The envelope of every event on STORE_CHANNEL, as the original servers
 * write it: {"serverId":…,"type":…,"data":<data_json>}.  The server id and
 * type are escaped as JSON strings; data_json is a JSON object, copied as
 * is.  Returns a malloc'd NUL-terminated string (caller frees) and its
 * length in *len (when not NULL), or NULL when an argument is missing, the
 * envelope would reach STORE_ENVELOPE_MAX, or memory ran out.  The scripts
 * publish the same envelope with their own Lua helper. */
char *store_envelope(const char *server_id, const char *type, const char *data_json, size_t *len);

/* Reads an envelope off the channel (ours, the fleet's or an original
 * server's): the parsed JSON (caller frees with cJSON_Delete) and, inside
 * it, its type and its data object.  NULL when payload is not an envelope
 * with a string type and an object data (*type and *data untouched). */
cJSON *store_envelope_read(const char *payload, size_t len, const char **type, const cJSON **data);

/* ---- the control channel ----------------------------------------------- */

/* What a message of STORE_CONTROL_CHANNEL asks. */
enum store_control {
    STORE_CONTROL_LOGOUT, /* a login session ended: close its connections */
};

/* Reads a message of STORE_CONTROL_CHANNEL: its kind, and for
 * STORE_CONTROL_LOGOUT the session's token digest (lowercase hex, as
 * store_key_session takes it) into digest_hex.  -1 when it is no message
 * this server knows. */
int store_control_read(const char *payload, size_t len, char digest_hex[65]);

/* ---- script calls ------------------------------------------------------ */

/* One script call, built by the store_call_… function of its script, so
 * that only this module knows the order of a script's KEYS and ARGV.
 * Keys and numbers are formatted into the call's own storage; strings the
 * caller passes (server id, message JSON, hashes…) are pointed to, so
 * they must outlive the sending.  Do not copy a call: its pointers may
 * point into its own storage. */
#define STORE_CALL_USERS_MAX 100 /* ids one SCRIPT_USERS call looks up */
#define STORE_CALL_KEYS_MAX 7
/* The most args of any script: SCRIPT_GROUP_CREATE's members and seven. */
#define STORE_CALL_ARGS_MAX (STORE_CALL_USERS_MAX + 8)
#define STORE_CALL_STORAGE (STORE_CALL_KEYS_MAX * STORE_KEY_MAX + STORE_CALL_ARGS_MAX * 24)
/* EVAL source nkeys keys… args… and the event log's byte budget. */
#define STORE_CALL_ARGV_MAX (4 + STORE_CALL_KEYS_MAX + STORE_CALL_ARGS_MAX)

struct store_call {
    enum store_script script;
    int nkeys, nargs;
    const char *keys[STORE_CALL_KEYS_MAX];
    const char *args[STORE_CALL_ARGS_MAX];
    bool failed; /* an argument was missing or did not fit */
    size_t used; /* bytes of storage taken */
    char storage[STORE_CALL_STORAGE];
};

/* Every builder returns 0, or -1 when an argument is missing or invalid
 * or does not fit (the call must not be sent then). */

/* SCRIPT_SESSION: the user of a session key, renewing it when half spent. */
int store_call_session(struct store_call *call, const char *session_key, unsigned ttl_s);

/* SCRIPT_LOGOUT: deletes the session of session_key (a store_key_session
 * key) and publishes STORE_CONTROL_LOGOUT for it on STORE_CONTROL_CHANNEL,
 * so every server of the fleet closes its connections. */
int store_call_logout(struct store_call *call, const char *session_key);

struct store_login_lookup_params {
    const char *username;  /* validated, NUL-terminated */
    const char *canonical; /* its canonical form (lib/username.h) */
    bool may_register;     /* the name is acceptable as a new one */
    const char *client_addr;
    unsigned max_fails_user;         /* of one (username, address) before delays */
    unsigned max_fails_addr;         /* of one address in the window */
    unsigned window_s;               /* how long failed attempts count */
    unsigned delay_max_s;            /* the longest delay of a pair */
    unsigned registrations_per_hour; /* of one address; 0: registration is closed */
    unsigned logins_per_minute;      /* attempts of one address that cost a hash */
};
/* SCRIPT_LOGIN_LOOKUP: checks the limits, counts the attempt against them
 * (and a registration against the address's, when the name is new). */
int store_call_login_lookup(struct store_call *call, const struct store_login_lookup_params *p);

/* SCRIPT_LOGIN_RELEASE: uncounts an attempt on the canonical name from
 * client_addr. */
int store_call_login_release(struct store_call *call, const char *canonical,
                             const char *client_addr);

/* SCRIPT_LOGIN_FAILED: the attempt on the canonical name from client_addr
 * failed now (its pair's wait counts from here). */
int store_call_login_failed(struct store_call *call, const char *canonical,
                            const char *client_addr);

/* SCRIPT_REGISTER: a new user, unless the name, or one of the same
 * canonical form, was taken meanwhile. */
int store_call_register(struct store_call *call, const char *username, const char *canonical,
                        const char *password_hash);

struct store_rehash_params {
    uint64_t user_id;
    const char *old_hash; /* replaced only if still stored */
    const char *new_hash;
};
/* SCRIPT_REHASH */
int store_call_rehash(struct store_call *call, const struct store_rehash_params *p);

/* SCRIPT_ONLINE_USERS */
int store_call_online_users(struct store_call *call);

/* SCRIPT_USERS: 1..STORE_CALL_USERS_MAX ids. */
int store_call_users(struct store_call *call, const uint64_t *ids, size_t count);

/* SCRIPT_ROOMS: the rooms of a user, each with its unread count (others'
 * messages after the user's marker) and its newest message.  A user in
 * more than STORE_ROOMS_LIST_MAX rooms gets the first STORE_ROOMS_LIST_MAX
 * by id as text (General, "0", first), so one listing stays bounded. */
#define STORE_ROOMS_LIST_MAX 1000
int store_call_rooms(struct store_call *call, uint64_t user_id);

struct store_history_params {
    const char *session_key; /* who asks (a store_key_session key): a member */
    unsigned session_ttl;    /* renews the session as SCRIPT_SESSION does */
    const struct room_ref *room;
    long offset; /* >= 0, from the newest */
    long size;   /* >= 1 */
};
/* SCRIPT_HISTORY: resolves the session (as SCRIPT_SESSION) and reads a page
 * of the room if its user is a member, in one round trip. */
int store_call_history(struct store_call *call, const struct store_history_params *p);

/* SCRIPT_CREATE_PRIVATE: a private room into both users' sets, each of
 * at most rooms_max rooms (ROOMS_PER_USER). */
int store_call_create_private(struct store_call *call, const struct room_ref *room,
                              unsigned rooms_max);

/* SCRIPT_PRELOAD: a named room's name and its newest count (>= 1) messages. */
int store_call_preload(struct store_call *call, const char *room_id, unsigned count);

struct store_socket_open_params {
    const char *session_key;
    const char *server_id; /* this server */
    unsigned session_ttl_s;
    int64_t now_ms;
    unsigned presence_ttl_s;
    /* Both set: try to recover this pid after this offset (validated:
     * store_pid_valid, store_offset_parse); the answer's 4th item is the
     * record, or false.  The 5th is the log's last offset ("0-0": none). */
    const char *pid;
    const char *offset;
    unsigned rooms_max; /* ROOMS_PER_USER: the rooms answered, at most */
};
/* SCRIPT_SOCKET_OPEN */
int store_call_socket_open(struct store_call *call, const struct store_socket_open_params *p);

struct store_send_message_params {
    const struct room_ref *room;
    uint64_t sender;
    const char *message_json; /* store_message_encode's */
    const char *message_id;   /* its id, for the room's message index */
    const char *envelope;     /* store_envelope(server_id, "message", message_json) */
    int64_t sent_ms;          /* the score: keeps the order within a second */
    unsigned per_minute;      /* the sender's rate limit */
    const char *server_id;    /* this server */
    /* The client's id for the message (store_client_id_valid), or NULL: a
     * second send with the same one within STORE_CLIENT_ID_TTL_S answers
     * {'dup', the first's JSON} and stores nothing. */
    const char *client_id;
    unsigned rooms_max; /* ROOMS_PER_USER, for a private room's users */
};
/* SCRIPT_SEND_MESSAGE */
int store_call_send_message(struct store_call *call, const struct store_send_message_params *p);

/* What edits, deletes and reactions share: the message, who asks (a
 * member, checked as SCRIPT_SEND_MESSAGE does, and rate-limited with the
 * same counter) and who publishes. */
struct store_change_target {
    const struct room_ref *room;
    uint64_t user_id;
    const char *message_id; /* store_message_id_valid */
    unsigned per_minute;
    const char *server_id; /* this server */
};

/* The change scripts answer {'ok', <the message as now stored>} (a
 * delete: as it was), or one status: 'forbidden' (not a member),
 * 'limited', 'notfound' (no such id in the room's index), 'notyours'
 * (edit and delete: someone else's message), 'toomany' (a new emoji past
 * STORE_REACTIONS_MAX).  They publish message.edit (the message),
 * message.delete {roomId, id} and message.react {roomId, id, reactions}. */

struct store_edit_message_params {
    struct store_change_target target;
    const char *text; /* validated: store_message_problem */
    int64_t edited;   /* unix seconds */
};
/* SCRIPT_EDIT_MESSAGE: the sender's own message gets text and `edited`. */
int store_call_edit_message(struct store_call *call, const struct store_edit_message_params *p);

/* SCRIPT_DELETE_MESSAGE: the sender's own message leaves the room. */
int store_call_delete_message(struct store_call *call, const struct store_change_target *t);

/* SCRIPT_REACT_MESSAGE: toggles the user's emoji (store_emoji_problem) on
 * any message of the room. */
int store_call_react_message(struct store_call *call, const struct store_change_target *t,
                             const char *emoji);

struct store_presence_leave_params {
    const char *server_id; /* this server */
    const char *user_id;   /* as counted by SCRIPT_SOCKET_OPEN */
    unsigned count;        /* sockets that left (0 counts as 1) */
    int64_t now_ms;
    int64_t timeout_ms; /* servers silent this long are dead */
};
/* SCRIPT_PRESENCE_LEAVE: count sockets of a user left this server. */
int store_call_presence_leave(struct store_call *call, const struct store_presence_leave_params *p);

struct store_heartbeat_params {
    const char *server_id; /* this server */
    int64_t now_ms;
    int64_t timeout_ms; /* servers silent this long are dead */
    unsigned presence_ttl_s;
};
/* SCRIPT_HEARTBEAT */
int store_call_heartbeat(struct store_call *call, const struct store_heartbeat_params *p);

struct store_server_down_params {
    const char *server_id; /* this server */
    int64_t now_ms;
    int64_t timeout_ms; /* servers silent this long are dead */
};
/* SCRIPT_SERVER_DOWN */
int store_call_server_down(struct store_call *call, const struct store_server_down_params *p);

struct store_read_mark_params {
    const struct room_ref *room;
    uint64_t user_id;       /* who read: must be a member */
    const char *message_id; /* the newest message read (store_message_id_valid) */
    const char *server_id;  /* this server */
};
/* SCRIPT_READ_MARK: -> 'ok' (moved, room.read published) | 'same' (already
 * there) | 'forbidden' | 'unknown' (no such message) | 'backwards'. */
int store_call_read_mark(struct store_call *call, const struct store_read_mark_params *p);

struct store_group_create_params {
    uint64_t creator;
    const char *name; /* validated, NUL-terminated */
    bool public_room;
    const uint64_t *members; /* others, 0..STORE_GROUP_CREATE_MAX, no repeats */
    size_t count;
    const char *server_id;   /* this server */
    unsigned groups_per_hour; /* the creator's creations per hour */
    unsigned groups_per_user; /* groups the creator may own (created, still in) */
    unsigned adds_per_hour;   /* times others may add one user per hour */
    unsigned rooms_max;       /* ROOMS_PER_USER */
};
/* SCRIPT_GROUP_CREATE: -> {'ok', group JSON} | {'nouser', id} |
 * {'rooms', id} (that user is in ROOMS_PER_USER rooms) |
 * {'limited', seconds} (GROUPS_PER_HOUR) | {'toomany'} (GROUPS_PER_USER) |
 * {'busy', seconds, id} (that member was added too often this hour).
 * Each member gets room.added with the group's summary (memberCount, no
 * member list). */
int store_call_group_create(struct store_call *call, const struct store_group_create_params *p);

enum store_group_add_mode { STORE_GROUP_JOIN, STORE_GROUP_INVITE };
struct store_group_change_params {
    const char *room_id;            /* a named room's canonical id */
    uint64_t actor;                 /* who asks */
    uint64_t target;                /* who joins, is added or removed */
    enum store_group_add_mode mode; /* SCRIPT_GROUP_ADD only */
    const char *server_id;          /* this server */
    unsigned changes_per_minute;    /* the actor's membership changes */
    unsigned adds_per_hour;         /* SCRIPT_GROUP_ADD: times others may add one user */
    unsigned rooms_max;             /* SCRIPT_GROUP_ADD only: ROOMS_PER_USER */
};
/* SCRIPT_GROUP_ADD: -> {'ok', group JSON} | {problem}, problem one of
 * 'nogroup', 'nouser', 'forbidden', 'exists', 'full', 'rooms' (the target
 * is in ROOMS_PER_USER rooms), 'left' (the target left by themselves: only
 * they may come back), {'limited', seconds} (the actor's changes),
 * {'busy', seconds} (the target's additions).  Publishes room.added (the
 * summary) to the target and room.member {id, userId, change:"added",
 * memberCount} to the room. */
int store_call_group_add(struct store_call *call, const struct store_group_change_params *p);
/* SCRIPT_GROUP_REMOVE: -> {'ok'} | {problem}, problem one of 'nogroup',
 * 'notmember', 'forbidden', {'limited', seconds}.  Leaving by oneself
 * marks the user as having left; the last member out deletes the group's
 * keys; else room.member {…, change:"removed"} goes to the room. */
int store_call_group_remove(struct store_call *call, const struct store_group_change_params *p);

/* SCRIPT_GROUP_MEMBERS: members of a group (to a member, or anyone for a
 * public group) -> {'ok', {id, name, online, …}} | {'nogroup'} |
 * {'forbidden'}. */
int store_call_group_members(struct store_call *call, const char *room_id, uint64_t user_id);

/* SCRIPT_GROUPS_PUBLIC: the first count (1..STORE_GROUP_LIST_MAX) public
 * groups by id -> {{id, name, members}, …}. */
int store_call_groups_public(struct store_call *call, unsigned count);

/* SCRIPT_TYPING: logs and publishes a typing envelope of user, unless the
 * user's typing was published less than gate_ms ago (by any of their
 * sockets on any server): a per-user rate. */
int store_call_typing(struct store_call *call, uint64_t user_id, const char *envelope,
                      unsigned gate_ms);
/* SCRIPT_RECOVERY_SAVE: record (store_recovery_encode's) under pid for ttl_s. */
int store_call_recovery_save(struct store_call *call, const char *pid, const char *record,
                             unsigned ttl_s);
/* SCRIPT_ROOM_JOIN: whether user may join room (a private room of theirs
 * whose other user exists, or a group of their set) and the log's
 * position at that read: -> {1 | 0, stream id}. */
int store_call_room_join(struct store_call *call, const struct room_ref *room, uint64_t user_id);
/* Events one SCRIPT_CATCH_UP answers at most. */
#define STORE_CATCH_UP_PAGE 1000
/* SCRIPT_CATCH_UP: offset NULL: {log position}; else {log position, the
 * newest id trimmed or deleted ("0-0": none), up to STORE_CATCH_UP_PAGE
 * events after offset as SCRIPT_REPLAY answers them}. */
int store_call_catch_up(struct store_call *call, const char *offset);
/* SCRIPT_REPLAY: the events after offset, or nil when more than
 * STORE_REPLAY_MAX or STORE_REPLAY_MAX_BYTES. */
int store_call_replay(struct store_call *call, const char *offset);

/* The event log's byte budget (EVENT_LOG_BYTES), every publishing
 * script's last argument; set once at start, before any call is sent. */
void store_set_event_log_bytes(uint64_t bytes);

/* The call's arguments as sent (args holds STORE_CALL_ARGS_MAX + 1): its
 * own, then for a publishing script the event log's byte budget.
 * Returns how many, or -1 for a call whose build failed. */
int store_call_args(const struct store_call *call, const char *args[STORE_CALL_ARGS_MAX + 1]);

/* The call as an EVAL command (for blocking connections, which load no
 * scripts): fills argv with EVAL, the source, the number of keys, the keys
 * and the args.  Returns argc, or -1 for a call whose build failed. */
int store_call_eval_argv(const struct store_call *call, const char *argv[STORE_CALL_ARGV_MAX]);

/* Demo data: the users, the General room, one private room for every
 * pair with greetings, five messages in General. */
#define STORE_DEMO_USERS 4
extern const char *const STORE_DEMO_USERNAMES[STORE_DEMO_USERS];
extern const char STORE_DEMO_PASSWORD[];

/* Receives one Redis command as an argv array (strings may not be
 * NUL-terminated; use lens).  Returns 0, or -1 to stop building. */
typedef int store_emit_fn(void *ctx, int argc, const char **argv, const size_t *lens);

/* Emits the commands that write the demo data into an empty database,
 * given one password hash per demo user, the time now, and a source of
 * random numbers (for greetings and message ids; random(ctx) returns a
 * uniformly distributed 32-bit value).  Returns 0, or -1 when emit failed
 * or memory ran out. */
int store_seed_commands(const char *const hashes[STORE_DEMO_USERS], int64_t now,
                        uint32_t (*random)(void *ctx), store_emit_fn *emit, void *ctx);

#endif
