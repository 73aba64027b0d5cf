/* store_keys: the Redis key names chatd reads and writes, the ids and room
 * ids inside them, and the limits and lifetimes of what they hold.  Pure. */
#ifndef CHATD_STORE_KEYS_H
#define CHATD_STORE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits of what we accept or build. */
#define STORE_KEY_MAX 320                /* longest key we build */
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
 * length, or -1 when it does not fit in n bytes (buf is then undefined).
 * The scripts of lib/redis-scripts/ build some of these names inside Redis
 * too ('user:' .. id): keep both in step. */
int store_key_user(char *buf, size_t n, uint64_t user_id);
int store_key_user_rooms(char *buf, size_t n, uint64_t user_id);
int store_key_username(char *buf, size_t n, const char *name, size_t len);
/* chatd's index of usernames by canonical form (lib/username.h): one user
 * per canonical name, so look-alikes do not become new users. */
int store_key_username_canonical(char *buf, size_t n, const char *canonical);
/* chatd's index for people search: a sorted set, every score 0, of
 * "<canonical name>\0<id>" (STORE_KEY_USER_SEARCH_SEP), so a prefix of the
 * canonical form is one ZRANGE BYLEX; filled by register.lua and by the
 * username index's backfill at start. */
extern const char STORE_KEY_USER_SEARCH[];
#define STORE_KEY_USER_SEARCH_SEP '\0'
/* A user's people searches this minute (USER_SEARCHES_PER_MINUTE). */
int store_key_user_search_rate(char *buf, size_t n, uint64_t user_id);
#define STORE_USER_SEARCH_RATE_WINDOW_S 60
/* The SCAN pattern of the originals' username keys, and the name in one
 * (0, or -1 when key is not one). */
extern const char STORE_USERNAME_KEY_PATTERN[];
int store_username_of_key(const char *key, size_t len, const char **name, size_t *name_len);
int store_key_room(char *buf, size_t n, const char *room_id);
int store_key_room_name(char *buf, size_t n, const char *room_id);
/* A login session's key: STORE_SESSION_KEY_PREFIX and its token's digest. */
#define STORE_SESSION_KEY_PREFIX "chatd:session:"
int store_key_session(char *buf, size_t n, const char *token_digest_hex);
int store_key_login_fails_pair(char *buf, size_t n, const char *name, size_t len, const char *addr);
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

/* The index lives this long after the room's last indexed write. */
#define STORE_MESSAGE_INDEX_TTL_S (30u * 24 * 3600)
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

/* Whether s (len bytes) is a message id as chatd writes it
 * (STORE_MESSAGE_ID_LEN lowercase hex digits). */
bool store_message_id_valid(const char *s, size_t len);

/* A client's own id for a message it sends (retries carry the same one):
 * 1..STORE_CLIENT_ID_MAX of A-Z a-z 0-9 _ - */
#define STORE_CLIENT_ID_MAX 64
#define STORE_CLIENT_ID_TTL_S 600u
bool store_client_id_valid(const char *s, size_t len);

#endif
