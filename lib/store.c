/* store: the Redis data model (see store.h). */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha1.h>

const char STORE_KEY_TOTAL_USERS[] = "total_users";
const char STORE_KEY_ONLINE_USERS[] = "online_users";
const char STORE_CHANNEL[] = STORE_CHANNEL_NAME;
const char STORE_CONTROL_CHANNEL[] = STORE_CONTROL_CHANNEL_NAME;
const char STORE_OWN_PREFIX[] = "chatd:";
const char STORE_KEY_SERVERS[] = "chatd:servers";
const char STORE_KEY_PUBLIC_GROUPS[] = "chatd:groups:public";
const char STORE_KEY_GROUP_COUNTER[] = "chatd:groups:next";
const char STORE_KEY_EVENTS[] = STORE_KEY_EVENTS_NAME;

const char *const STORE_DEMO_USERNAMES[STORE_DEMO_USERS] = {"Pablo", "Joe", "Mary", "Alex"};
const char STORE_DEMO_PASSWORD[] = "password123";

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

/* A session's key: this prefix, then its token's digest in hex. */
#define SESSION_KEY_PREFIX "chatd:session:"

int store_key_session(char *buf, size_t n, const char *token_digest_hex)
{
    return key_printf(buf, n, "%s%s", SESSION_KEY_PREFIX, token_digest_hex);
}

int store_key_login_fails_pair(char *buf, size_t n, const char *name, size_t len,
                               const char *addr)
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

/* ---- text validation ------------------------------------------------- */

/* Decodes one code point at s[*i], advancing *i.  Returns -1 on any
 * invalid sequence (overlong, surrogate, out of range, truncated). */
static int32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char c = s[*i];
    int32_t cp;
    size_t need;
    if (c < 0x80) {
        (*i)++;
        return c;
    } else if (c >= 0xC2 && c <= 0xDF) {
        cp = c & 0x1F;
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        cp = c & 0x0F;
        need = 2;
    } else if (c >= 0xF0 && c <= 0xF4) {
        cp = c & 0x07;
        need = 3;
    } else {
        return -1;
    }
    if (len - *i <= need)
        return -1;
    for (size_t k = 1; k <= need; k++) {
        unsigned char cc = s[*i + k];
        if ((cc & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (cc & 0x3F);
    }
    static const int32_t min_for_len[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[need] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *i += need + 1;
    return cp;
}

bool store_utf8_valid(const char *s, size_t len, size_t *chars)
{
    size_t i = 0, n = 0;
    while (i < len) {
        if (utf8_next((const unsigned char *)s, len, &i) < 0)
            return false;
        n++;
    }
    if (chars)
        *chars = n;
    return true;
}

/* Unicode White_Space, and the C0/C1 controls. */
static bool is_space_or_control(int32_t cp)
{
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
        return true;
    switch (cp) {
    case 0x20:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
    case 0xFEFF:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200B;
    }
}

const char *store_username_problem(const char *s, size_t len)
{
    if (len == 0)
        return "Username must not be empty";
    if (len > STORE_USERNAME_MAX_BYTES)
        return "Username must be at most 32 characters";
    size_t i = 0, chars = 0;
    while (i < len) {
        int32_t cp = utf8_next((const unsigned char *)s, len, &i);
        if (cp < 0)
            return "Username must be valid UTF-8";
        if (is_space_or_control(cp))
            return "Username must not contain spaces or control characters";
        chars++;
    }
    if (chars > STORE_USERNAME_MAX_CHARS)
        return "Username must be at most 32 characters";
    return NULL;
}

/* The explicit bidirectional formatting characters that reorder the text
 * after them until a matching pop: embeddings and overrides (U+202A–U+202E)
 * and isolates (U+2066–U+2069).  A message or name holding one could show
 * other text than it is (a reversed link, a fake "from") and leak its
 * reordering into what a client shows next to it. */
static bool is_bidi_control(int32_t cp)
{
    return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* C0 and C1 controls and DEL; a message keeps tabs and line feeds. */
static bool is_control(int32_t cp, bool lines)
{
    if (lines && (cp == '\t' || cp == '\n'))
        return false;
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

const char *store_message_problem(const char *s, size_t len, size_t max_bytes)
{
    if (len > max_bytes)
        return "Message is too long";
    bool blank = true;
    size_t i = 0;
    while (i < len) {
        int32_t cp = utf8_next((const unsigned char *)s, len, &i);
        if (cp < 0)
            return "Message must be valid UTF-8";
        if (cp == 0)
            return "Message must not contain NUL characters";
        if (is_control(cp, true))
            return "Message must not contain control characters (but tab and line feed)";
        if (is_bidi_control(cp))
            return "Message must not contain bidirectional override or isolate characters";
        if (!is_space_or_control(cp))
            blank = false;
    }
    return blank ? "Message must not be empty" : NULL;
}

/* ---- reactions ------------------------------------------------------- */

static bool in_range(int32_t cp, int32_t lo, int32_t hi)
{
    return cp >= lo && cp <= hi;
}

static bool is_regional_indicator(int32_t cp)
{
    return in_range(cp, 0x1F1E6, 0x1F1FF);
}

static bool is_skin_tone(int32_t cp)
{
    return in_range(cp, 0x1F3FB, 0x1F3FF);
}

static bool is_tag(int32_t cp)
{
    return in_range(cp, 0xE0020, 0xE007E);
}

/* A pictograph that may start an emoji: the emoji blocks (symbols and
 * arrows included), without the indicators and modifiers above. */
static bool is_pictograph(int32_t cp)
{
    static const int32_t singles[] = {0xA9,   0xAE,   0x203C, 0x2049, 0x2122,
                                      0x2139, 0x3030, 0x303D, 0x3297, 0x3299};
    for (size_t i = 0; i < sizeof singles / sizeof *singles; i++)
        if (cp == singles[i])
            return true;
    if (is_regional_indicator(cp) || is_skin_tone(cp))
        return false;
    return in_range(cp, 0x2190, 0x21FF) || in_range(cp, 0x2300, 0x23FF) ||
           in_range(cp, 0x25A0, 0x27BF) || in_range(cp, 0x2900, 0x297F) ||
           in_range(cp, 0x2B00, 0x2BFF) || in_range(cp, 0x1F000, 0x1FAFF);
}

static bool is_keycap_base(int32_t cp)
{
    return in_range(cp, '0', '9') || cp == '#' || cp == '*';
}

/* Where an emoji sequence is: after nothing or a ZWJ, after a pictograph
 * (and its modifiers), inside a tag sequence, after a flag's first half,
 * after a keycap's base (and its VS16), complete, or not an emoji. */
enum emoji_state { E_START, E_JOINED, E_BASE, E_TAG, E_FLAG, E_KEYCAP, E_KEYCAP_VS, E_END, E_BAD };

static enum emoji_state emoji_step(enum emoji_state st, int32_t cp)
{
    switch (st) {
    case E_START:
        if (is_regional_indicator(cp))
            return E_FLAG;
        if (is_keycap_base(cp))
            return E_KEYCAP;
        /* fall through */
    case E_JOINED:
        return is_pictograph(cp) ? E_BASE : E_BAD;
    case E_BASE:
        if (cp == 0xFE0F || is_skin_tone(cp))
            return E_BASE;
        if (cp == 0x200D)
            return E_JOINED;
        return is_tag(cp) ? E_TAG : E_BAD;
    case E_TAG:
        if (is_tag(cp))
            return E_TAG;
        return cp == 0xE007F ? E_END : E_BAD;
    case E_FLAG:
        return is_regional_indicator(cp) ? E_END : E_BAD;
    case E_KEYCAP:
        if (cp == 0xFE0F)
            return E_KEYCAP_VS;
        /* fall through */
    case E_KEYCAP_VS:
        return cp == 0x20E3 ? E_END : E_BAD;
    default:
        return E_BAD; /* nothing may follow a complete sequence */
    }
}

const char *store_emoji_problem(const char *s, size_t len)
{
    static const char bad[] = "Reaction must be a single emoji";
    if (len == 0 || len > STORE_EMOJI_MAX_BYTES)
        return bad;
    enum emoji_state st = E_START;
    size_t i = 0;
    while (i < len && st != E_BAD) {
        int32_t cp = utf8_next((const unsigned char *)s, len, &i);
        if (cp < 0)
            return bad;
        st = emoji_step(st, cp);
    }
    return st == E_BASE || st == E_END ? NULL : bad;
}

/* The user ids of one emoji, as strings; NULL when none is an id. */
static cJSON *reaction_users(const cJSON *users)
{
    cJSON *out = NULL;
    const cJSON *u;
    uint64_t id;
    cJSON_ArrayForEach(u, users)
    {
        if (!cJSON_IsString(u) ||
            store_parse_id(u->valuestring, strlen(u->valuestring), false, &id) < 0)
            continue;
        if (!out && !(out = cJSON_CreateArray()))
            return NULL;
        cJSON_AddItemToArray(out, cJSON_CreateString(u->valuestring));
    }
    return out;
}

cJSON *store_reactions_normalize(const cJSON *reactions)
{
    cJSON *out = cJSON_CreateObject();
    const cJSON *in = cJSON_IsObject(reactions) ? reactions : NULL;
    const cJSON *r;
    int kept = 0;
    cJSON_ArrayForEach(r, in)
    {
        if (!out || kept == STORE_REACTIONS_MAX)
            break;
        cJSON *users =
            cJSON_IsArray(r) && r->string && !store_emoji_problem(r->string, strlen(r->string))
                ? reaction_users(r)
                : NULL;
        if (users) {
            cJSON_AddItemToObject(out, r->string, users);
            kept++;
        }
    }
    return out;
}

const char *store_group_name_problem(const char *s, size_t len)
{
    static const char too_long[] = "Room name must be at most 64 characters";
    if (len > STORE_GROUP_NAME_MAX_BYTES)
        return too_long;
    bool blank = true;
    size_t i = 0, chars = 0;
    while (i < len) {
        int32_t cp = utf8_next((const unsigned char *)s, len, &i);
        if (cp < 0)
            return "Room name must be valid UTF-8";
        /* Controls (NUL, newlines, C1) would forge lines in clients' lists. */
        if (is_control(cp, false))
            return "Room name must not contain control characters";
        if (is_bidi_control(cp))
            return "Room name must not contain bidirectional override or isolate characters";
        if (!is_space_or_control(cp))
            blank = false;
        chars++;
    }
    if (blank)
        return "Room name must not be empty";
    return chars > STORE_GROUP_NAME_MAX_CHARS ? too_long : NULL;
}

/* ---- groups ---------------------------------------------------------- */

static int by_id_text(const void *x, const void *y)
{
    uint64_t a = 0, b = 0;
    const char *sa = (*(cJSON *const *)x)->valuestring, *sb = (*(cJSON *const *)y)->valuestring;
    store_parse_id(sa, strlen(sa), false, &a);
    store_parse_id(sb, strlen(sb), false, &b);
    return a < b ? -1 : a > b;
}

/* Sorts an array of id strings in numeric order, in place. */
static void sort_ids(cJSON *arr)
{
    int n = cJSON_GetArraySize(arr);
    if (n < 2 || n > STORE_GROUP_MEMBERS_MAX)
        return;
    cJSON *items[STORE_GROUP_MEMBERS_MAX];
    for (int i = 0; i < n; i++)
        items[i] = cJSON_DetachItemFromArray(arr, 0);
    qsort(items, (size_t)n, sizeof *items, by_id_text);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, items[i]);
}

cJSON *store_group_members(const cJSON *v)
{
    /* Lua's cjson writes an empty list as {}. */
    if (cJSON_IsObject(v) && !v->child)
        return cJSON_CreateArray();
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > STORE_GROUP_MEMBERS_MAX)
        return NULL;
    cJSON *out = cJSON_CreateArray();
    const cJSON *m;
    uint64_t id;
    cJSON_ArrayForEach(m, v)
    {
        if (!out || !cJSON_IsString(m) ||
            store_parse_id(m->valuestring, strlen(m->valuestring), false, &id) < 0) {
            cJSON_Delete(out);
            return NULL;
        }
        cJSON_AddItemToArray(out, cJSON_CreateString(m->valuestring));
    }
    sort_ids(out);
    return out;
}

static bool group_id_valid(const cJSON *v)
{
    uint64_t id;
    return cJSON_IsString(v) &&
           store_parse_id(v->valuestring, strlen(v->valuestring), false, &id) == 0;
}

/* A summary's memberCount: an integer 0..STORE_ID_MAX. */
static bool group_count_of(const cJSON *v, double *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (double)STORE_ID_MAX ||
        v->valuedouble != floor(v->valuedouble))
        return false;
    *out = v->valuedouble;
    return true;
}

cJSON *store_group_from_object(const cJSON *o)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *pub = cJSON_GetObjectItemCaseSensitive(o, "public");
    const cJSON *creator = cJSON_GetObjectItemCaseSensitive(o, "creator");
    if (!cJSON_IsObject(o) || !group_id_valid(id) || !cJSON_IsString(name) || !cJSON_IsBool(pub) ||
        !cJSON_IsString(creator))
        return NULL;
    /* A group has its members; its summary only their count. */
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(o, "members");
    cJSON *members = list ? store_group_members(list) : NULL;
    double count = members ? cJSON_GetArraySize(members) : -1;
    if (!list && !group_count_of(cJSON_GetObjectItemCaseSensitive(o, "memberCount"), &count))
        return NULL;
    cJSON *out = members || !list ? cJSON_CreateObject() : NULL;
    cJSON *names = NULL;
    if (!out || !cJSON_AddStringToObject(out, "id", id->valuestring) ||
        !cJSON_AddStringToObject(out, "name", name->valuestring) ||
        !(names = cJSON_AddArrayToObject(out, "names")) ||
        !cJSON_AddBoolToObject(out, "public", cJSON_IsTrue(pub)) ||
        !cJSON_AddStringToObject(out, "creator", creator->valuestring)) {
        cJSON_Delete(out);
        cJSON_Delete(members);
        return NULL;
    }
    cJSON_AddItemToArray(names, cJSON_CreateString(name->valuestring));
    if (members)
        cJSON_AddItemToObject(out, "members", members);
    cJSON_AddNumberToObject(out, "memberCount", count);
    return out;
}

