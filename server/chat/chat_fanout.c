/* chat_fanout: one event, parsed once, to the sockets it is for — live,
 * the roster's (on the subscriber thread: encoded once, that one buffer
 * queued on every target socket); replayed, one recovering socket, as its
 * view of the log stood at the event. */
#include "chat_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eio_session.h"
#include "metrics.h"
#include "outpkt.h"
#include "outq.h"
#include "sio.h"

static bool replay_in(const struct replay *r, const char *room)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->rooms[i], room) == 0)
            return true;
    return false;
}

void chat_replay_join(struct replay *r, const char *room)
{
    if (!replay_in(r, room) && r->n < ROSTER_ROOMS_MAX)
        snprintf(r->rooms[r->n++], STORE_ROOM_ID_MAX, "%s", room);
}

void chat_replay_leave(struct replay *r, const char *room)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->rooms[i], room) == 0) {
            memcpy(r->rooms[i], r->rooms[--r->n], STORE_ROOM_ID_MAX);
            return;
        }
    }
}

/* The Engine.IO packet of the event [name, data(, offset)], built once:
 * the offset goes last, as socket.io's server sends it. */
static struct sbuf *event_packet(const char *name, const cJSON *data, const char *offset)
{
    size_t len;
    char *text = NULL;
    if (!offset) {
        text = sio_encode_event(NULL, name, data, &len);
    } else {
        cJSON *args = cJSON_CreateArray();
        cJSON_AddItemToArray(args, cJSON_CreateString(name));
        cJSON_AddItemReferenceToArray(args, (cJSON *)data);
        cJSON_AddItemToArray(args, cJSON_CreateString(offset));
        struct sio_packet p = {.type = SIO_EVENT, .data = args};
        text = sio_encode(&p, &len);
        cJSON_Delete(args);
    }
    struct sbuf *b = text ? outpkt_new(EIO_MESSAGE, false, text, len) : NULL;
    free(text);
    return b;
}

enum fan_to { TO_ROOM, TO_USER, TO_ALL };

/* Sends [name, event, offset] to a room's sockets (but except's), a
 * user's, or all; returns how many got it. */
static size_t fan_send(const struct fan *f, enum fan_to to, const char *room, uint64_t user,
                       uint64_t except, const char *name, const cJSON *event)
{
    struct replay *r = f->replay;
    if (r && ((to == TO_ROOM && (!replay_in(r, room) || r->user == except)) ||
              (to == TO_USER && r->user != user)))
        return 0;
    struct roster_send p = {.packet = event_packet(name, event, f->offset), .except_user = except};
    if (!p.packet)
        return 0;
    p.has_offset = f->offset && store_offset_parse(f->offset, strlen(f->offset), &p.offset) == 0;
    size_t n = 0;
    if (r)
        n = eio_session_send_packet(r->es, p.packet) == 0;
    else if (to == TO_ROOM)
        n = roster_send_in_room(f->c->roster, room, &p);
    else if (to == TO_USER)
        n = roster_send_to_user(f->c->roster, user, &p);
    else
        n = roster_send_all(f->c->roster, &p);
    if (r && !n)
        r->failed = true; /* closed, or its outbox full: the replay is not whole */
    sbuf_unref(p.packet);
    return n;
}

/* A user's sockets join or leave a room (show.room, room.added/removed);
 * the roster remembers the change at the event's offset, for joins that
 * read the membership before it. */
static void fan_membership(const struct fan *f, uint64_t user, const char *room, bool join)
{
    struct store_offset at;
    bool has_at = f->offset && store_offset_parse(f->offset, strlen(f->offset), &at) == 0;
    if (f->replay) {
        if (f->replay->user == user)
            (join ? chat_replay_join : chat_replay_leave)(f->replay, room);
    } else if (join) {
        roster_join_user(f->c->roster, user, room, has_at ? &at : NULL);
    } else {
        roster_leave_user(f->c->roster, user, room, has_at ? &at : NULL);
    }
}

static void count_out(const struct fan *f, enum metrics_event e, size_t n)
{
    if (!f->replay)
        metrics_event_out(e, n);
}

static void fan_message(const struct fan *f, const cJSON *data)
{
    cJSON *m = store_message_from_object(data);
    const cJSON *room = cJSON_GetObjectItemCaseSensitive(m, "roomId");
    struct room_ref ref;
    if (cJSON_IsString(room) &&
        store_room_parse(room->valuestring, strlen(room->valuestring), &ref) == 0)
        count_out(f, METRICS_EVENT_MESSAGE, fan_send(f, TO_ROOM, ref.id, 0, 0, "message", m));
    cJSON_Delete(m);
}

static void fan_presence(const struct fan *f, const char *type, const cJSON *data, bool online)
{
    char id[24];
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(data, "username");
    if (!chat_id_text(cJSON_GetObjectItemCaseSensitive(data, "id"), id) || !cJSON_IsString(name))
        return;
    cJSON *user = cJSON_CreateObject();
    cJSON_AddStringToObject(user, "id", id);
    cJSON_AddStringToObject(user, "username", name->valuestring);
    cJSON_AddBoolToObject(user, "online", online);
    count_out(f, online ? METRICS_EVENT_USER_CONNECTED : METRICS_EVENT_USER_DISCONNECTED,
              fan_send(f, TO_ALL, NULL, 0, 0, type, user));
    cJSON_Delete(user);
}

