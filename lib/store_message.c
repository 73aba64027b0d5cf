/* store_message: stored formats and envelopes (see store_message.h). */
#include "store_message.h"
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

/* ---- reactions ------------------------------------------------------- */

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

/* A message's mentions: an array of id strings, kept whole or not at all
 * (SCRIPT_SEND_MESSAGE writes at most a group's members). */
static int add_mentions(cJSON *out, const cJSON *in)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, "mentions");
    if (!cJSON_IsArray(v) || !v->child || cJSON_GetArraySize(v) > STORE_GROUP_MEMBERS_MAX)
        return 0;
    const cJSON *m;
    uint64_t id;
    cJSON_ArrayForEach(m, v)
    {
        if (!cJSON_IsString(m) ||
            store_parse_id(m->valuestring, strlen(m->valuestring), false, &id) < 0)
            return 0;
    }
    cJSON *copy = cJSON_Duplicate(v, true);
    if (!copy)
        return -1;
    cJSON_AddItemToObject(out, "mentions", copy);
    return 0;
}

/* chatd's additions to a message: `edited`, non-empty `reactions` and
 * `mentions`. */
static int add_changes(cJSON *out, const cJSON *in)
{
    if (add_mentions(out, in) < 0)
        return -1;
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

bool store_digest_hex_valid(const char *s, size_t len)
{
    if (len != 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

int store_control_read(const char *payload, size_t len, char digest_hex[65])
{
    cJSON *m = cJSON_ParseWithLength(payload, len);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(m, "type");
    const cJSON *session = cJSON_GetObjectItemCaseSensitive(m, "session");
    int kind = -1;
    if (cJSON_IsString(type) && strcmp(type->valuestring, STORE_CONTROL_LOGOUT_TYPE) == 0 &&
        cJSON_IsString(session) &&
        store_digest_hex_valid(session->valuestring, strlen(session->valuestring))) {
        memcpy(digest_hex, session->valuestring, 65);
        kind = STORE_CONTROL_LOGOUT;
    }
    cJSON_Delete(m);
    return kind;
}