/* ---- messages -------------------------------------------------------- */

char *store_message_encode(const struct store_message *msg)
{
    char from[24];
    snprintf(from, sizeof from, "%" PRIu64, msg->from);
    /* The text is validated (no NUL) but not NUL-terminated. */
    char *text = strndup(msg->text, msg->text_len);
    cJSON *o = cJSON_CreateObject();
    char *out = NULL;
    if (text && o && cJSON_AddStringToObject(o, "from", from) &&
        cJSON_AddNumberToObject(o, "date", (double)msg->date) &&
        cJSON_AddStringToObject(o, "message", text) &&
        cJSON_AddStringToObject(o, "roomId", msg->room_id) &&
        (msg->id[0] == '\0' || cJSON_AddStringToObject(o, "id", msg->id)))
        out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    free(text);
    return out;
}

/* The originals wrote `from` as a number or a string. */
static bool normalize_from(const cJSON *v, char out[24])
{
    uint64_t id;
    if (cJSON_IsString(v))
        return store_parse_id(v->valuestring, strlen(v->valuestring), true, &id) == 0 &&
               snprintf(out, 24, "%" PRIu64, id) > 0;
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= (double)STORE_ID_MAX &&
        floor(v->valuedouble) == v->valuedouble)
        return snprintf(out, 24, "%" PRIu64, (uint64_t)v->valuedouble) > 0;
    return false;
}

/* ... and `date` as an integer, a float, or (rarely) a numeric string. */
static bool normalize_date(const cJSON *v, double *out)
{
    double d;
    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (cJSON_IsString(v)) {
        char *end;
        errno = 0;
        d = strtod(v->valuestring, &end);
        if (errno || end == v->valuestring || *end)
            return false;
    } else {
        return false;
    }
    if (!isfinite(d) || d < 0 || d > 1e13)
        return false;
    *out = floor(d);
    return true;
}

/* chatd's additions to a message: `edited` and non-empty `reactions`. */
static int add_changes(cJSON *out, const cJSON *in)
{
    double edited;
    if (normalize_date(cJSON_GetObjectItemCaseSensitive(in, "edited"), &edited) &&
        !cJSON_AddNumberToObject(out, "edited", edited))
        return -1;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(in, "reactions");
    if (!r)
        return 0;
    cJSON *reactions = store_reactions_normalize(r);
    if (!reactions)
        return -1;
    if (!reactions->child) {
        cJSON_Delete(reactions);
        return 0;
    }
    cJSON_AddItemToObject(out, "reactions", reactions);
    return 0;
}

cJSON *store_message_from_object(const cJSON *in)
{
    if (!cJSON_IsObject(in))
        return NULL;
    char from[24], room[STORE_ROOM_ID_MAX];
    double date;
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(in, "message");
    const cJSON *room_v = cJSON_GetObjectItemCaseSensitive(in, "roomId");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(in, "id");
    bool ok = normalize_from(cJSON_GetObjectItemCaseSensitive(in, "from"), from) &&
              normalize_date(cJSON_GetObjectItemCaseSensitive(in, "date"), &date) &&
              cJSON_IsString(text);
    if (ok && cJSON_IsString(room_v) && strlen(room_v->valuestring) < sizeof room)
        snprintf(room, sizeof room, "%s", room_v->valuestring);
    else if (ok && cJSON_IsNumber(room_v) && room_v->valuedouble >= 0 && room_v->valuedouble < 1e15)
        snprintf(room, sizeof room, "%.0f", floor(room_v->valuedouble));
    else
        ok = false;

    cJSON *out = ok ? cJSON_CreateObject() : NULL;
    if (out && (!cJSON_AddStringToObject(out, "from", from) ||
                !cJSON_AddNumberToObject(out, "date", date) ||
                !cJSON_AddStringToObject(out, "message", text->valuestring) ||
                !cJSON_AddStringToObject(out, "roomId", room) ||
                (cJSON_IsString(id) && !cJSON_AddStringToObject(out, "id", id->valuestring)) ||
                add_changes(out, in) < 0)) {
        cJSON_Delete(out);
        out = NULL;
    }
    return out;
}

cJSON *store_message_normalize(const char *json, size_t len)
{
    cJSON *in = cJSON_ParseWithLength(json, len);
    cJSON *out = store_message_from_object(in);
    cJSON_Delete(in);
    return out;
}

/* Publishing, the prelude of every script that publishes: the only place
 * a script names the channel, spliced in from STORE_CHANNEL_NAME.  The
 * envelope is store_envelope's {serverId, type, data}; publish() encodes
 * it in Lua, publish_envelope() sends one built in C.  Every event is
 * first appended to the event log (a stream, bounded by a TTL, by
 * STORE_EVENTS_MAX entries and by the bytes of its envelopes): its stream
 * id is the event's offset, published in front of the envelope
 * ({"offset":…,"serverId":…}) so subscribers send it once with the packet,
 * and connection state recovery replays the log after it.  Ephemeral
 * events (typing, presence: announce(), publish_ephemeral()) are published
 * without an offset and never logged.  The byte budget is the script's
 * last argument, which store_call_args appends and the prelude takes off
 * ARGV, so the scripts read their own arguments as built.  The log's bytes
 * are counted in STORE_KEY_EVENTS_BYTES_NAME; over either bound, the
 * oldest entries go (exactly, so the count stays true), the newest never. */
