/* store_message: the formats stored in Redis and sent on its channels: a
 * message, a group, a recovery record, the envelope of every event and the
 * control channel's messages.  Pure. */
#ifndef CHATD_STORE_MESSAGE_H
#define CHATD_STORE_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "store_keys.h"

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
 * additions come along when well-formed: `mentions` (a non-empty array of
 * user id strings, at most STORE_GROUP_MEMBERS_MAX, written by
 * SCRIPT_SEND_MESSAGE, never by the client), `edited` (integer seconds)
 * and `reactions` (store_reactions_normalize's, left out when empty). */
cJSON *store_message_from_object(const cJSON *o);

/* A message's reactions, {emoji: ["<user id>", …]}, keeping at most
 * STORE_REACTIONS_MAX emoji with at least one user id each (ids as
 * strings; anything else is dropped).  Always an object ({} when none);
 * NULL only on OOM. */
cJSON *store_reactions_normalize(const cJSON *reactions);

/* A recovery record's JSON (malloc'd, caller frees), NULL on OOM. */
char *store_recovery_encode(uint64_t user_id, const char *const *rooms, size_t n,
                            const struct store_offset *first, const struct store_offset *last);

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

/* The control message of STORE_CONTROL_LOGOUT, {"type":…,"session":
 * "<digest>"}, as SCRIPT_LOGOUT publishes it (store_call_logout builds it). */
#define STORE_CONTROL_LOGOUT_TYPE "logout"
/* Whether s is a token digest as sessions' keys hold it: 64 lowercase hex. */
bool store_digest_hex_valid(const char *s, size_t len);

#endif
