/* store_keys: key names, ids and room ids (see store_keys.h). */
#include "store_keys.h"
#include "store_text.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char STORE_KEY_TOTAL_USERS[] = "total_users";
const char STORE_KEY_ONLINE_USERS[] = "online_users";
const char STORE_CHANNEL[] = STORE_CHANNEL_NAME;
const char STORE_CONTROL_CHANNEL[] = STORE_CONTROL_CHANNEL_NAME;
const char STORE_OWN_PREFIX[] = "chatd:";
const char STORE_KEY_SERVERS[] = "chatd:servers";
const char STORE_KEY_PUBLIC_GROUPS[] = "chatd:groups:public";
const char STORE_KEY_GROUP_COUNTER[] = "chatd:groups:next";
const char STORE_KEY_EVENTS[] = STORE_KEY_EVENTS_NAME;
const char STORE_KEY_USER_SEARCH[] = "chatd:usersearch";

/* ---- keys ------------------------------------------------------------ */

static int key_printf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int key_printf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return (len < 0 || (size_t)len >= n) ? -1 : len;
}

int store_key_user(char *buf, size_t n, uint64_t user_id)
{
    return key_printf(buf, n, "user:%" PRIu64, user_id);
}

int store_key_user_rooms(char *buf, size_t n, uint64_t user_id)
{
    return key_printf(buf, n, "user:%" PRIu64 ":rooms", user_id);
}

int store_key_username(char *buf, size_t n, const char *name, size_t len)
{
    if (len > STORE_USERNAME_MAX_BYTES)
        return -1;
    return key_printf(buf, n, "username:%.*s", (int)len, name);
}

int store_key_username_canonical(char *buf, size_t n, const char *canonical)
{
    return key_printf(buf, n, "%susername:%s", STORE_OWN_PREFIX, canonical);
}

int store_key_user_search_rate(char *buf, size_t n, uint64_t user_id)
{
    return key_printf(buf, n, "%sratelimit:usersearch:%" PRIu64, STORE_OWN_PREFIX, user_id);
}

const char STORE_USERNAME_KEY_PATTERN[] = "username:*";

int store_username_of_key(const char *key, size_t len, const char **name, size_t *name_len)
{
    static const char prefix[] = "username:";
    size_t plen = sizeof prefix - 1;
    if (len <= plen || memcmp(key, prefix, plen) != 0 || len - plen > STORE_USERNAME_MAX_BYTES)
        return -1;
    *name = key + plen;
    *name_len = len - plen;
    return 0;
}

int store_key_room(char *buf, size_t n, const char *room_id)
{
    return key_printf(buf, n, "room:%s", room_id);
}

int store_key_room_name(char *buf, size_t n, const char *room_id)
{
    return key_printf(buf, n, "room:%s:name", room_id);
}

int store_key_session(char *buf, size_t n, const char *token_digest_hex)
{
    return key_printf(buf, n, "%s%s", STORE_SESSION_KEY_PREFIX, token_digest_hex);
}

int store_key_login_fails_pair(char *buf, size_t n, const char *name, size_t len, const char *addr)
{
    if (len > STORE_USERNAME_MAX_BYTES)
        return -1;
    /* An address has no blank and neither has a username: one space
     * separates them unambiguously. */
    return key_printf(buf, n, "%sloginfail:pair:%s %.*s", STORE_OWN_PREFIX, addr, (int)len, name);
}

int store_key_login_fails_addr(char *buf, size_t n, const char *addr)
{
    return key_printf(buf, n, "%sloginfail:addr:%s", STORE_OWN_PREFIX, addr);
}

int store_key_registrations_addr(char *buf, size_t n, const char *addr)
{
    return key_printf(buf, n, "%sregistrations:addr:%s", STORE_OWN_PREFIX, addr);
}

int store_key_logins_addr(char *buf, size_t n, const char *addr)
{
    return key_printf(buf, n, "%slogins:addr:%s", STORE_OWN_PREFIX, addr);
}

int store_key_presence(char *buf, size_t n, const char *server_id)
{
    return key_printf(buf, n, "%spresence:%s", STORE_OWN_PREFIX, server_id);
}

int store_key_sent(char *buf, size_t n, uint64_t user_id, const char *client_id)
{
    return key_printf(buf, n, "%ssent:%" PRIu64 ":%s", STORE_OWN_PREFIX, user_id, client_id);
}

int store_key_message_rate(char *buf, size_t n, uint64_t user_id)
{
    return key_printf(buf, n, "%sratelimit:msg:%" PRIu64, STORE_OWN_PREFIX, user_id);
}

int store_key_typing(char *buf, size_t n, uint64_t user_id)
{
    return key_printf(buf, n, "%sratelimit:typing:%" PRIu64, STORE_OWN_PREFIX, user_id);
}

int store_key_recovery(char *buf, size_t n, const char *pid)
{
    if (!pid || !store_pid_valid(pid, strlen(pid)))
        return -1;
    return key_printf(buf, n, "%srecovery:%s", STORE_OWN_PREFIX, pid);
}