/* One line of Lua per line of C. */
/* clang-format off */
#define LUA_PUBLISH                                                                                \
    "local log_bytes_max = tonumber(table.remove(ARGV))\n"                                          \
    "local function log_trim(n, bytes)\n"                                                           \
    "  local keep, after = nil, '-'\n"                                                              \
    "  while not keep do\n"                                                                         \
    "    local batch = redis.call('XRANGE', '" STORE_KEY_EVENTS_NAME "', after, '+', 'COUNT', 128)\n" \
    "    if #batch == 0 then break end\n"                                                           \
    "    for _, e in ipairs(batch) do\n"                                                            \
    "      if n <= 1 or (n <= " STORE_STR(STORE_EVENTS_MAX) " and bytes <= log_bytes_max) then\n"   \
    "        keep = e[1] break end\n"                                                               \
    "      n = n - 1\n"                                                                             \
    "      bytes = bytes - #e[2][2]\n"                                                              \
    "      after = '(' .. e[1]\n"                                                                   \
    "    end\n"                                                                                     \
    "  end\n"                                                                                       \
    "  if keep then redis.call('XTRIM', '" STORE_KEY_EVENTS_NAME "', 'MINID', keep) end\n"          \
    "  return math.max(bytes, 0)\n"                                                                 \
    "end\n"                                                                                         \
    "local function log_event(envelope)\n"                                                          \
    "  local offset = redis.call('XADD', '" STORE_KEY_EVENTS_NAME "', '*', 'e', envelope)\n"        \
    "  local n = redis.call('XLEN', '" STORE_KEY_EVENTS_NAME "')\n"                                 \
    "  local bytes = #envelope\n"                                                                   \
    "  if n > 1 then\n"                                                                             \
    "    bytes = redis.call('INCRBY', '" STORE_KEY_EVENTS_BYTES_NAME "', #envelope) end\n"          \
    "  if n > " STORE_STR(STORE_EVENTS_MAX) " or bytes > log_bytes_max then\n"                      \
    "    bytes = log_trim(n, bytes) end\n"                                                          \
    "  redis.call('SET', '" STORE_KEY_EVENTS_BYTES_NAME "', bytes,\n"                               \
    "    'EX', " STORE_STR(STORE_EVENTS_TTL_S) ")\n"                                                \
    "  redis.call('EXPIRE', '" STORE_KEY_EVENTS_NAME "', " STORE_STR(STORE_EVENTS_TTL_S) ")\n"     \
    "  return offset\n"                                                                             \
    "end\n"                                                                                         \
    "local function publish_envelope(envelope)\n"                                                   \
    "  local offset = log_event(envelope)\n"                                                        \
    "  redis.call('PUBLISH', '" STORE_CHANNEL_NAME "',\n"                                           \
    "    '{\"offset\":\"' .. offset .. '\",' .. string.sub(envelope, 2))\n"                        \
    "end\n"                                                                                         \
    "local function publish_ephemeral(envelope)\n"                                                  \
    "  redis.call('PUBLISH', '" STORE_CHANNEL_NAME "', envelope)\n"                                 \
    "end\n"                                                                                         \
    "local function publish(server_id, event, data)\n"                                             \
    "  publish_envelope(cjson.encode({serverId = server_id, type = event, data = data}))\n"        \
    "end\n"                                                                                         \
    "local function announce(server_id, event, data)\n"                                            \
    "  publish_ephemeral(cjson.encode({serverId = server_id, type = event, data = data}))\n"       \
    "end\n"
/* clang-format on */

/* Presence, shared by the scripts below (after LUA_PUBLISH).  A user
 * leaves online_users when no live server other than `except` holds a
 * socket of theirs; leaving publishes user.disconnected. */
#define LUA_PRESENCE                                                                               \
    "local function gone(online, me, except, uid, live)\n"                                         \
    "  for _, sid in ipairs(live) do\n"                                                            \
    "    if sid ~= except and redis.call('HEXISTS', 'chatd:presence:' .. sid, uid) == 1\n"         \
    "    then return 0 end\n"                                                                      \
    "  end\n"                                                                                      \
    "  if redis.call('SREM', online, uid) == 0 then return 0 end\n"                                \
    "  local name = redis.call('HGET', 'user:' .. uid, 'username') or ''\n"                        \
    "  announce(me, 'user.disconnected', {id = uid, username = name, online = false})\n"           \
    "  return 1\n"                                                                                 \
    "end\n"                                                                                        \
    "local function drop(servers, online, me, dead, live)\n"                                       \
    "  local hash = 'chatd:presence:' .. dead\n"                                                   \
    "  local n = 0\n"                                                                              \
    "  for _, uid in ipairs(redis.call('HKEYS', hash)) do\n"                                       \
    "    n = n + gone(online, me, dead, uid, live)\n"                                              \
    "  end\n"                                                                                      \
    "  redis.call('DEL', hash)\n"                                                                  \
    "  redis.call('ZREM', servers, dead)\n"                                                        \
    "  return n\n"                                                                                 \
    "end\n"

/* The message an edit, delete or reaction is about (after LUA_PUBLISH).
 * KEYS: room, its message index, the user's rooms, the user's rate
 * counter; ARGV: room id, '1' when a member by the id of a private room,
 * message id, user id, messages per minute, server id, index ttl, then
 * the script's own.  Membership and the rate limit as in
 * SCRIPT_SEND_MESSAGE; the index gives the score, and the members of that
 * one score (a few at most: it has milliseconds) are searched for the id.
 * find_target() -> status, or nil, member, decoded message, score. */
#define LUA_CHANGE                                                                                 \
    "local function find_target()\n"                                                               \
    "  if ARGV[2] ~= '1' and redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 0 then\n"                \
    "    return 'forbidden' end\n"                                                                 \
    "  local n = redis.call('INCR', KEYS[4])\n"                                                    \
    "  if n == 1 or redis.call('TTL', KEYS[4]) < 0 then redis.call('EXPIRE', KEYS[4], 60) end\n"   \
    "  if n > tonumber(ARGV[5]) then return 'limited' end\n"                                       \
    "  local score = redis.call('HGET', KEYS[2], ARGV[3])\n"                                       \
    "  if not score then return 'notfound' end\n"                                                  \
    "  local same = redis.call('ZRANGEBYSCORE', KEYS[1], score, score, 'LIMIT', 0, 64)\n"          \
    "  for _, member in ipairs(same) do\n"                                                         \
    "    local ok, msg = pcall(cjson.decode, member)\n"                                            \
    "    if ok and type(msg) == 'table' and msg.id == ARGV[3] then\n"                              \
    "      return nil, member, msg, score end\n"                                                   \
    "  end\n"                                                                                      \
    "  return 'notfound'\n"                                                                        \
    "end\n"                                                                                        \
    "local function own(msg) return tostring(msg.from) == ARGV[4] end\n"                           \
    "local function replace(member, msg, score)\n"                                                 \
    "  local json = cjson.encode(msg)\n"                                                           \
    "  redis.call('ZREM', KEYS[1], member)\n"                                                      \
    "  redis.call('ZADD', KEYS[1], score, json)\n"                                                 \
    "  redis.call('EXPIRE', KEYS[2], ARGV[7])\n"                                                   \
    "  return json\n"                                                                              \
    "end\n"

/* Groups, shared by the group scripts (after LUA_PUBLISH): a group as
 * store_group_from_object reads it, members in numeric order, and its
 * summary (what room.added carries: the count, not the list).
 * over(key, max): the seconds to wait when the window counter at key has
 * reached max, else nil; count(key, window) counts one.  A refusal checks
 * every limit before it writes anything.  drop_group(id, public index)
 * deletes what lives as long as the group (its last member left). */
#define LUA_GROUP                                                                                  \
    "local function by_number(a, b) return tonumber(a) < tonumber(b) end\n"                        \
    "local function group_of(id)\n"                                                                \
    "  local meta = 'chatd:group:' .. id\n"                                                        \
    "  local members = redis.call('SMEMBERS', meta .. ':members')\n"                               \
    "  table.sort(members, by_number)\n"                                                           \
    "  return {id = id, name = redis.call('GET', 'room:' .. id .. ':name') or '',\n"               \
    "    public = redis.call('HGET', meta, 'public') == '1',\n"                                    \
    "    creator = redis.call('HGET', meta, 'creator') or '', members = members}\n"                \
    "end\n"                                                                                        \
    "local function summary(g)\n"                                                                  \
    "  return {id = g.id, name = g.name, public = g.public, creator = g.creator,\n"                \
    "    memberCount = #g.members}\n"                                                              \
    "end\n"                                                                                        \
    "local function over(key, max)\n"                                                              \
    "  if tonumber(redis.call('GET', key) or '0') < tonumber(max) then return nil end\n"           \
    "  local ttl = redis.call('TTL', key)\n"                                                       \
    "  if ttl < 1 then ttl = 1 end\n"                                                              \
    "  return ttl\n"                                                                               \
    "end\n"                                                                                        \
    "local function count(key, window)\n"                                                          \
    "  if redis.call('INCR', key) == 1 or redis.call('TTL', key) < 0 then\n"                       \
    "    redis.call('EXPIRE', key, window) end\n"                                                  \
    "end\n"                                                                                        \
    "local function added_key(uid) return 'chatd:ratelimit:added:' .. uid end\n"                  \
    "local function owned_key(uid) return 'chatd:groups:owned:' .. uid end\n"                      \
    "local function drop_group(id, public)\n"                                                      \
    "  local meta = 'chatd:group:' .. id\n"                                                        \
    "  local creator = redis.call('HGET', meta, 'creator')\n"                                      \
    "  if creator then redis.call('SREM', owned_key(creator), id) end\n"                           \
    "  redis.call('DEL', meta, meta .. ':members', meta .. ':left', 'room:' .. id .. ':name',\n"    \
    "    'room:' .. id, 'chatd:msgidx:' .. id)\n"                                                  \
    "  redis.call('ZREM', public, id)\n"                                                           \
    "end\n"

/* Connection state recovery, shared by SCRIPT_SOCKET_OPEN and
 * SCRIPT_REPLAY.  sid_le: whether stream id a is at or before b (false
 * when either is not one).  missed: the log's entries after offset, read
 * STORE_REPLAY_CHUNK at a time, or false as soon as they are more than max
 * or their envelopes more than max_bytes: a replay's cost is bounded
 * whatever the log holds. */