static void fan_show_room(const struct fan *f, const cJSON *data)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(data, "id");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(data, "names");
    struct room_ref ref;
    if (!cJSON_IsString(id) ||
        store_room_parse(id->valuestring, strlen(id->valuestring), &ref) < 0 ||
        ref.kind != ROOM_PRIVATE || !cJSON_IsArray(names))
        return;
    /* Join first, so the message that follows reaches them. */
    fan_membership(f, ref.a, ref.id, true);
    fan_membership(f, ref.b, ref.id, true);
    cJSON *room = cJSON_CreateObject();
    cJSON_AddStringToObject(room, "id", ref.id);
    cJSON *flat = cJSON_AddArrayToObject(room, "names");
    const cJSON *name;
    cJSON_ArrayForEach(name, names)
    {
        /* The Node original sends each name as a one-element array. */
        const cJSON *n = cJSON_IsArray(name) ? cJSON_GetArrayItem(name, 0) : name;
        cJSON_AddItemToArray(flat, cJSON_CreateString(cJSON_IsString(n) ? n->valuestring : ""));
    }
    size_t n = fan_send(f, TO_USER, NULL, ref.a, 0, "show.room", room);
    n += fan_send(f, TO_USER, NULL, ref.b, 0, "show.room", room);
    count_out(f, METRICS_EVENT_SHOW_ROOM, n);
    cJSON_Delete(room);
}

static void fan_typing(const struct fan *f, const cJSON *data)
{
    const cJSON *room = cJSON_GetObjectItemCaseSensitive(data, "roomId");
    char from[24];
    uint64_t uid;
    struct room_ref ref;
    if (!cJSON_IsString(room) ||
        !chat_id_text(cJSON_GetObjectItemCaseSensitive(data, "from"), from) ||
        store_room_parse(room->valuestring, strlen(room->valuestring), &ref) < 0 ||
        store_parse_id(from, strlen(from), false, &uid) < 0)
        return;
    cJSON *event = cJSON_CreateObject();
    cJSON_AddStringToObject(event, "roomId", ref.id);
    cJSON_AddStringToObject(event, "from", from);
    count_out(f, METRICS_EVENT_TYPING, fan_send(f, TO_ROOM, ref.id, 0, uid, "typing", event));
    cJSON_Delete(event);
}

/* The room and message id an edit, delete or reaction event names. */
static bool change_ids(const cJSON *data, struct room_ref *ref, const char **id)
{
    const cJSON *room = cJSON_GetObjectItemCaseSensitive(data, "roomId");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, "id");
    if (!cJSON_IsString(room) || !cJSON_IsString(v) ||
        !store_message_id_valid(v->valuestring, strlen(v->valuestring)) ||
        store_room_parse(room->valuestring, strlen(room->valuestring), ref) < 0)
        return false;
    *id = v->valuestring;
    return true;
}

/* message.edit: the whole message as now stored, normalized, to the
 * room's sockets (all of them, the author's included, as `message` goes). */
static void fan_edit(const struct fan *f, const cJSON *data)
{
    cJSON *m = store_message_from_object(data);
    struct room_ref ref;
    const char *id;
    if (m && change_ids(m, &ref, &id))
        count_out(f, METRICS_EVENT_OTHER, fan_send(f, TO_ROOM, ref.id, 0, 0, "message.edit", m));
    cJSON_Delete(m);
}

/* message.delete {roomId, id}, and message.react {roomId, id, reactions}. */
static void fan_delete_or_react(const struct fan *f, const char *type, const cJSON *data)
{
    bool react = strcmp(type, "message.react") == 0;
    struct room_ref ref;
    const char *id;
    if (!change_ids(data, &ref, &id))
        return;
    cJSON *event = cJSON_CreateObject();
    cJSON_AddStringToObject(event, "roomId", ref.id);
    cJSON_AddStringToObject(event, "id", id);
    if (react)
        cJSON_AddItemToObject(
            event, "reactions",
            store_reactions_normalize(cJSON_GetObjectItemCaseSensitive(data, "reactions")));
    count_out(f, METRICS_EVENT_OTHER, fan_send(f, TO_ROOM, ref.id, 0, 0, type, event));
    cJSON_Delete(event);
}

/* room.read {userId, roomId, id}: {roomId, id} to every socket of the
 * reader, so a read in one tab clears the count in all of them. */