bool store_pid_valid(const char *s, size_t len)
{
    if (len != STORE_PID_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* "<ms>-<seq>", each 1..20 digits without sign: what XADD * gives. */
int store_offset_parse(const char *s, size_t len, struct store_offset *out)
{
    uint64_t part[2] = {0, 0};
    size_t i = 0;
    for (int k = 0; k < 2; k++) {
        size_t start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 20) {
            uint64_t d = (uint64_t)(s[i] - '0');
            if (part[k] > (UINT64_MAX - d) / 10)
                return -1;
            part[k] = part[k] * 10 + d;
            i++;
        }
        if (i == start || (k == 0 && (i >= len || s[i++] != '-')))
            return -1;
    }
    if (i != len)
        return -1;
    out->ms = part[0];
    out->seq = part[1];
    return 0;
}

int store_offset_cmp(const struct store_offset *a, const struct store_offset *b)
{
    if (a->ms != b->ms)
        return a->ms < b->ms ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return 0;
}

void store_offset_format(const struct store_offset *o, char out[STORE_OFFSET_MAX])
{
    snprintf(out, STORE_OFFSET_MAX, "%" PRIu64 "-%" PRIu64, o->ms, o->seq);
}

int store_key_message_index(char *buf, size_t n, const char *room_id)
{
    return key_printf(buf, n, "%smsgidx:%s", STORE_OWN_PREFIX, room_id);
}

int store_key_read_markers(char *buf, size_t n, uint64_t user_id)
{
    return key_printf(buf, n, "%sread:%" PRIu64, STORE_OWN_PREFIX, user_id);
}

int store_key_group_members(char *buf, size_t n, const char *room_id)
{
    return key_printf(buf, n, "%sgroup:%s:members", STORE_OWN_PREFIX, room_id);
}

int store_key_group(char *buf, size_t n, const char *room_id)
{
    return key_printf(buf, n, "%sgroup:%s", STORE_OWN_PREFIX, room_id);
}

int store_key_group_left(char *buf, size_t n, const char *room_id)
{
    return key_printf(buf, n, "%sgroup:%s:left", STORE_OWN_PREFIX, room_id);
}

int store_key_groups_owned(char *buf, size_t n, uint64_t user_id)
{
    return key_printf(buf, n, "%sgroups:owned:%" PRIu64, STORE_OWN_PREFIX, user_id);
}

int store_key_group_rate(char *buf, size_t n, uint64_t user_id)
{
    return key_printf(buf, n, "%sratelimit:groups:%" PRIu64, STORE_OWN_PREFIX, user_id);
}

int store_key_membership_rate(char *buf, size_t n, uint64_t user_id)
{
    return key_printf(buf, n, "%sratelimit:members:%" PRIu64, STORE_OWN_PREFIX, user_id);
}

int store_key_added_rate(char *buf, size_t n, uint64_t user_id)
{
    return key_printf(buf, n, "%sratelimit:added:%" PRIu64, STORE_OWN_PREFIX, user_id);
}

/* ---- ids and rooms --------------------------------------------------- */

int store_parse_id(const char *s, size_t len, bool allow_zero, uint64_t *out)
{
    if (len == 0 || len > 16)
        return -1;
    if (s[0] == '0' && (len > 1 || !allow_zero))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > STORE_ID_MAX)
        return -1;
    *out = v;
    return 0;
}

int store_parse_user_ref(const char *s, size_t len, uint64_t *out)
{
    static const char prefix[] = "user:";
    const size_t plen = sizeof prefix - 1;
    if (len <= plen || memcmp(s, prefix, plen) != 0)
        return -1;
    return store_parse_id(s + plen, len - plen, false, out);
}

int store_room_private(uint64_t u1, uint64_t u2, struct room_ref *out)
{
    if (u1 == u2 || u1 == 0 || u2 == 0 || u1 > STORE_ID_MAX || u2 > STORE_ID_MAX)
        return -1;
    out->kind = ROOM_PRIVATE;
    out->a = u1 < u2 ? u1 : u2;
    out->b = u1 < u2 ? u2 : u1;
    snprintf(out->id, sizeof out->id, "%" PRIu64 ":%" PRIu64, out->a, out->b);
    return 0;
}

int store_room_parse(const char *s, size_t len, struct room_ref *out)
{
    const char *colon = memchr(s, ':', len);
    if (!colon) {
        uint64_t id;
        if (store_parse_id(s, len, true, &id) < 0)
            return -1;
        out->kind = ROOM_NAMED;
        out->a = id;
        out->b = 0;
        snprintf(out->id, sizeof out->id, "%" PRIu64, id);
        return 0;
    }
    uint64_t a, b;
    size_t alen = (size_t)(colon - s);
    if (store_parse_id(s, alen, false, &a) < 0 ||
        store_parse_id(colon + 1, len - alen - 1, false, &b) < 0 || a >= b)
        return -1;
    return store_room_private(a, b, out);
}

bool store_room_is_private_member(const struct room_ref *room, uint64_t user_id)
{
    return room->kind == ROOM_PRIVATE && (room->a == user_id || room->b == user_id);
}

bool store_message_id_valid(const char *s, size_t len)
{
    return s && len == STORE_MESSAGE_ID_LEN && strspn(s, "0123456789abcdef") == len;
}

bool store_client_id_valid(const char *s, size_t len)
{
    return s && len >= 1 && len <= STORE_CLIENT_ID_MAX &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}