#define STORE_REPLAY_CHUNK 16
#define LUA_MISSED                                                                                 \
    "local function sid_le(a, b)\n"                                                                \
    "  local am, as = string.match(a, '^(%d+)-(%d+)$')\n"                                          \
    "  local bm, bs = string.match(b, '^(%d+)-(%d+)$')\n"                                          \
    "  if not am or not bm then return false end\n"                                                \
    "  if #am ~= #bm then return #am < #bm end\n"                                                  \
    "  if am ~= bm then return am < bm end\n"                                                      \
    "  if #as ~= #bs then return #as < #bs end\n"                                                  \
    "  return as <= bs\n"                                                                          \
    "end\n"                                                                                        \
    "local function missed(log, offset, max, max_bytes)\n"                                         \
    "  local out, bytes, from = {}, 0, '(' .. offset\n"                                            \
    "  while true do\n"                                                                            \
    "    local chunk = redis.call('XRANGE', log, from, '+', 'COUNT', "                             \
    STORE_STR(STORE_REPLAY_CHUNK) ")\n"                                                            \
    "    for _, e in ipairs(chunk) do\n"                                                           \
    "      bytes = bytes + #(e[2][2] or '')\n"                                                     \
    "      if #out >= max or bytes > max_bytes then return false end\n"                            \
    "      out[#out + 1] = e\n"                                                                    \
    "    end\n"                                                                                    \
    "    if #chunk < " STORE_STR(STORE_REPLAY_CHUNK) " then return out end\n"                      \
    "    from = '(' .. chunk[#chunk][1]\n"                                                         \
    "  end\n"                                                                                      \
    "end\n"

/* A session's user, shared by the scripts that resolve one: the id and
 * username of the session at key, or nil.  A session whose user is gone
 * is deleted; one past half its ttl (seconds) is renewed. */
#define LUA_SESSION                                                                                \
    "local function session_user(key, ttl)\n"                                                      \
    "  local id = redis.call('GET', key)\n"                                                        \
    "  if not id then return nil end\n"                                                            \
    "  local name = redis.call('HGET', 'user:' .. id, 'username')\n"                               \
    "  if not name then redis.call('DEL', key) return nil end\n"                                   \
    "  if redis.call('TTL', key) < tonumber(ttl) / 2 then redis.call('EXPIRE', key, ttl) end\n"    \
    "  return id, name\n"                                                                          \
    "end\n"

/* The event log's position now: its last id, or, when it is empty, an id
 * before any the next XADD can take (the clock's millisecond minus one).
 * A membership read with it tells a server's roster which changes it
 * applied came after the read (roster_add). */
#define LUA_LOG_POSITION                                                                           \
    "local function log_position(log)\n"                                                           \
    "  local last = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)[1]\n"                       \
    "  if last then return last[1] end\n"                                                          \
    "  local t = redis.call('TIME')\n"                                                             \
    "  return string.format('%.0f-0', tonumber(t[1]) * 1000 + math.floor(t[2] / 1000) - 1)\n"      \
    "end\n"

/* ROOMS_PER_USER, shared by the scripts that add a room to a user's set:
 * whether the set at key may take room (there already, or below max). */
#define LUA_ROOM_ROOM                                                                              \
    "local function has_room_for(key, room, max)\n"                                                \
    "  return redis.call('SCARD', key) < tonumber(max) or\n"                                       \
    "    redis.call('SISMEMBER', key, room) == 1\n"                                                \
    "end\n"

/* The rooms a socket joins: the whole set, or for a set above max (data
 * from before ROOMS_PER_USER, or a limit lowered since) General first and
 * then the first a scan of the set meets, max in all: bounded work (no
 * SMEMBERS or SORT of a huge set), the same rooms while the set is
 * unchanged. */
#define LUA_ROOMS_OF                                                                               \
    "local function rooms_of(set, max)\n"                                                          \
    "  if redis.call('SCARD', set) <= max then return redis.call('SMEMBERS', set) end\n"           \
    "  local rooms, seen = {}, {['0'] = true}\n"                                                   \
    "  if redis.call('SISMEMBER', set, '0') == 1 then rooms[1] = '0' end\n"                        \
    "  local cursor = '0'\n"                                                                       \
    "  repeat\n"                                                                                   \
    "    local page = redis.call('SSCAN', set, cursor, 'COUNT', max)\n"                            \
    "    cursor = page[1]\n"                                                                       \
    "    for _, room in ipairs(page[2]) do\n"                                                      \
    "      if #rooms < max and not seen[room] then rooms[#rooms + 1] = room end\n"                 \
    "      seen[room] = true\n"                                                                    \
    "    end\n"                                                                                    \
    "  until cursor == '0' or #rooms >= max\n"                                                     \
    "  return rooms\n"                                                                             \
    "end\n"

/* Key names built inside scripts ('user:' .. id and so on) are the same
 * names as the builders above: keep both in step. */
