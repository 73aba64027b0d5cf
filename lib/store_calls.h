/* store_calls: the typed builders of script calls, the only way to call a
 * script: each knows its script's KEYS and ARGV. */
#ifndef CHATD_STORE_CALLS_H
#define CHATD_STORE_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_keys.h"
#include "store_scripts.h"

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
    bool may_register;     /* the name (and password) are acceptable as a new account */
    bool register_only;    /* POST /register: a known name is 'taken', nothing counted */
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

/* SCRIPT_USERS_SEARCH: users whose canonical name starts with prefix (a
 * canonical form, non-empty), at most limit (1..STORE_USER_SEARCH_MAX) in
 * the order of their canonical names, with presence; counted against the
 * user's searches this minute (per_minute, USER_SEARCHES_PER_MINUTE). */
#define STORE_USER_SEARCH_MAX 20
struct store_users_search_params {
    uint64_t user_id; /* who searches */
    const char *prefix;
    unsigned limit;
    unsigned per_minute;
};
int store_call_users_search(struct store_call *call, const struct store_users_search_params *p);

/* SCRIPT_ROOMS: the rooms of a user, each with its unread count (others'
 * messages after the user's marker), how many of those mention the user
 * and its newest message.  A user in
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
    /* mentions_names' (canonical names, each ended by a line feed), or
     * NULL: the script keeps the members among them and answers
     * {'ok', the JSON as stored, with "mentions"} when any. */
    const char *mentions;
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
    const char *server_id;    /* this server */
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

#endif
