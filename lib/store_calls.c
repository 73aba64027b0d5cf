/* store_calls: the typed builders of script calls (see store_calls.h). */
#include "store_calls.h"
#include "store_keys.h"
#include "store_message.h"
#include "store_scripts.h"
#include "store_text.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- script calls ---------------------------------------------------- */

/* A builder adds its keys and args in the order its script reads them;
 * any failure sticks to the call, and call_end reports it once. */
static void call_begin(struct store_call *call, enum store_script script)
{
    call->script = script;
    call->nkeys = call->nargs = 0;
    call->failed = false;
    call->used = 0;
}

static int call_end(const struct store_call *call)
{
    return call->failed ? -1 : 0;
}

static void add_key(struct store_call *call, const char *key)
{
    if (!key || call->nkeys == STORE_CALL_KEYS_MAX)
        call->failed = true;
    else
        call->keys[call->nkeys++] = key;
}

static void add_arg(struct store_call *call, const char *arg)
{
    if (!arg || call->nargs == STORE_CALL_ARGS_MAX)
        call->failed = true;
    else
        call->args[call->nargs++] = arg;
}

static void add_flag(struct store_call *call, bool set)
{
    add_arg(call, set ? "1" : "0");
}

/* Where the next string of the call's storage goes, and its room: a key
 * or a number, so at most STORE_KEY_MAX, which keeps the storage's size a
 * bound by construction. */
static char *free_space(struct store_call *call)
{
    return call->storage + call->used;
}

static size_t space_left(const struct store_call *call)
{
    size_t left = sizeof call->storage - call->used;
    return left < STORE_KEY_MAX ? left : STORE_KEY_MAX;
}

/* Keeps the string just written at free_space (len from a key builder, -1
 * when it did not fit): returns it, or NULL. */
static const char *keep(struct store_call *call, int len)
{
    if (len < 0 || (size_t)len >= space_left(call))
        return NULL;
    char *s = free_space(call);
    call->used += (size_t)len + 1;
    return s;
}