static const char *const script_source[SCRIPT_COUNT] = {
    [SCRIPT_SESSION] =
        /* KEYS: session; ARGV: ttl.  -> {id, username} or nil */
    LUA_SESSION "local id, name = session_user(KEYS[1], ARGV[1])\n"
                "if not id then return false end\n"
                "return {id, name}\n",
    [SCRIPT_LOGIN_LOOKUP] =
        /* KEYS: username, fails of (canonical name, address), fails of
         * the address, registrations of the address, the canonical name's
         * index entry, attempts of the address this minute; ARGV:
         * failures of a pair before delays, max address failures, window
         * seconds, longest delay seconds, registrations per hour (0:
         * registration closed), '1' when the name may be registered,
         * attempts per minute of an address.  -> {'limited', seconds} | {'registrations',
         * seconds} (too many from the address) | {'attempts', seconds}
         * (too many attempts from the address this minute) | {'badname'} | {'none'} |
         * {'found', ref, hash, stored name}.  A name unknown as spelled
         * is the user its canonical form names; a user found as spelled
         * and missing from the index is added to it.
         * An attempt counts as a failure from here until
         * SCRIPT_LOGIN_RELEASE, so parallel guesses are held to the limits
         * too.  A pair past its free failures waits 1 s, 2 s, 4 s ... (at
         * most the longest delay) after its last attempt.  Every attempt
         * that goes on to a hash, right or wrong, counts against the
         * address's attempts per minute: hashing is what strangers could
         * otherwise take from everyone. */
    "for _, limit in ipairs({{KEYS[3], ARGV[2], 'limited'}, {KEYS[6], ARGV[7], 'attempts'}}) do\n"
    "  if tonumber(redis.call('GET', limit[1]) or '0') >= tonumber(limit[2]) then\n"
    "    local ttl = redis.call('TTL', limit[1])\n"
    "    if ttl < 1 then ttl = 1 end\n"
    "    return {limit[3], ttl}\n"
    "  end\n"
    "end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local fails = tonumber(redis.call('HGET', KEYS[2], 'n') or '0')\n"
    "local free = tonumber(ARGV[1])\n"
    "if fails >= free then\n"
    "  local wait = math.min(2 ^ (fails - free), tonumber(ARGV[4])) * 1000\n"
    "  local left = tonumber(redis.call('HGET', KEYS[2], 'at') or '0') + wait - now\n"
    "  if left > 0 then return {'limited', math.ceil(left / 1000)} end\n"
    "end\n"
    "local ref = redis.call('GET', KEYS[1])\n"
    "if not ref then ref = redis.call('GET', KEYS[5])\n"
    "elseif redis.call('EXISTS', KEYS[5]) == 0 then redis.call('SET', KEYS[5], ref) end\n"
    "local per_hour = tonumber(ARGV[5])\n"
    "if not ref and per_hour > 0 then\n"
    "  if ARGV[6] ~= '1' then return {'badname'} end\n"
    "  if tonumber(redis.call('GET', KEYS[4]) or '0') >= per_hour then\n"
    "    local ttl = redis.call('TTL', KEYS[4])\n"
    "    if ttl < 1 then ttl = 1 end\n"
    "    return {'registrations', ttl}\n"
    "  end\n"
    "  if redis.call('INCR', KEYS[4]) == 1 or redis.call('TTL', KEYS[4]) < 0 then\n"
    "    redis.call('EXPIRE', KEYS[4], 3600) end\n"
    "end\n"
    "redis.call('HINCRBY', KEYS[2], 'n', 1)\n"
    "redis.call('HSET', KEYS[2], 'at', now)\n"
    "redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]) + tonumber(ARGV[4]))\n"
    "if redis.call('INCR', KEYS[3]) == 1 or redis.call('TTL', KEYS[3]) < 0 then\n"
    "  redis.call('EXPIRE', KEYS[3], ARGV[3]) end\n"
    "if redis.call('INCR', KEYS[6]) == 1 or redis.call('TTL', KEYS[6]) < 0 then\n"
    "  redis.call('EXPIRE', KEYS[6], 60) end\n"
    "if not ref then return {'none'} end\n"
    "return {'found', ref, redis.call('HGET', ref, 'password') or '',\n"
    "        redis.call('HGET', ref, 'username') or ''}\n",
    [SCRIPT_LOGIN_RELEASE] =
        /* KEYS: fails of the pair, fails of the address: an attempt that
         * did not fail. */
    "if tonumber(redis.call('HGET', KEYS[1], 'n') or '0') > 0 then\n"
    "  redis.call('HINCRBY', KEYS[1], 'n', -1) end\n"
    "if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end\n"
    "return 1\n",
    [SCRIPT_LOGIN_FAILED] =
        /* KEYS: fails of the pair: its last attempt failed just now (the
         * hash took a while since the lookup), so its wait starts now. */
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "local t = redis.call('TIME')\n"
    "redis.call('HSET', KEYS[1], 'at', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))\n"
    "return 1\n",
    [SCRIPT_REGISTER] =
        /* KEYS: username, total_users, the canonical name's index entry;
         * ARGV: name, hash.  -> id or nil when the name (or a name of the
         * same canonical form) was taken meanwhile. */
    "if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then\n"
    "  return false end\n"
    "local id = redis.call('INCR', KEYS[2])\n"
    "local user = 'user:' .. id\n"
    "redis.call('SET', KEYS[1], user)\n"
    "redis.call('SET', KEYS[3], user)\n"
    "redis.call('HSET', user, 'username', ARGV[1], 'password', ARGV[2])\n"
    "redis.call('SADD', user .. ':rooms', '0')\n"
    "return id\n",
    [SCRIPT_REHASH] =
        /* KEYS: user; ARGV: old hash, new hash.  -> 1 replaced, 0 not */
    "if redis.call('HGET', KEYS[1], 'password') == ARGV[1] then\n"
    "  redis.call('HSET', KEYS[1], 'password', ARGV[2]) return 1 end\n"
    "return 0\n",
    [SCRIPT_ONLINE_USERS] =
        /* KEYS: online_users.  -> {id, name, id, name, ...} */
    "local out = {}\n"
    "for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  local name = redis.call('HGET', 'user:' .. id, 'username')\n"
    "  if name then out[#out + 1] = id; out[#out + 1] = name end\n"
    "end\n"
    "return out\n",
    [SCRIPT_USERS] =
        /* KEYS: online_users; ARGV: ids.  -> {id, name, online, ...} */
    "local out = {}\n"
    "for _, id in ipairs(ARGV) do\n"
    "  local name = redis.call('HGET', 'user:' .. id, 'username')\n"
    "  if name then\n"
    "    out[#out + 1] = id; out[#out + 1] = name\n"
    "    out[#out + 1] = redis.call('SISMEMBER', KEYS[1], id)\n"
    "  end\n"
    "end\n"
    "return out\n",
    [SCRIPT_ROOMS] =
        /* KEYS: user rooms, user's read markers; ARGV: user id, unread
         * scan, unread cap, rooms max.  -> {{id, unread, more, last, name}, {id,
         * unread, more, last, name a, name b}, ...}: named rooms, and
         * private rooms that have messages.  unread counts the others'
         * messages among the newest `scan` after the marker (all without
         * one), at most `cap`; more is 1 when there may be others beyond;
         * last is the newest member, '' for none.  `from` is matched
         * in the raw JSON: a quote inside text is always escaped.  Of a
         * user in more than `rooms max` rooms, the first `rooms max` by
         * id as text are read (General, '0', first): the work per room is
         * what costs, so it stays bounded. */
    "local scan, cap = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local function unread(key, room)\n"
    "  local marker = redis.call('HGET', KEYS[2], room)\n"
    "  local score = marker and string.match(marker, '^(%S+) ')\n"
    "  local low = tonumber(score) and '(' .. score or '-inf'\n"
    "  local after = redis.call('ZREVRANGEBYSCORE', key, '+inf', low, 'LIMIT', 0, scan)\n"
    "  local n, more = 0, 0\n"
    "  for _, m in ipairs(after) do\n"
    "    local from = string.match(m, '\"from\"%s*:%s*\"?(%d+)')\n"
    "    if from and from ~= ARGV[1] then n = n + 1 end\n"
    "  end\n"
    "  if n > cap then n, more = cap, 1\n"
    "  elseif #after == scan and redis.call('ZCOUNT', key, low, '+inf') > scan then more = 1 end\n"
    "  return n, more\n"
    "end\n"
    "local function row(room, ...)\n"
    "  local key = 'room:' .. room\n"
    "  local n, more = unread(key, room)\n"
    "  return {room, n, more, redis.call('ZREVRANGE', key, 0, 0)[1] or '', ...}\n"
    "end\n"
    "local max = tonumber(ARGV[4])\n"
    "local rooms\n"
    "if redis.call('SCARD', KEYS[1]) <= max then rooms = redis.call('SMEMBERS', KEYS[1])\n"
    "else rooms = redis.call('SORT', KEYS[1], 'LIMIT', 0, max, 'ALPHA') end\n"
    "local out = {}\n"
    "for _, room in ipairs(rooms) do\n"
    "  local name = redis.call('GET', 'room:' .. room .. ':name')\n"
    "  if name then\n"
    "    out[#out + 1] = row(room, name)\n"
    "  else\n"
    "    local a, b = string.match(room, '^(%d+):(%d+)$')\n"
    "    if a and redis.call('EXISTS', 'room:' .. room) == 1 then\n"
    "      out[#out + 1] = row(room,\n"
    "        redis.call('HGET', 'user:' .. a, 'username') or '',\n"
    "        redis.call('HGET', 'user:' .. b, 'username') or '')\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n",
    [SCRIPT_HISTORY] =
        /* KEYS: session, room; ARGV: session ttl, room id, the private
         * room's two user ids ('' for a named room), start, stop.  The
         * session and the page in one round trip.  -> nil (no session),
         * {id, username} (not a member), or {id, username, {members}}. */
    LUA_SESSION "local id, name = session_user(KEYS[1], ARGV[1])\n"
                "if not id then return false end\n"
                "if id ~= ARGV[3] and id ~= ARGV[4] and\n"
                "    redis.call('SISMEMBER', 'user:' .. id .. ':rooms', ARGV[2]) == 0 then\n"
                "  return {id, name} end\n"
                "return {id, name, redis.call('ZREVRANGE', KEYS[2], ARGV[5], ARGV[6])}\n",
    [SCRIPT_CREATE_PRIVATE] =
        /* KEYS: user a, user b, rooms of a, rooms of b; ARGV: room id,
         * rooms per user.  -> {name a, name b}, nil when a user does not
         * exist, or 'rooms' when a user is in too many (nothing written). */
    LUA_ROOM_ROOM
    "local na = redis.call('HGET', KEYS[1], 'username')\n"
    "local nb = redis.call('HGET', KEYS[2], 'username')\n"
    "if not na or not nb then return false end\n"
    "if not has_room_for(KEYS[3], ARGV[1], ARGV[2]) or\n"
    "    not has_room_for(KEYS[4], ARGV[1], ARGV[2]) then return 'rooms' end\n"
    "redis.call('SADD', KEYS[3], ARGV[1])\n"
    "redis.call('SADD', KEYS[4], ARGV[1])\n"
    "return {na, nb}\n",
    [SCRIPT_PRELOAD] =
        /* KEYS: room name, room; ARGV: stop.  -> {name, {members}} */
    ("return {redis.call('GET', KEYS[1]) or '',\n"
     "        redis.call('ZREVRANGE', KEYS[2], 0, ARGV[1])}\n"),
    [SCRIPT_SOCKET_OPEN] =
        /* KEYS: session, online_users, this server's presence, servers,
         * recovery record, event log; ARGV: session ttl, server id, now
         * ms, presence ttl, offset ('' when not recovering), replay max,
         * replay max bytes, rooms per user.
         * -> {id, name, {rooms}, record or false, log position} or nil (no
         * session).  The record is answered (and deleted: a pid recovers
         * once) when it is this user's, the offset is within its [first,
         * last] (what was sent to that socket), the log still holds it, and
         * what follows it is within the replay's bounds.  A user in more
         * rooms than allowed (data from before the limit) gets
         * LUA_ROOMS_OF's. */
    LUA_PUBLISH LUA_MISSED LUA_LOG_POSITION LUA_ROOMS_OF "local id = redis.call('GET', KEYS[1])\n"
                "if not id then return false end\n"
                "local name = redis.call('HGET', 'user:' .. id, 'username')\n"
                "if not name then return false end\n"
                "if redis.call('TTL', KEYS[1]) < tonumber(ARGV[1]) / 2 then\n"
                "  redis.call('EXPIRE', KEYS[1], ARGV[1]) end\n"
                "redis.call('HINCRBY', KEYS[3], id, 1)\n"
                "redis.call('EXPIRE', KEYS[3], ARGV[4])\n"
                "redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])\n"
                "if redis.call('SADD', KEYS[2], id) == 1 then\n"
                "  announce(ARGV[2], 'user.connected', {id = id, username = name, online = true})\n"
                "end\n"
                "local rec = false\n"
                "local raw = ARGV[5] ~= '' and redis.call('GET', KEYS[5])\n"
                "local ok, r = pcall(cjson.decode, raw or '')\n"
                "if ok and type(r) == 'table' and r.user == id then\n"
                "  redis.call('DEL', KEYS[5])\n"
                "  local at = redis.call('XRANGE', KEYS[6], ARGV[5], ARGV[5])\n"
                "  if type(r.first) == 'string' and type(r.last) == 'string' and\n"
                "      sid_le(r.first, ARGV[5]) and sid_le(ARGV[5], r.last) and\n"
                "      at[1] and at[1][1] == ARGV[5] and\n"
                "      missed(KEYS[6], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])) then\n"
                "    rec = raw end\n"
                "end\n"
                "return {id, name, rooms_of('user:' .. id .. ':rooms', tonumber(ARGV[8])), rec,\n"
                "  log_position(KEYS[6])}\n",
    [SCRIPT_PRESENCE_LEAVE] =
        /* KEYS: this server's presence, servers, online_users; ARGV: user
         * id, server id, now ms, timeout ms, sockets that left.  -> 1 when
         * the user went offline. */
    LUA_PUBLISH LUA_PRESENCE
    "if redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[5])) > 0 then return 0 end\n"
    "redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "local live = redis.call('ZRANGEBYSCORE', KEYS[2], tonumber(ARGV[3]) - "
    "tonumber(ARGV[4]), '+inf')\n"
    "return gone(KEYS[3], ARGV[2], ARGV[2], ARGV[1], live)\n",
    [SCRIPT_HEARTBEAT] =
        /* KEYS: servers, this server's presence, online_users; ARGV: server
         * id, now ms, timeout ms, presence ttl.  -> users gone offline. */
    LUA_PUBLISH LUA_PRESENCE
    "redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[4])\n"
    "redis.call('EXPIRE', KEYS[2], ARGV[4])\n"
    "local cutoff = tonumber(ARGV[2]) - tonumber(ARGV[3])\n"
    "local live = redis.call('ZRANGEBYSCORE', KEYS[1], cutoff, '+inf')\n"
    "local n = 0\n"
    "for _, dead in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff)) do\n"
    "  n = n + drop(KEYS[1], KEYS[3], ARGV[1], dead, live)\n"
    "end\n"
    "return n\n",
    [SCRIPT_SERVER_DOWN] =
        /* KEYS: servers, online_users; ARGV: server id, now ms, timeout ms.
         * -> users gone offline. */
    LUA_PUBLISH LUA_PRESENCE
    "local live = redis.call('ZRANGEBYSCORE', KEYS[1], tonumber(ARGV[2]) - "
    "tonumber(ARGV[3]), '+inf')\n"
    "return drop(KEYS[1], KEYS[2], ARGV[1], ARGV[1], live)\n",
    [SCRIPT_SEND_MESSAGE] =
        /* KEYS: room, sender's rooms, sender's rate counter, rooms of a,
         * rooms of b, the room's message index, the sent key of the
         * client's id; ARGV: room id, '1' when a member by the id of a
         * private room, message JSON, score, envelope JSON to publish,
         * messages per minute, server id, '1' for a private room, a, b,
         * message id, index ttl, '1' when the client gave an id, its ttl,
         * rooms per user.
         * -> 'ok' | {'dup', earlier JSON} | 'forbidden' | 'nouser' |
         * 'limited' | 'rooms'.  A private room needs both its users to
         * exist and to have room for it (else nothing is written).  Its first message announces the room
         * (show.room) before the message.  A duplicate writes the sent
         * key's ttl, so that a WAIT after it also covers the earlier send. */
    LUA_PUBLISH LUA_ROOM_ROOM
    "if ARGV[2] ~= '1' and redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then\n"
    "  return 'forbidden' end\n"
    "local private = ARGV[8] == '1'\n"
    "if private and (redis.call('HEXISTS', 'user:' .. ARGV[9], 'username') == 0 or\n"
    "    redis.call('HEXISTS', 'user:' .. ARGV[10], 'username') == 0) then return 'nouser' end\n"
    "if private and (not has_room_for(KEYS[4], ARGV[1], ARGV[15]) or\n"
    "    not has_room_for(KEYS[5], ARGV[1], ARGV[15])) then return 'rooms' end\n"
    "local once = ARGV[13] == '1'\n"
    "if once then\n"
    "  local earlier = redis.call('GET', KEYS[7])\n"
    "  if earlier then redis.call('EXPIRE', KEYS[7], ARGV[14]) return {'dup', earlier} end\n"
    "end\n"
    "local n = redis.call('INCR', KEYS[3])\n"
    "if n == 1 or redis.call('TTL', KEYS[3]) < 0 then redis.call('EXPIRE', KEYS[3], 60) end\n"
    "if n > tonumber(ARGV[6]) then return 'limited' end\n"
    "local first = private and redis.call('EXISTS', KEYS[1]) == 0\n"
    "redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])\n"
    "redis.call('HSET', KEYS[6], ARGV[11], ARGV[4])\n"
    "redis.call('EXPIRE', KEYS[6], ARGV[12])\n"
    "if once then redis.call('SET', KEYS[7], ARGV[3], 'EX', ARGV[14]) end\n"
    "if private then\n"
    "  redis.call('SADD', KEYS[4], ARGV[1])\n"
    "  redis.call('SADD', KEYS[5], ARGV[1])\n"
    "end\n"
    "if first then\n"
    "  local na = redis.call('HGET', 'user:' .. ARGV[9], 'username') or ''\n"
    "  local nb = redis.call('HGET', 'user:' .. ARGV[10], 'username') or ''\n"
    "  publish(ARGV[7], 'show.room', {id = ARGV[1], names = {na, nb}})\n"
    "end\n"
    "publish_envelope(ARGV[5])\n"
    "return 'ok'\n",
    [SCRIPT_EDIT_MESSAGE] =
        /* LUA_CHANGE's KEYS and ARGV, then text, edited seconds.
         * -> {'ok', json} | status; publishes message.edit. */
    LUA_PUBLISH LUA_CHANGE "local err, member, msg, score = find_target()\n"
                           "if err then return err end\n"
                           "if not own(msg) then return 'notyours' end\n"
                           "msg.message = ARGV[8]\n"
                           "msg.edited = tonumber(ARGV[9])\n"
                           "local json = replace(member, msg, score)\n"
                           "publish(ARGV[6], 'message.edit', msg)\n"
                           "return {'ok', json}\n",
    [SCRIPT_DELETE_MESSAGE] =
        /* LUA_CHANGE's KEYS and ARGV.  -> {'ok', json as it was} | status;
         * publishes message.delete. */
    LUA_PUBLISH LUA_CHANGE "local err, member, msg = find_target()\n"
                           "if err then return err end\n"
                           "if not own(msg) then return 'notyours' end\n"
                           "redis.call('ZREM', KEYS[1], member)\n"
                           "redis.call('HDEL', KEYS[2], ARGV[3])\n"
                           "publish(ARGV[6], 'message.delete', {roomId = ARGV[1], id = ARGV[3]})\n"
                           "return {'ok', member}\n",
    [SCRIPT_REACT_MESSAGE] =
        /* LUA_CHANGE's KEYS and ARGV, then emoji, most distinct emoji.
         * -> {'ok', json} | status; publishes message.react.  The user's
         * id is added to the emoji's list, or removed if there; an emoji
         * without users goes, and so do reactions without emoji. */
    LUA_PUBLISH LUA_CHANGE
    "local err, member, msg, score = find_target()\n"
    "if err then return err end\n"
    "local reactions = type(msg.reactions) == 'table' and msg.reactions or {}\n"
    "local users = reactions[ARGV[8]]\n"
    "if type(users) ~= 'table' then users = nil end\n"
    "local at = nil\n"
    "for i, u in ipairs(users or {}) do if u == ARGV[4] then at = i end end\n"
    "if at then\n"
    "  table.remove(users, at)\n"
    "  if #users == 0 then reactions[ARGV[8]] = nil end\n"
    "else\n"
    "  if not users then\n"
    "    local n = 0\n"
    "    for _ in pairs(reactions) do n = n + 1 end\n"
    "    if n >= tonumber(ARGV[9]) then return 'toomany' end\n"
    "    users = {}\n"
    "    reactions[ARGV[8]] = users\n"
    "  end\n"
    "  users[#users + 1] = ARGV[4]\n"
    "end\n"
    "if next(reactions) == nil then msg.reactions = nil else msg.reactions = reactions end\n"
    "local json = replace(member, msg, score)\n"
    "publish(ARGV[6], 'message.react', {roomId = ARGV[1], id = ARGV[3], reactions = reactions})\n"
    "return {'ok', json}\n",
    [SCRIPT_READ_MARK] =
        /* KEYS: reader's rooms, room, room's message index, reader's
         * markers; ARGV: room id, '1' when a member by the id of a private
         * room, message id, reader's id, server id, markers ttl, fallback
         * scan.  -> 'ok' | 'same' | 'forbidden' | 'unknown' | 'backwards'.
         * The index gives the message's score; a message stored before
         * the index is looked for among the room's newest.  The marker
         * keeps the score, so counting never needs the message again. */
    LUA_PUBLISH
    "if ARGV[2] ~= '1' and redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then\n"
    "  return 'forbidden' end\n"
    "local needle = '\"id\":\"' .. ARGV[3] .. '\"'\n"
    "local function stored_at(score)\n"
    "  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], score, score, 'LIMIT', 0, 64)) do\n"
    "    if string.find(m, needle, 1, true) then return true end\n"
    "  end\n"
    "  return false\n"
    "end\n"
    "local score = redis.call('HGET', KEYS[3], ARGV[3])\n"
    "if score and not stored_at(score) then score = nil end\n"
    "if not score then\n"
    "  local newest = redis.call('ZREVRANGE', KEYS[2], 0, tonumber(ARGV[7]) - 1, 'WITHSCORES')\n"
    "  for i = 1, #newest, 2 do\n"
    "    if string.find(newest[i], needle, 1, true) then score = newest[i + 1] break end\n"
    "  end\n"
    "end\n"
    "if not score then return 'unknown' end\n"
    "local old = redis.call('HGET', KEYS[4], ARGV[1])\n"
    "local old_score, old_id = string.match(old or '', '^(%S+) (%S+)$')\n"
    "if old_id == ARGV[3] then return 'same' end\n"
    "if tonumber(old_score) and tonumber(score) < tonumber(old_score) then\n"
    "  return 'backwards' end\n"
    "redis.call('HSET', KEYS[4], ARGV[1], score .. ' ' .. ARGV[3])\n"
    "redis.call('EXPIRE', KEYS[4], ARGV[6])\n"
    "publish(ARGV[5], 'room.read', {userId = ARGV[4], roomId = ARGV[1], id = ARGV[3]})\n"
    "return 'ok'\n",
    [SCRIPT_GROUP_CREATE] =
        /* KEYS: group counter, public groups, the creator's creations this
         * hour, the groups the creator owns; ARGV: creator, name, '1' when
         * public, server id, groups per hour, groups per user, additions
         * of one user per hour, rooms per user, other members….
         * -> {'ok', group JSON} or {'nouser', id} | {'rooms', id} (in too
         * many rooms) | {'limited', seconds} | {'toomany'} |
         * {'busy', seconds, id}, writing nothing then.  The id skips
         * numbers some named room already uses. */
    LUA_PUBLISH LUA_GROUP
    "local uids = {ARGV[1]}\n"
    "for i = 9, #ARGV do uids[#uids + 1] = ARGV[i] end\n"
    "for _, uid in ipairs(uids) do\n"
    "  if redis.call('HEXISTS', 'user:' .. uid, 'username') == 0 then return {'nouser', uid} end\n"
    "end\n"
    "for _, uid in ipairs(uids) do\n"
    "  if redis.call('SCARD', 'user:' .. uid .. ':rooms') >= tonumber(ARGV[8]) then\n"
    "    return {'rooms', uid} end\n"
    "end\n"
    "local wait = over(KEYS[3], ARGV[5])\n"
    "if wait then return {'limited', wait} end\n"
    "if redis.call('SCARD', KEYS[4]) >= tonumber(ARGV[6]) then return {'toomany'} end\n"
    "for i = 2, #uids do\n"
    "  wait = over(added_key(uids[i]), ARGV[7])\n"
    "  if wait then return {'busy', wait, uids[i]} end\n"
    "end\n"
    "local id\n"
    "repeat id = tostring(redis.call('INCR', KEYS[1]))\n"
    "until redis.call('EXISTS', 'room:' .. id .. ':name', 'room:' .. id, 'chatd:group:' .. id) == "
    "0\n"
    "local meta = 'chatd:group:' .. id\n"
    "redis.call('SET', 'room:' .. id .. ':name', ARGV[2])\n"
    "redis.call('HSET', meta, 'creator', ARGV[1], 'public', ARGV[3])\n"
    "if ARGV[3] == '1' then redis.call('ZADD', KEYS[2], id, id) end\n"
    "for _, uid in ipairs(uids) do\n"
    "  redis.call('SADD', meta .. ':members', uid)\n"
    "  redis.call('SADD', 'user:' .. uid .. ':rooms', id)\n"
    "end\n"
    "count(KEYS[3], " STORE_STR(STORE_GROUP_RATE_WINDOW_S) ")\n"
    "redis.call('SADD', KEYS[4], id)\n"
    "for i = 2, #uids do count(added_key(uids[i]), " STORE_STR(STORE_ADDED_RATE_WINDOW_S) ") end\n"
    "local group = group_of(id)\n"
    "local brief = summary(group)\n"
    "for _, uid in ipairs(uids) do\n"
    "  publish(ARGV[4], 'room.added', {userId = uid, room = brief})\n"
    "end\n"
    "return {'ok', cjson.encode(group)}\n",
    [SCRIPT_GROUP_ADD] =
        /* KEYS: group, its members, the target's rooms, the actor's
         * changes this minute, the target's additions this hour, those who
         * left; ARGV: room id, actor, target, 'join' or 'invite', server
         * id, members max, changes per minute, additions per hour, rooms
         * per user.  -> {'ok', group JSON} or {problem, …}.  A join needs a
         * public group and actor = target (and forgets that one left); an
         * invitation needs the actor a member, and a target who did not
         * leave by themselves. */
    LUA_PUBLISH LUA_GROUP
    "if redis.call('EXISTS', KEYS[1]) == 0 then return {'nogroup'} end\n"
    "local invite = ARGV[4] ~= 'join'\n"
    "if not invite then\n"
    "  if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 then return {'exists'} end\n"
    "  if ARGV[2] ~= ARGV[3] or redis.call('HGET', KEYS[1], 'public') ~= '1' then\n"
    "    return {'forbidden'} end\n"
    "elseif redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 0 then return {'forbidden'} end\n"
    "if redis.call('HEXISTS', 'user:' .. ARGV[3], 'username') == 0 then return {'nouser'} end\n"
    "if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 then return {'exists'} end\n"
    "if invite and redis.call('SISMEMBER', KEYS[6], ARGV[3]) == 1 then return {'left'} end\n"
    "if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[6]) then return {'full'} end\n"
    "if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[9]) then return {'rooms'} end\n"
    "local wait = over(KEYS[4], ARGV[7])\n"
    "if wait then return {'limited', wait} end\n"
    "wait = invite and over(KEYS[5], ARGV[8])\n"
    "if wait then return {'busy', wait} end\n"
    "redis.call('SADD', KEYS[2], ARGV[3])\n"
    "redis.call('SADD', KEYS[3], ARGV[1])\n"
    "redis.call('SREM', KEYS[6], ARGV[3])\n"
    "count(KEYS[4], " STORE_STR(STORE_MEMBERSHIP_RATE_WINDOW_S) ")\n"
    "if invite then count(KEYS[5], " STORE_STR(STORE_ADDED_RATE_WINDOW_S) ") end\n"
    "local group = group_of(ARGV[1])\n"
    "publish(ARGV[5], 'room.added', {userId = ARGV[3], room = summary(group)})\n"
    "publish(ARGV[5], 'room.member', {id = ARGV[1], userId = ARGV[3], change = 'added',\n"
    "  memberCount = #group.members})\n"
    "return {'ok', cjson.encode(group)}\n",
    [SCRIPT_GROUP_REMOVE] =
        /* KEYS: group, its members, the target's rooms, the actor's
         * changes this minute, those who left, public groups; ARGV: room
         * id, actor, target, server id, changes per minute.  -> {'ok'} or
         * {problem, …}.  One leaves by oneself (and is marked as having
         * left); the creator, while a member, removes others.  The last
         * member out deletes the group. */
    LUA_PUBLISH LUA_GROUP
    "if redis.call('EXISTS', KEYS[1]) == 0 then return {'nogroup'} end\n"
    "local creator = redis.call('HGET', KEYS[1], 'creator')\n"
    "if ARGV[2] ~= ARGV[3] and (creator ~= ARGV[2] or\n"
    "    redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 0) then return {'forbidden'} end\n"
    "if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 0 then return {'notmember'} end\n"
    "local wait = over(KEYS[4], ARGV[5])\n"
    "if wait then return {'limited', wait} end\n"
    "redis.call('SREM', KEYS[2], ARGV[3])\n"
    "redis.call('SREM', KEYS[3], ARGV[1])\n"
    "count(KEYS[4], " STORE_STR(STORE_MEMBERSHIP_RATE_WINDOW_S) ")\n"
    "if ARGV[2] == ARGV[3] then redis.call('SADD', KEYS[5], ARGV[3]) end\n"
    "if creator == ARGV[3] then redis.call('SREM', owned_key(creator), ARGV[1]) end\n"
    "publish(ARGV[4], 'room.removed', {userId = ARGV[3], id = ARGV[1]})\n"
    "local n = redis.call('SCARD', KEYS[2])\n"
    "if n == 0 then drop_group(ARGV[1], KEYS[6]) else\n"
    "  publish(ARGV[4], 'room.member', {id = ARGV[1], userId = ARGV[3], change = 'removed',\n"
    "    memberCount = n})\n"
    "end\n"
    "return {'ok'}\n",
    [SCRIPT_GROUP_MEMBERS] =
        /* KEYS: group, its members, online_users; ARGV: who asks.
         * -> {'ok', {id, name, online, …}} | {'nogroup'} | {'forbidden'}:
         * members see an invite-only group's members, anyone a public one's. */
    "if redis.call('EXISTS', KEYS[1]) == 0 then return {'nogroup'} end\n"
    "if redis.call('HGET', KEYS[1], 'public') ~= '1' and\n"
    "    redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return {'forbidden'} end\n"
    "local ids = redis.call('SMEMBERS', KEYS[2])\n"
    "table.sort(ids, function(a, b) return tonumber(a) < tonumber(b) end)\n"
    "local out = {}\n"
    "for _, id in ipairs(ids) do\n"
    "  out[#out + 1] = id\n"
    "  out[#out + 1] = redis.call('HGET', 'user:' .. id, 'username') or ''\n"
    "  out[#out + 1] = redis.call('SISMEMBER', KEYS[3], id)\n"
    "end\n"
    "return {'ok', out}\n",
    [SCRIPT_TYPING] =
        /* KEYS: the user's typing gate; ARGV: an envelope, gate ms.
         * Published (never logged) unless the gate is closed.  -> 1 | 0 */
    LUA_PUBLISH "if not redis.call('SET', KEYS[1], '1', 'PX', ARGV[2], 'NX') then return 0 end\n"
                "publish_ephemeral(ARGV[1])\n"
                "return 1\n",
    [SCRIPT_RECOVERY_SAVE] =
        /* KEYS: recovery record; ARGV: record JSON, ttl. */
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])\n"
    "return 1\n",
    [SCRIPT_REPLAY] =
        /* KEYS: event log; ARGV: offset, max, max bytes.  -> {{id, {'e',
         * envelope}}, …}: the events after the offset, oldest first; nil
         * when beyond the bounds. */
    LUA_MISSED "return missed(KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))\n",
    [SCRIPT_ROOM_JOIN] =
        /* KEYS: the user's rooms (a group) or the other user (a private
         * room of the user's), event log; ARGV: 'private' or 'group', room
         * id.  -> {1 may join | 0, log position}: the read and the log's
         * position at it, in one step. */
    LUA_LOG_POSITION
    "local ok\n"
    "if ARGV[1] == 'private' then ok = redis.call('HEXISTS', KEYS[1], 'username')\n"
    "else ok = redis.call('SISMEMBER', KEYS[1], ARGV[2]) end\n"
    "return {ok, log_position(KEYS[2])}\n",
    [SCRIPT_CATCH_UP] =
        /* KEYS: event log; ARGV: offset ('' for the position only),
         * count.  -> {log position} | {log position, the newest id trimmed
         * or deleted ('0-0' for none), {{id, {'e', envelope}}, …} after
         * the offset, oldest first}: what a subscriber missed while its
         * connection was down, and whether the log still holds all of it. */
    LUA_LOG_POSITION
    "local position = log_position(KEYS[1])\n"
    "if ARGV[1] == '' then return {position} end\n"
    "local deleted = '0-0'\n"
    "if redis.call('EXISTS', KEYS[1]) == 1 then\n"
    "  local info = redis.call('XINFO', 'STREAM', KEYS[1])\n"
    "  for i = 1, #info - 1, 2 do\n"
    "    if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end\n"
    "  end\n"
    "end\n"
    "return {position, deleted,\n"
    "  redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])}\n",
    [SCRIPT_LOGOUT] =
        /* KEYS: session; ARGV: the control message.  In one step, so no
         * server can let a connection of the session in after the others
         * were told. */
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('PUBLISH', '" STORE_CONTROL_CHANNEL_NAME "', ARGV[1])\n"
    "return 1\n",
    [SCRIPT_GROUPS_PUBLIC] =
        /* KEYS: public groups; ARGV: stop.  -> {{id, name, members}, …} */
    "local out = {}\n"
    "for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, ARGV[1])) do\n"
    "  out[#out + 1] = {id, redis.call('GET', 'room:' .. id .. ':name') or '',\n"
    "    redis.call('SCARD', 'chatd:group:' .. id .. ':members')}\n"
    "end\n"
    "return out\n",
};