static void fan_read(const struct fan *f, const cJSON *data)
{
    char user[24];
    uint64_t uid;
    struct room_ref ref;
    const cJSON *room = cJSON_GetObjectItemCaseSensitive(data, "roomId");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(data, "id");
    if (!chat_id_text(cJSON_GetObjectItemCaseSensitive(data, "userId"), user) ||
        store_parse_id(user, strlen(user), false, &uid) < 0 || !cJSON_IsString(room) ||
        store_room_parse(room->valuestring, strlen(room->valuestring), &ref) < 0 ||
        !cJSON_IsString(id) || !store_message_id_valid(id->valuestring, strlen(id->valuestring)))
        return;
    cJSON *event = cJSON_CreateObject();
    cJSON_AddStringToObject(event, "roomId", ref.id);
    cJSON_AddStringToObject(event, "id", id->valuestring);
    count_out(f, METRICS_EVENT_ROOM_READ, fan_send(f, TO_USER, NULL, uid, 0, "room.read", event));
    cJSON_Delete(event);
}

/* room.added {userId, room}: the user's sockets join, then hear of it.
 * The room is the group's summary (memberCount): an event logged before
 * summaries carried the list, which is not passed on. */
static void fan_room_added(const struct fan *f, const cJSON *data)
{
    char uid[24];
    uint64_t user;
    cJSON *room = store_group_from_object(cJSON_GetObjectItemCaseSensitive(data, "room"));
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(room, "id");
    cJSON_DeleteItemFromObjectCaseSensitive(room, "members");
    if (room && chat_id_text(cJSON_GetObjectItemCaseSensitive(data, "userId"), uid) &&
        store_parse_id(uid, strlen(uid), false, &user) == 0) {
        fan_membership(f, user, id->valuestring, true);
        fan_send(f, TO_USER, NULL, user, 0, "room.added", room);
    }
    cJSON_Delete(room);
}

/* room.removed {userId, id}: the user's sockets leave at once, so nothing
 * of the room reaches them after this event. */
static void fan_room_removed(const struct fan *f, const cJSON *data)
{
    char uid[24], gid[24];
    uint64_t user;
    if (!chat_id_text(cJSON_GetObjectItemCaseSensitive(data, "userId"), uid) ||
        store_parse_id(uid, strlen(uid), false, &user) < 0 ||
        !chat_group_id_text(cJSON_GetObjectItemCaseSensitive(data, "id"), gid))
        return;
    fan_membership(f, user, gid, false);
    cJSON *event = cJSON_CreateObject();
    cJSON_AddStringToObject(event, "id", gid);
    fan_send(f, TO_USER, NULL, user, 0, "room.removed", event);
    cJSON_Delete(event);
}

/* room.member {id, userId, change, memberCount}: one membership change,
 * to the sockets in the room (a new member's among them, a removed one's
 * no longer).  The change, never the list: small whatever the group. */
static void fan_room_member(const struct fan *f, const cJSON *data)
{
    char gid[24], uid[24];
    const cJSON *change = cJSON_GetObjectItemCaseSensitive(data, "change");
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(data, "memberCount");
    if (!chat_group_id_text(cJSON_GetObjectItemCaseSensitive(data, "id"), gid) ||
        !chat_id_text(cJSON_GetObjectItemCaseSensitive(data, "userId"), uid) ||
        !cJSON_IsString(change) ||
        (strcmp(change->valuestring, "added") != 0 &&
         strcmp(change->valuestring, "removed") != 0) ||
        !cJSON_IsNumber(count) || count->valuedouble < 0 ||
        count->valuedouble > (double)STORE_ID_MAX ||
        (double)(uint64_t)count->valuedouble != count->valuedouble)
        return;
    cJSON *event = cJSON_CreateObject();
    cJSON_AddStringToObject(event, "id", gid);
    cJSON_AddStringToObject(event, "userId", uid);
    cJSON_AddStringToObject(event, "change", change->valuestring);
    cJSON_AddNumberToObject(event, "memberCount", count->valuedouble);
    fan_send(f, TO_ROOM, gid, 0, 0, "room.member", event);
    cJSON_Delete(event);
}

/* One event of the channel or the log, {"serverId", "type", "data"}. */
void chat_fan_event(const struct fan *f, const char *type, const cJSON *data)
{
    if (strcmp(type, "message") == 0)
        fan_message(f, data);
    else if (strcmp(type, "user.connected") == 0)
        fan_presence(f, "user.connected", data, true);
    else if (strcmp(type, "user.disconnected") == 0)
        fan_presence(f, "user.disconnected", data, false);
    else if (strcmp(type, "show.room") == 0)
        fan_show_room(f, data);
    else if (strcmp(type, "typing") == 0)
        fan_typing(f, data);
    else if (strcmp(type, "message.edit") == 0)
        fan_edit(f, data);
    else if (strcmp(type, "message.delete") == 0 || strcmp(type, "message.react") == 0)
        fan_delete_or_react(f, type, data);
    else if (strcmp(type, "room.read") == 0)
        fan_read(f, data);
    else if (strcmp(type, "room.added") == 0)
        fan_room_added(f, data);
    else if (strcmp(type, "room.removed") == 0)
        fan_room_removed(f, data);
    else if (strcmp(type, "room.member") == 0)
        fan_room_member(f, data);
}
