/* store_scripts: the Lua scripts of lib/redis-scripts/ (one .lua file each,
 * embedded at build time), their names, sources and SHA-1s. */
#ifndef CHATD_STORE_SCRIPTS_H
#define CHATD_STORE_SCRIPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
    SCRIPT_USERS_SEARCH,   /* people search by canonical name prefix, rate-limited */
    SCRIPT_COUNT
};

/* The script's source (static storage): its preludes' text and its own,
 * as in lib/redis-scripts/ without the header comments. */
const char *store_script_source(enum store_script s);

/* The script's SHA-1 as 40 hex characters (static storage, computed once
 * on first use; thread-safe). */
const char *store_script_sha(enum store_script s);

/* The script's name: its file's, lib/redis-scripts/<name>.lua. */
const char *store_script_name(enum store_script s);

/* Whether the script uses the publish prelude, which takes the event log's
 * byte budget off the end of ARGV (store_call_args appends it). */
bool store_script_publishes(enum store_script s);

/* Entries of the missed prelude read from the event log at a time. */
#define STORE_REPLAY_CHUNK 16

/* The table the build generates from lib/redis-scripts/ (scripts/lua-
 * scripts.awk): for store_scripts.c alone. */
struct store_script_text {
    const char *name;
    const char *source;
    bool publishes;
};
extern const struct store_script_text store_script_texts[SCRIPT_COUNT];

#endif