static char script_sha[SCRIPT_COUNT][2 * SHA1_DIGEST_SIZE + 1];
static pthread_once_t script_sha_once = PTHREAD_ONCE_INIT;

static void script_sha_compute(void)
{
    for (int s = 0; s < SCRIPT_COUNT; s++) {
        struct sha1_ctx ctx;
        uint8_t digest[SHA1_DIGEST_SIZE];
        sha1_init(&ctx);
        const char *src = store_script_source(s);
        sha1_update(&ctx, strlen(src), (const uint8_t *)src);
        sha1_digest(&ctx, sizeof digest, digest);
        for (size_t i = 0; i < sizeof digest; i++)
            snprintf(&script_sha[s][2 * i], 3, "%02x", digest[i]);
    }
}

const char *store_script_source(enum store_script s)
{
    return script_source[s];
}

const char *store_script_sha(enum store_script s)
{
    pthread_once(&script_sha_once, script_sha_compute);
    return script_sha[s];
}

/* ---- events on the channel ------------------------------------------- */

/* Writes into buf up to cap bytes, and only counts when buf is NULL: the
 * envelope is measured and written by the same code. */
struct json_out {
    char *buf;
    size_t cap, len;
};

static void put_bytes(struct json_out *o, const char *s, size_t n)
{
    if (o->buf && o->len + n <= o->cap)
        memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void put_text(struct json_out *o, const char *s)
{
    put_bytes(o, s, strlen(s));
}

/* s as a JSON string: quotes, backslashes and control characters escaped. */
static void put_json_string(struct json_out *o, const char *s)
{
    put_text(o, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\')
            put_bytes(o, (const char[]){'\\', (char)*p}, 2);
        else if (*p < 0x20)
            put_bytes(o, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p));
        else
            put_bytes(o, (const char *)p, 1);
    }
    put_text(o, "\"");
}