static const char *stored_printf(struct store_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *stored_printf(struct store_call *call, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(free_space(call), space_left(call), fmt, ap);
    va_end(ap);
    return keep(call, len);
}

static const char *stored_u64(struct store_call *call, uint64_t v)
{
    return stored_printf(call, "%" PRIu64, v);
}

static const char *stored_i64(struct store_call *call, int64_t v)
{
    return stored_printf(call, "%" PRId64, v);
}

static const char *key_user(struct store_call *call, uint64_t id)
{
    return keep(call, store_key_user(free_space(call), space_left(call), id));
}

static const char *key_user_rooms(struct store_call *call, uint64_t id)
{
    return keep(call, store_key_user_rooms(free_space(call), space_left(call), id));
}

static const char *key_username(struct store_call *call, const char *name)
{
    if (!name)
        return NULL;
    return keep(call, store_key_username(free_space(call), space_left(call), name, strlen(name)));
}

static const char *key_room(struct store_call *call, const char *room_id)
{
    return keep(call, store_key_room(free_space(call), space_left(call), room_id));
}

static const char *key_room_name(struct store_call *call, const char *room_id)
{
    return keep(call, store_key_room_name(free_space(call), space_left(call), room_id));
}

static const char *key_group(struct store_call *call, const char *room_id)
{
    return keep(call, store_key_group(free_space(call), space_left(call), room_id));
}

static const char *key_group_members(struct store_call *call, const char *room_id)
{
    return keep(call, store_key_group_members(free_space(call), space_left(call), room_id));
}

static const char *key_group_left(struct store_call *call, const char *room_id)
{
    return keep(call, store_key_group_left(free_space(call), space_left(call), room_id));
}

static const char *key_groups_owned(struct store_call *call, uint64_t user_id)
{
    return keep(call, store_key_groups_owned(free_space(call), space_left(call), user_id));
}

static const char *key_group_rate(struct store_call *call, uint64_t user_id)
{
    return keep(call, store_key_group_rate(free_space(call), space_left(call), user_id));
}

static const char *key_membership_rate(struct store_call *call, uint64_t user_id)
{
    return keep(call, store_key_membership_rate(free_space(call), space_left(call), user_id));
}

static const char *key_added_rate(struct store_call *call, uint64_t user_id)
{
    return keep(call, store_key_added_rate(free_space(call), space_left(call), user_id));
}

static const char *key_recovery(struct store_call *call, const char *pid)
{
    return keep(call, store_key_recovery(free_space(call), space_left(call), pid));
}

static const char *key_presence(struct store_call *call, const char *server_id)
{
    if (!server_id)
        return NULL;
    return keep(call, store_key_presence(free_space(call), space_left(call), server_id));
}

static const char *key_message_rate(struct store_call *call, uint64_t user_id)
{
    return keep(call, store_key_message_rate(free_space(call), space_left(call), user_id));
}

static const char *key_sent(struct store_call *call, uint64_t user_id, const char *client_id)
{
    return keep(call, store_key_sent(free_space(call), space_left(call), user_id, client_id));
}

static const char *key_message_index(struct store_call *call, const char *room_id)
{
    return keep(call, store_key_message_index(free_space(call), space_left(call), room_id));
}

static const char *key_read_markers(struct store_call *call, uint64_t user_id)
{
    return keep(call, store_key_read_markers(free_space(call), space_left(call), user_id));
}

static const char *key_login_fails_pair(struct store_call *call, const char *canonical,
                                        const char *client_addr)
{
    if (!canonical || !client_addr)
        return NULL;
    return keep(call, store_key_login_fails_pair(free_space(call), space_left(call), canonical,
                                                 strlen(canonical), client_addr));
}

/* The two failed-login counters of an attempt: by name and address, then
 * by address. */
static void add_login_fail_keys(struct store_call *call, const char *username,
                                const char *client_addr)
{
    if (!username || !client_addr) {
        call->failed = true;
        return;
    }
    add_key(call, key_login_fails_pair(call, username, client_addr));
    add_key(call, keep(call, store_key_login_fails_addr(free_space(call), space_left(call),
                                                        client_addr)));
}

int store_call_session(struct store_call *call, const char *session_key, unsigned ttl_s)
{
    call_begin(call, SCRIPT_SESSION);
    add_key(call, session_key);
    add_arg(call, stored_u64(call, ttl_s));
    return call_end(call);
}

int store_call_logout(struct store_call *call, const char *session_key)
{
    call_begin(call, SCRIPT_LOGOUT);
    size_t prefix = strlen(STORE_SESSION_KEY_PREFIX);
    const char *digest = session_key && strncmp(session_key, STORE_SESSION_KEY_PREFIX, prefix) == 0
                             ? session_key + prefix
                             : NULL;
    if (!digest || !store_digest_hex_valid(digest, strlen(digest))) {
        call->failed = true;
        return -1;
    }
    add_key(call, session_key);
    add_arg(call,
            stored_printf(call, "{\"type\":\"" STORE_CONTROL_LOGOUT_TYPE "\",\"session\":\"%s\"}",
                          digest));
    return call_end(call);
}

static const char *key_username_canonical(struct store_call *call, const char *canonical)
{
    if (!canonical)
        return NULL;
    return keep(call, store_key_username_canonical(free_space(call), space_left(call), canonical));
}

int store_call_login_lookup(struct store_call *call, const struct store_login_lookup_params *p)
{
    call_begin(call, SCRIPT_LOGIN_LOOKUP);
    add_key(call, key_username(call, p->username));
    add_login_fail_keys(call, p->canonical, p->client_addr);
    if (p->client_addr)
        add_key(call, keep(call, store_key_registrations_addr(free_space(call), space_left(call),
                                                              p->client_addr)));
    add_key(call, key_username_canonical(call, p->canonical));
    if (p->client_addr)
        add_key(call, keep(call, store_key_logins_addr(free_space(call), space_left(call),
                                                       p->client_addr)));
    add_arg(call, stored_u64(call, p->max_fails_user));
    add_arg(call, stored_u64(call, p->max_fails_addr));
    add_arg(call, stored_u64(call, p->window_s));
    add_arg(call, stored_u64(call, p->delay_max_s));
    add_arg(call, stored_u64(call, p->registrations_per_hour));
    add_arg(call, p->may_register ? "1" : "0");
    add_arg(call, stored_u64(call, p->logins_per_minute));
    add_arg(call, p->register_only ? "1" : "0");
    return call_end(call);
}

int store_call_login_release(struct store_call *call, const char *canonical,
                             const char *client_addr)
{
    call_begin(call, SCRIPT_LOGIN_RELEASE);
    add_login_fail_keys(call, canonical, client_addr);
    return call_end(call);
}

int store_call_login_failed(struct store_call *call, const char *canonical, const char *client_addr)
{
    call_begin(call, SCRIPT_LOGIN_FAILED);
    add_key(call, key_login_fails_pair(call, canonical, client_addr));
    return call_end(call);
}

int store_call_register(struct store_call *call, const char *username, const char *canonical,
                        const char *password_hash)
{
    call_begin(call, SCRIPT_REGISTER);
    add_key(call, key_username(call, username));
    add_key(call, STORE_KEY_TOTAL_USERS);
    add_key(call, key_username_canonical(call, canonical));
    add_key(call, STORE_KEY_USER_SEARCH);
    add_arg(call, username);
    add_arg(call, password_hash);
    add_arg(call, canonical);
    return call_end(call);
}

int store_call_rehash(struct store_call *call, const struct store_rehash_params *p)
{
    call_begin(call, SCRIPT_REHASH);
    add_key(call, key_user(call, p->user_id));
    add_arg(call, p->old_hash);
    add_arg(call, p->new_hash);
    return call_end(call);
}

int store_call_online_users(struct store_call *call)
{
    call_begin(call, SCRIPT_ONLINE_USERS);
    add_key(call, STORE_KEY_ONLINE_USERS);
    return call_end(call);
}

int store_call_users(struct store_call *call, const uint64_t *ids, size_t count)
{
    call_begin(call, SCRIPT_USERS);
    add_key(call, STORE_KEY_ONLINE_USERS);
    if (count == 0 || count > STORE_CALL_USERS_MAX)
        call->failed = true;
    for (size_t i = 0; !call->failed && i < count; i++)
        add_arg(call, stored_u64(call, ids[i]));
    return call_end(call);
}

int store_call_users_search(struct store_call *call, const struct store_users_search_params *p)
{
    call_begin(call, SCRIPT_USERS_SEARCH);
    add_key(call, STORE_KEY_USER_SEARCH);
    add_key(call, STORE_KEY_ONLINE_USERS);
    add_key(call, keep(call, store_key_user_search_rate(free_space(call), space_left(call),
                                                        p->user_id)));
    if (!p->prefix || !p->prefix[0] || p->limit == 0 || p->limit > STORE_USER_SEARCH_MAX)
        call->failed = true;
    add_arg(call, p->prefix);
    add_arg(call, stored_u64(call, p->limit));
    add_arg(call, stored_u64(call, p->per_minute));
    return call_end(call);
}

int store_call_rooms(struct store_call *call, uint64_t user_id)
{
    call_begin(call, SCRIPT_ROOMS);
    add_key(call, key_user_rooms(call, user_id));
    add_key(call, key_read_markers(call, user_id));
    add_arg(call, stored_u64(call, user_id));
    add_arg(call, stored_u64(call, STORE_UNREAD_SCAN));
    add_arg(call, stored_u64(call, STORE_UNREAD_CAP));
    add_arg(call, stored_u64(call, STORE_ROOMS_LIST_MAX));
    return call_end(call);
}

int store_call_history(struct store_call *call, const struct store_history_params *p)
{
    call_begin(call, SCRIPT_HISTORY);
    if (!p->room || p->offset < 0 || p->size < 1 || p->size > LONG_MAX - p->offset) {
        call->failed = true;
        return call_end(call);
    }
    bool private = p->room->kind == ROOM_PRIVATE;
    add_key(call, p->session_key);
    add_key(call, key_room(call, p->room->id));
    add_arg(call, stored_u64(call, p->session_ttl));
    add_arg(call, p->room->id);
    add_arg(call, private ? stored_u64(call, p->room->a) : "");
    add_arg(call, private ? stored_u64(call, p->room->b) : "");
    add_arg(call, stored_printf(call, "%ld", p->offset));
    add_arg(call, stored_printf(call, "%ld", p->offset + p->size - 1));
    return call_end(call);
}

int store_call_create_private(struct store_call *call, const struct room_ref *room,
                              unsigned rooms_max)
{
    call_begin(call, SCRIPT_CREATE_PRIVATE);
    if (!room || room->kind != ROOM_PRIVATE || !rooms_max) {
        call->failed = true;
        return call_end(call);
    }
    add_key(call, key_user(call, room->a));
    add_key(call, key_user(call, room->b));
    add_key(call, key_user_rooms(call, room->a));
    add_key(call, key_user_rooms(call, room->b));
    add_arg(call, room->id);
    add_arg(call, stored_u64(call, rooms_max));
    return call_end(call);
}

int store_call_preload(struct store_call *call, const char *room_id, unsigned count)
{
    call_begin(call, SCRIPT_PRELOAD);
    if (!room_id || count < 1) {
        call->failed = true;
        return call_end(call);
    }
    add_key(call, key_room_name(call, room_id));
    add_key(call, key_room(call, room_id));
    add_arg(call, stored_u64(call, count - 1));
    return call_end(call);
}

int store_call_socket_open(struct store_call *call, const struct store_socket_open_params *p)
{
    call_begin(call, SCRIPT_SOCKET_OPEN);
    add_key(call, p->session_key);
    add_key(call, STORE_KEY_ONLINE_USERS);
    add_key(call, key_presence(call, p->server_id));
    add_key(call, STORE_KEY_SERVERS);
    add_arg(call, stored_u64(call, p->session_ttl_s));
    add_arg(call, p->server_id);
    add_arg(call, stored_i64(call, p->now_ms));
    add_arg(call, stored_u64(call, p->presence_ttl_s));
    bool recovering = p->pid && p->offset;
    add_key(call, recovering ? key_recovery(call, p->pid) : STORE_KEY_EVENTS);
    add_key(call, STORE_KEY_EVENTS);
    add_arg(call, recovering ? p->offset : "");
    add_arg(call, stored_u64(call, STORE_REPLAY_MAX));
    add_arg(call, stored_u64(call, STORE_REPLAY_MAX_BYTES));
    add_arg(call, stored_u64(call, p->rooms_max));
    if (!p->rooms_max)
        call->failed = true;
    struct store_offset o;
    if (recovering && store_offset_parse(p->offset, strlen(p->offset), &o) < 0)
        call->failed = true;
    return call_end(call);
}

static const char *key_typing(struct store_call *call, uint64_t user_id)
{
    return keep(call, store_key_typing(free_space(call), space_left(call), user_id));
}

int store_call_typing(struct store_call *call, uint64_t user_id, const char *envelope,
                      unsigned gate_ms)
{
    call_begin(call, SCRIPT_TYPING);
    add_key(call, key_typing(call, user_id));
    add_arg(call, envelope);
    add_arg(call, stored_u64(call, gate_ms));
    return call_end(call);
}

int store_call_recovery_save(struct store_call *call, const char *pid, const char *record,
                             unsigned ttl_s)
{
    call_begin(call, SCRIPT_RECOVERY_SAVE);
    add_key(call, key_recovery(call, pid));
    add_arg(call, record);
    add_arg(call, stored_u64(call, ttl_s));
    return call_end(call);
}

int store_call_room_join(struct store_call *call, const struct room_ref *room, uint64_t user_id)
{
    call_begin(call, SCRIPT_ROOM_JOIN);
    if (!room) {
        call->failed = true;
        return call_end(call);
    }
    bool private_room = store_room_is_private_member(room, user_id);
    add_key(call, private_room ? key_user(call, room->a == user_id ? room->b : room->a)
                               : key_user_rooms(call, user_id));
    add_key(call, STORE_KEY_EVENTS);
    add_arg(call, private_room ? "private" : "group");
    add_arg(call, room->id);
    return call_end(call);
}

int store_call_catch_up(struct store_call *call, const char *offset)
{
    call_begin(call, SCRIPT_CATCH_UP);
    struct store_offset o;
    if (offset && store_offset_parse(offset, strlen(offset), &o) < 0)
        call->failed = true;
    add_key(call, STORE_KEY_EVENTS);
    add_arg(call, offset ? offset : "");
    add_arg(call, stored_u64(call, STORE_CATCH_UP_PAGE));
    return call_end(call);
}

int store_call_replay(struct store_call *call, const char *offset)
{
    call_begin(call, SCRIPT_REPLAY);
    struct store_offset o;
    if (!offset || store_offset_parse(offset, strlen(offset), &o) < 0)
        call->failed = true;
    add_key(call, STORE_KEY_EVENTS);
    add_arg(call, offset);
    add_arg(call, stored_u64(call, STORE_REPLAY_MAX));
    add_arg(call, stored_u64(call, STORE_REPLAY_MAX_BYTES));
    return call_end(call);
}

int store_call_send_message(struct store_call *call, const struct store_send_message_params *p)
{
    call_begin(call, SCRIPT_SEND_MESSAGE);
    const struct room_ref *room = p->room;
    if (!room || !p->message_id || !store_message_id_valid(p->message_id, strlen(p->message_id)) ||
        (p->client_id && !store_client_id_valid(p->client_id, strlen(p->client_id)))) {
        call->failed = true;
        return call_end(call);
    }
    bool private_room = room->kind == ROOM_PRIVATE;
    add_key(call, key_room(call, room->id));
    add_key(call, key_user_rooms(call, p->sender));
    add_key(call, key_message_rate(call, p->sender));
    /* The rooms of both users of a private room; unused otherwise. */
    add_key(call, key_user_rooms(call, private_room ? room->a : p->sender));
    add_key(call, key_user_rooms(call, private_room ? room->b : p->sender));
    add_key(call, key_message_index(call, room->id));
    add_arg(call, room->id);
    add_flag(call, store_room_is_private_member(room, p->sender));
    add_arg(call, p->message_json);
    add_arg(call,
            stored_printf(call, "%" PRId64 ".%03d", p->sent_ms / 1000, (int)(p->sent_ms % 1000)));
    add_arg(call, p->envelope);
    add_arg(call, stored_u64(call, p->per_minute));
    add_arg(call, p->server_id);
    add_flag(call, private_room);
    add_arg(call, stored_u64(call, room->a));
    add_arg(call, stored_u64(call, room->b));
    add_arg(call, p->message_id);
    add_arg(call, stored_u64(call, STORE_MESSAGE_INDEX_TTL_S));
    /* Without a client id, the rate counter stands in for the sent key. */
    if (p->client_id)
        add_key(call, key_sent(call, p->sender, p->client_id));
    else
        add_key(call, key_message_rate(call, p->sender));
    add_flag(call, p->client_id != NULL);
    add_arg(call, stored_u64(call, STORE_CLIENT_ID_TTL_S));
    add_arg(call, stored_u64(call, p->rooms_max));
    if (!p->rooms_max)
        call->failed = true;
    add_arg(call, stored_u64(call, p->sender));
    add_arg(call, p->mentions ? p->mentions : "");
    return call_end(call);
}

/* The change prelude's keys and first arguments. */
static void add_change_target(struct store_call *call, const struct store_change_target *t)
{
    if (!t || !t->room || !t->message_id ||
        !store_message_id_valid(t->message_id, strlen(t->message_id))) {
        call->failed = true;
        return;
    }
    add_key(call, key_room(call, t->room->id));
    add_key(call, key_message_index(call, t->room->id));
    add_key(call, key_user_rooms(call, t->user_id));
    add_key(call, key_message_rate(call, t->user_id));
    add_arg(call, t->room->id);
    add_flag(call, store_room_is_private_member(t->room, t->user_id));
    add_arg(call, t->message_id);
    add_arg(call, stored_u64(call, t->user_id));
    add_arg(call, stored_u64(call, t->per_minute));
    add_arg(call, t->server_id);
    add_arg(call, stored_u64(call, STORE_MESSAGE_INDEX_TTL_S));
}

int store_call_edit_message(struct store_call *call, const struct store_edit_message_params *p)
{
    call_begin(call, SCRIPT_EDIT_MESSAGE);
    add_change_target(call, &p->target);
    add_arg(call, p->text);
    add_arg(call, stored_i64(call, p->edited));
    return call_end(call);
}

int store_call_delete_message(struct store_call *call, const struct store_change_target *t)
{
    call_begin(call, SCRIPT_DELETE_MESSAGE);
    add_change_target(call, t);
    return call_end(call);
}

int store_call_react_message(struct store_call *call, const struct store_change_target *t,
                             const char *emoji)
{
    call_begin(call, SCRIPT_REACT_MESSAGE);
    add_change_target(call, t);
    if (!emoji || store_emoji_problem(emoji, strlen(emoji)))
        call->failed = true;
    add_arg(call, emoji);
    add_arg(call, stored_u64(call, STORE_REACTIONS_MAX));
    return call_end(call);
}

int store_call_presence_leave(struct store_call *call, const struct store_presence_leave_params *p)
{
    call_begin(call, SCRIPT_PRESENCE_LEAVE);
    add_key(call, key_presence(call, p->server_id));
    add_key(call, STORE_KEY_SERVERS);
    add_key(call, STORE_KEY_ONLINE_USERS);
    add_arg(call, p->user_id);
    add_arg(call, p->server_id);
    add_arg(call, stored_i64(call, p->now_ms));
    add_arg(call, stored_i64(call, p->timeout_ms));
    add_arg(call, stored_u64(call, p->count ? p->count : 1));
    return call_end(call);
}

int store_call_heartbeat(struct store_call *call, const struct store_heartbeat_params *p)
{
    call_begin(call, SCRIPT_HEARTBEAT);
    add_key(call, STORE_KEY_SERVERS);
    add_key(call, key_presence(call, p->server_id));
    add_key(call, STORE_KEY_ONLINE_USERS);
    add_arg(call, p->server_id);
    add_arg(call, stored_i64(call, p->now_ms));
    add_arg(call, stored_i64(call, p->timeout_ms));
    add_arg(call, stored_u64(call, p->presence_ttl_s));
    return call_end(call);
}

int store_call_server_down(struct store_call *call, const struct store_server_down_params *p)
{
    call_begin(call, SCRIPT_SERVER_DOWN);
    add_key(call, STORE_KEY_SERVERS);
    add_key(call, STORE_KEY_ONLINE_USERS);
    add_arg(call, p->server_id);
    add_arg(call, stored_i64(call, p->now_ms));
    add_arg(call, stored_i64(call, p->timeout_ms));
    return call_end(call);
}

int store_call_read_mark(struct store_call *call, const struct store_read_mark_params *p)
{
    call_begin(call, SCRIPT_READ_MARK);
    const struct room_ref *room = p->room;
    if (!room || !p->message_id || !store_message_id_valid(p->message_id, strlen(p->message_id))) {
        call->failed = true;
        return call_end(call);
    }
    add_key(call, key_user_rooms(call, p->user_id));
    add_key(call, key_room(call, room->id));
    add_key(call, key_message_index(call, room->id));
    add_key(call, key_read_markers(call, p->user_id));
    add_arg(call, room->id);
    add_flag(call, store_room_is_private_member(room, p->user_id));
    add_arg(call, p->message_id);
    add_arg(call, stored_u64(call, p->user_id));
    add_arg(call, p->server_id);
    add_arg(call, stored_u64(call, STORE_READ_TTL_S));
    add_arg(call, stored_u64(call, STORE_READ_FALLBACK_SCAN));
    return call_end(call);
}

int store_call_group_create(struct store_call *call, const struct store_group_create_params *p)
{
    call_begin(call, SCRIPT_GROUP_CREATE);
    if (!p->name || p->count > STORE_GROUP_CREATE_MAX || (p->count && !p->members) ||
        store_group_name_problem(p->name, strlen(p->name))) {
        call->failed = true;
        return call_end(call);
    }
    add_key(call, STORE_KEY_GROUP_COUNTER);
    add_key(call, STORE_KEY_PUBLIC_GROUPS);
    add_key(call, key_group_rate(call, p->creator));
    add_key(call, key_groups_owned(call, p->creator));
    add_arg(call, stored_u64(call, p->creator));
    add_arg(call, p->name);
    add_flag(call, p->public_room);
    add_arg(call, p->server_id);
    add_arg(call, stored_u64(call, p->groups_per_hour));
    add_arg(call, stored_u64(call, p->groups_per_user));
    add_arg(call, stored_u64(call, p->adds_per_hour));
    add_arg(call, p->rooms_max ? stored_u64(call, p->rooms_max) : NULL);
    for (size_t i = 0; i < p->count; i++)
        add_arg(call, p->members[i] && p->members[i] != p->creator ? stored_u64(call, p->members[i])
                                                                   : NULL);
    return call_end(call);
}

/* The keys and first args the add and remove scripts share. */
static void group_change_begin(struct store_call *call, enum store_script script,
                               const struct store_group_change_params *p)
{
    struct room_ref room;
    call_begin(call, script);
    if (!p->room_id || store_room_parse(p->room_id, strlen(p->room_id), &room) < 0 ||
        room.kind != ROOM_NAMED || strcmp(room.id, p->room_id) != 0 || !p->actor || !p->target) {
        call->failed = true;
        return;
    }
    add_key(call, key_group(call, p->room_id));
    add_key(call, key_group_members(call, p->room_id));
    add_key(call, key_user_rooms(call, p->target));
    add_key(call, key_membership_rate(call, p->actor));
    add_arg(call, p->room_id);
    add_arg(call, stored_u64(call, p->actor));
    add_arg(call, stored_u64(call, p->target));
}

int store_call_group_add(struct store_call *call, const struct store_group_change_params *p)
{
    group_change_begin(call, SCRIPT_GROUP_ADD, p);
    if (call->failed)
        return call_end(call);
    add_key(call, key_added_rate(call, p->target));
    add_key(call, key_group_left(call, p->room_id));
    add_arg(call, p->mode == STORE_GROUP_JOIN ? "join" : "invite");
    add_arg(call, p->server_id);
    add_arg(call, stored_u64(call, STORE_GROUP_MEMBERS_MAX));
    add_arg(call, stored_u64(call, p->changes_per_minute));
    add_arg(call, stored_u64(call, p->adds_per_hour));
    add_arg(call, p->rooms_max ? stored_u64(call, p->rooms_max) : NULL);
    return call_end(call);
}

int store_call_group_remove(struct store_call *call, const struct store_group_change_params *p)
{
    group_change_begin(call, SCRIPT_GROUP_REMOVE, p);
    if (call->failed)
        return call_end(call);
    add_key(call, key_group_left(call, p->room_id));
    add_key(call, STORE_KEY_PUBLIC_GROUPS);
    add_arg(call, p->server_id);
    add_arg(call, stored_u64(call, p->changes_per_minute));
    return call_end(call);
}

int store_call_group_members(struct store_call *call, const char *room_id, uint64_t user_id)
{
    struct room_ref room;
    call_begin(call, SCRIPT_GROUP_MEMBERS);
    if (!room_id || store_room_parse(room_id, strlen(room_id), &room) < 0 ||
        room.kind != ROOM_NAMED) {
        call->failed = true;
        return call_end(call);
    }
    add_key(call, key_group(call, room.id));
    add_key(call, key_group_members(call, room.id));
    add_key(call, STORE_KEY_ONLINE_USERS);
    add_arg(call, stored_u64(call, user_id));
    return call_end(call);
}

int store_call_groups_public(struct store_call *call, unsigned count)
{
    call_begin(call, SCRIPT_GROUPS_PUBLIC);
    if (count < 1 || count > STORE_GROUP_LIST_MAX)
        call->failed = true;
    add_key(call, STORE_KEY_PUBLIC_GROUPS);
    add_arg(call, stored_u64(call, count - 1));
    return call_end(call);
}

static char event_log_bytes[24] = STORE_STR(STORE_EVENTS_BYTES_DEFAULT);

void store_set_event_log_bytes(uint64_t bytes)
{
    snprintf(event_log_bytes, sizeof event_log_bytes, "%" PRIu64, bytes);
}

int store_call_args(const struct store_call *call, const char *args[STORE_CALL_ARGS_MAX + 1])
{
    if (call->failed || call->script < 0 || call->script >= SCRIPT_COUNT)
        return -1;
    int n = 0;
    for (int i = 0; i < call->nargs; i++)
        args[n++] = call->args[i];
    if (store_script_publishes(call->script))
        args[n++] = event_log_bytes;
    return n;
}

int store_call_eval_argv(const struct store_call *call, const char *argv[STORE_CALL_ARGV_MAX])
{
    /* The key count as text, without storage: there are at most a few. */
    static const char *const counts[] = {"0", "1", "2", "3", "4", "5", "6", "7"};
    _Static_assert(sizeof counts / sizeof *counts == STORE_CALL_KEYS_MAX + 1,
                   "a count for every number of keys");
    if (call->failed || call->script < 0 || call->script >= SCRIPT_COUNT)
        return -1;
    int argc = 0;
    argv[argc++] = "EVAL";
    argv[argc++] = store_script_source(call->script);
    argv[argc++] = counts[call->nkeys];
    for (int i = 0; i < call->nkeys; i++)
        argv[argc++] = call->keys[i];
    int nargs = store_call_args(call, argv + argc);
    return nargs < 0 ? -1 : argc + nargs;
}