static void put_envelope(struct json_out *o, const char *server_id, const char *type,
                         const char *data_json)
{
    put_text(o, "{\"serverId\":");
    put_json_string(o, server_id);
    put_text(o, ",\"type\":");
    put_json_string(o, type);
    put_text(o, ",\"data\":");
    put_text(o, data_json);
    put_text(o, "}");
}

char *store_envelope(const char *server_id, const char *type, const char *data_json, size_t *len)
{
    if (!server_id || !type || !data_json || !data_json[0])
        return NULL;
    struct json_out measure = {0};
    put_envelope(&measure, server_id, type, data_json);
    if (measure.len >= STORE_ENVELOPE_MAX)
        return NULL;
    struct json_out out = {.buf = malloc(measure.len + 1), .cap = measure.len};
    if (!out.buf)
        return NULL;
    put_envelope(&out, server_id, type, data_json);
    out.buf[out.len] = '\0';
    if (len)
        *len = out.len;
    return out.buf;
}

cJSON *store_envelope_read(const char *payload, size_t len, const char **type, const cJSON **data)
{
    cJSON *env = cJSON_ParseWithLength(payload, len);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(env, "type");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(env, "data");
    if (!cJSON_IsString(t) || !cJSON_IsObject(d)) {
        cJSON_Delete(env);
        return NULL;
    }
    *type = t->valuestring;
    *data = d;
    return env;
}

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

#define CONTROL_LOGOUT_TYPE "logout"

static bool is_digest_hex(const char *s, size_t len)
{
    if (len != 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

int store_call_logout(struct store_call *call, const char *session_key)
{
    call_begin(call, SCRIPT_LOGOUT);
    size_t prefix = strlen(SESSION_KEY_PREFIX);
    const char *digest = session_key && strncmp(session_key, SESSION_KEY_PREFIX, prefix) == 0
                             ? session_key + prefix
                             : NULL;
    if (!digest || !is_digest_hex(digest, strlen(digest))) {
        call->failed = true;
        return -1;
    }
    add_key(call, session_key);
    add_arg(call, stored_printf(call, "{\"type\":\"" CONTROL_LOGOUT_TYPE "\",\"session\":\"%s\"}",
                                digest));
    return call_end(call);
}

int store_control_read(const char *payload, size_t len, char digest_hex[65])
{
    cJSON *m = cJSON_ParseWithLength(payload, len);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(m, "type");
    const cJSON *session = cJSON_GetObjectItemCaseSensitive(m, "session");
    int kind = -1;
    if (cJSON_IsString(type) && strcmp(type->valuestring, CONTROL_LOGOUT_TYPE) == 0 &&
        cJSON_IsString(session) && is_digest_hex(session->valuestring, strlen(session->valuestring))) {
        memcpy(digest_hex, session->valuestring, 65);
        kind = STORE_CONTROL_LOGOUT;
    }
    cJSON_Delete(m);
    return kind;
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
    return call_end(call);
}

int store_call_login_release(struct store_call *call, const char *canonical, const char *client_addr)
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
    add_arg(call, username);
    add_arg(call, password_hash);
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

char *store_recovery_encode(uint64_t user_id, const char *const *rooms, size_t n,
                            const struct store_offset *first, const struct store_offset *last)
{
    cJSON *o = cJSON_CreateObject();
    char id[24], from[STORE_OFFSET_MAX], to[STORE_OFFSET_MAX];
    snprintf(id, sizeof id, "%" PRIu64, user_id);
    store_offset_format(first, from);
    store_offset_format(last, to);
    cJSON *list = cJSON_AddArrayToObject(o, "rooms");
    cJSON_AddStringToObject(o, "user", id);
    cJSON_AddStringToObject(o, "first", from);
    cJSON_AddStringToObject(o, "last", to);
    for (size_t i = 0; list && i < n; i++)
        cJSON_AddItemToArray(list, cJSON_CreateString(rooms[i]));
    char *out = list ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return out;
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
    return call_end(call);
}

/* LUA_CHANGE's keys and first arguments. */
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

/* Whether a script begins with the publishing prelude (which takes the
 * byte budget off its ARGV). */
static bool script_publishes(enum store_script s)
{
    static const char prelude[] = LUA_PUBLISH;
    return strncmp(script_source[s], prelude, sizeof prelude - 1) == 0;
}

int store_call_args(const struct store_call *call, const char *args[STORE_CALL_ARGS_MAX + 1])
{
    if (call->failed || call->script < 0 || call->script >= SCRIPT_COUNT)
        return -1;
    int n = 0;
    for (int i = 0; i < call->nargs; i++)
        args[n++] = call->args[i];
    if (script_publishes(call->script))
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

/* ---- demo data ------------------------------------------------------- */

static const char *const demo_greetings[] = {"Hello", "Hi", "Yo", "Hola"};
static const char *const demo_general[] = {
    "Hello!",
    "Hi, How are you? What about our next meeting?",
    "Yeah everything is fine",
    "Next meeting tomorrow 10.00AM",
    "Wow that's great",
};

static int emit_str(store_emit_fn *emit, void *ctx, int argc, const char **argv)
{
    size_t lens[8];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return emit(ctx, argc, argv, lens);
}

static int seed_message(const struct store_message *msg, uint32_t (*random)(void *), void *rctx,
                        store_emit_fn *emit, void *ctx)
{
    struct store_message m = *msg;
    for (size_t i = 0; i < STORE_MESSAGE_ID_BYTES; i++)
        snprintf(&m.id[2 * i], 3, "%02x", random(rctx) & 0xFF);
    char key[STORE_KEY_MAX], score[24];
    char *json = store_message_encode(&m);
    if (!json || store_key_room(key, sizeof key, m.room_id) < 0) {
        free(json);
        return -1;
    }
    snprintf(score, sizeof score, "%" PRId64, m.date);
    int rc = emit_str(emit, ctx, 4, (const char *[]){"ZADD", key, score, json});
    free(json);
    return rc;
}

int store_seed_commands(const char *const hashes[STORE_DEMO_USERS], int64_t now,
                        uint32_t (*random)(void *ctx), store_emit_fn *emit, void *ctx)
{
    char key[STORE_KEY_MAX], key2[STORE_KEY_MAX], num[24];
    snprintf(num, sizeof num, "%d", STORE_DEMO_USERS);
    if (emit_str(emit, ctx, 3, (const char *[]){"SET", STORE_KEY_TOTAL_USERS, num}) ||
        emit_str(emit, ctx, 3, (const char *[]){"SET", "room:0:name", "General"}))
        return -1;

    for (uint64_t u = 1; u <= STORE_DEMO_USERS; u++) {
        const char *name = STORE_DEMO_USERNAMES[u - 1];
        store_key_user(key2, sizeof key2, u);
        store_key_username(key, sizeof key, name, strlen(name));
        if (emit_str(emit, ctx, 3, (const char *[]){"SET", key, key2}) ||
            emit_str(emit, ctx, 6,
                     (const char *[]){"HSET", key2, "username", name, "password", hashes[u - 1]}))
            return -1;
        store_key_user_rooms(key, sizeof key, u);
        if (emit_str(emit, ctx, 3, (const char *[]){"SADD", key, "0"}))
            return -1;
    }

    /* Every pair gets a private room, and each of the two says hello in it
     * a few minutes ago, as the originals' demo data does. */
    for (uint64_t a = 1; a <= STORE_DEMO_USERS; a++) {
        for (uint64_t b = a + 1; b <= STORE_DEMO_USERS; b++) {
            struct room_ref room;
            store_room_private(a, b, &room);
            for (uint64_t u = a; u; u = (u == a ? b : 0)) {
                store_key_user_rooms(key, sizeof key, u);
                if (emit_str(emit, ctx, 3, (const char *[]){"SADD", key, room.id}))
                    return -1;
                const char *greeting = demo_greetings[random(ctx) % 4];
                struct store_message msg = {
                    .from = u,
                    .date = now - (int64_t)(random(ctx) % 222),
                    .text = greeting,
                    .text_len = strlen(greeting),
                    .room_id = room.id,
                };
                if (seed_message(&msg, random, ctx, emit, ctx))
                    return -1;
            }
        }
    }

    const int n = (int)(sizeof demo_general / sizeof *demo_general);
    for (int i = 0; i < n; i++) {
        struct store_message msg = {
            .from = 1 + random(ctx) % STORE_DEMO_USERS,
            .date = now - (int64_t)(n - i) * 200,
            .text = demo_general[i],
            .text_len = strlen(demo_general[i]),
            .room_id = "0",
        };
        if (seed_message(&msg, random, ctx, emit, ctx))
            return -1;
    }
    return 0;
}
