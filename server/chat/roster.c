/* roster: the session table (see roster.h).
 *
 * A room holds an array of (member, slot) pairs and a member an array of
 * (room, index) pairs pointing at each other, so leaving a room is O(1)
 * swap-removal on both sides, whatever the room's size.  A member in more
 * than a few rooms finds its slot of a room through a map (id -> slot + 1),
 * so joining n rooms is O(n), not O(n^2). */
#include "roster.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eio_session.h"
#include "log.h"
#include "metrics.h"
#include "outq.h"
#include "strmap.h"

/* From this many rooms on, a member indexes its memberships. */
#define INDEX_FROM 8

struct room;

struct membership {
    struct room *room;
    size_t index; /* where the member sits in room->seats */
};

struct seat {
    struct roster_member *member;
    size_t slot; /* which of the member's memberships */
};

struct room {
    char *id;
    struct seat *seats;
    size_t count, cap;
};

struct user {
    struct roster_member *first;
    char key[24];
};

/* A packet a held member keeps. */
struct held {
    struct sbuf *packet;
    bool has_offset;
    struct store_offset offset;
};

struct roster_member {
    /* Held: written by fan-out under the read lock (one subscriber
     * thread), read and cleared by roster_release under the write lock. */
    bool holding, overflow;
    struct held *held;
    size_t nheld;
    /* After a replay: live packets up to its last offset were replayed
     * already.  The replay reads Redis directly, so it can be ahead of the
     * subscriber, whose copies of those events may come after the release.
     * Set by roster_release (write lock), read by fan-out (read lock). */
    bool has_floor;
    struct store_offset floor;
    /* Its place in the event log (roster_since): where it began, and the
     * last offset sent to it, which fan-out moves under the read lock (one
     * subscriber thread); read under the write lock. */
    struct store_offset first, last;
    struct eio_session *es;
    uint64_t user_id;
    struct user *user;
    struct roster_member *user_prev, *user_next;
    struct roster_member *all_prev, *all_next;
    struct membership *rooms;
    size_t nrooms, rooms_cap;
    struct strmap *index; /* room id -> slot + 1, from INDEX_FROM rooms on */
    bool warned_full;     /* the cap was logged */
    bool leaving;         /* roster_remove under way: joins no more */
};

/* A membership change the subscriber applied (room.added, show.room,
 * room.removed) at its log offset. */
struct change {
    uint64_t user;
    struct store_offset at;
    bool member;
    char room[STORE_ROOM_ID_MAX];
};

struct roster {
    pthread_rwlock_t lock;
    struct strmap *rooms; /* id -> struct room */
    struct strmap *users; /* decimal id -> struct user */
    struct roster_member *all;
    size_t count;
    size_t rooms_max;
    /* The last ROSTER_CHANGES_MAX changes, in log order (a ring; written
     * count `nchanges`), and the newest offset one overwritten had. */
    struct change *changes;
    size_t nchanges;
    bool has_horizon;
    struct store_offset horizon;
};

struct roster *roster_new(size_t rooms_max)
{
    struct roster *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->rooms_max = rooms_max < 1 ? 1 : rooms_max > ROSTER_ROOMS_MAX ? ROSTER_ROOMS_MAX : rooms_max;
    r->rooms = strmap_new();
    r->users = strmap_new();
    r->changes = calloc(ROSTER_CHANGES_MAX, sizeof *r->changes);
    if (!r->rooms || !r->users || !r->changes) {
        strmap_free(r->rooms);
        strmap_free(r->users);
        free(r->changes);
        free(r);
        return NULL;
    }
    pthread_rwlock_init(&r->lock, NULL);
    return r;
}

void roster_free(struct roster *r)
{
    if (!r)
        return;
    if (r->count)
        log_warn("roster freed with %zu members", r->count);
    strmap_free(r->rooms);
    strmap_free(r->users);
    free(r->changes);
    pthread_rwlock_destroy(&r->lock);
    free(r);
}

/* ---- rooms (write lock held) ------------------------------------------------ */

static struct room *room_get(struct roster *r, const char *id, bool create)
{
    struct room *room = strmap_get(r->rooms, id);
    if (room || !create)
        return room;
    room = calloc(1, sizeof *room);
    if (room)
        room->id = strdup(id);
    if (!room || !room->id || strmap_put(r->rooms, id, room) < 0) {
        if (room)
            free(room->id);
        free(room);
        return NULL;
    }
    return room;
}

static void room_drop_if_empty(struct roster *r, struct room *room)
{
    if (room->count)
        return;
    strmap_remove(r->rooms, room->id);
    free(room->seats);
    free(room->id);
    free(room);
}

/* The member's slot of room id, or -1 when not in it. */
static long slot_of(const struct roster_member *m, const char *id)
{
    if (m->index) {
        uintptr_t v = (uintptr_t)strmap_get(m->index, id);
        return v ? (long)(v - 1) : -1;
    }
    for (size_t i = 0; i < m->nrooms; i++)
        if (strcmp(m->rooms[i].room->id, id) == 0)
            return (long)i;
    return -1;
}

/* Records slot k's room in the index (built when the member grows past
 * INDEX_FROM).  0, or -1 on OOM. */
static int index_put(struct roster_member *m, size_t k)
{
    if (!m->index && m->nrooms >= INDEX_FROM) {
        if (!(m->index = strmap_new()))
            return -1;
        for (size_t i = 0; i < m->nrooms; i++)
            if (i != k && strmap_put(m->index, m->rooms[i].room->id, (void *)(uintptr_t)(i + 1)))
                goto fail;
    }
    if (!m->index || strmap_put(m->index, m->rooms[k].room->id, (void *)(uintptr_t)(k + 1)) == 0)
        return 0;
fail:
    strmap_free(m->index);
    m->index = NULL;
    return -1;
}

static void leave_locked(struct roster *r, struct roster_member *m, size_t k);

static int join_locked(struct roster *r, struct roster_member *m, const char *id)
{
    if (slot_of(m, id) >= 0)
        return 0;
    if (m->leaving)
        return -1;
    if (m->nrooms >= r->rooms_max) {
        /* Once per socket: a client asking again and again must not flood the log. */
        if (!m->warned_full)
            log_warn("user %" PRIu64 ": more than %zu rooms; not joining %s (nor more)",
                     m->user_id, r->rooms_max, id);
        m->warned_full = true;
        return -1;
    }
    if (m->nrooms == m->rooms_cap) {
        /* Most sockets are in a room or two: start small, as every
         * connected socket keeps this array. */
        size_t cap = m->rooms_cap ? m->rooms_cap * 2 : 2;
        struct membership *grown = realloc(m->rooms, cap * sizeof *grown);
        if (!grown)
            return -1;
        m->rooms = grown;
        m->rooms_cap = cap;
    }
    struct room *room = room_get(r, id, true);
    if (!room)
        return -1;
    if (room->count == room->cap) {
        size_t cap = room->cap ? room->cap * 2 : 4;
        struct seat *grown = realloc(room->seats, cap * sizeof *grown);
        if (!grown) {
            room_drop_if_empty(r, room);
            return -1;
        }
        room->seats = grown;
        room->cap = cap;
    }
    room->seats[room->count] = (struct seat){.member = m, .slot = m->nrooms};
    m->rooms[m->nrooms++] = (struct membership){.room = room, .index = room->count++};
    if (index_put(m, m->nrooms - 1) < 0) {
        leave_locked(r, m, m->nrooms - 1);
        return -1;
    }
    return 0;
}

/* Leaves the member's membership number k. */
static void leave_locked(struct roster *r, struct roster_member *m, size_t k)
{
    struct membership ms = m->rooms[k];
    struct room *room = ms.room;
    /* Fill the member's seat with the room's last one. */
    struct seat last = room->seats[--room->count];
    if (ms.index != room->count) {
        room->seats[ms.index] = last;
        last.member->rooms[last.slot].index = ms.index;
    }
    /* Fill membership k with the member's last one. */
    if (m->index)
        strmap_remove(m->index, room->id);
    struct membership moved = m->rooms[--m->nrooms];
    if (k != m->nrooms) {
        m->rooms[k] = moved;
        moved.room->seats[moved.index].slot = k;
        /* Replacing an existing key allocates nothing: it cannot fail. */
        if (m->index)
            strmap_put(m->index, moved.room->id, (void *)(uintptr_t)(k + 1));
    }
    room_drop_if_empty(r, room);
}

/* ---- membership changes (write lock held) ---------------------------------- */

static void change_record(struct roster *r, uint64_t user, const char *room,
                          const struct store_offset *at, bool member)
{
    struct change *c = &r->changes[r->nchanges % ROSTER_CHANGES_MAX];
    if (r->nchanges >= ROSTER_CHANGES_MAX &&
        (!r->has_horizon || store_offset_cmp(&c->at, &r->horizon) > 0)) {
        r->horizon = c->at;
        r->has_horizon = true;
    }
    c->user = user;
    c->at = *at;
    c->member = member;
    snprintf(c->room, sizeof c->room, "%s", room);
    r->nchanges++;
}

/* The ring's i-th change from the newest (i < its count). */
static const struct change *change_back(const struct roster *r, size_t i)
{
    return &r->changes[(r->nchanges - 1 - i) % ROSTER_CHANGES_MAX];
}

static size_t changes_kept(const struct roster *r)
{
    return r->nchanges < ROSTER_CHANGES_MAX ? r->nchanges : ROSTER_CHANGES_MAX;
}

/* Whether a read at read_at predates changes no longer remembered. */
static bool read_stale(const struct roster *r, const struct store_offset *read_at)
{
    return r->has_horizon && store_offset_cmp(&r->horizon, read_at) > 0;
}

/* The user's newest change of room after read_at: 1 member, 0 removed,
 * -1 none (the read holds). */
static int change_after(const struct roster *r, uint64_t user, const char *room,
                        const struct store_offset *read_at)
{
    size_t n = changes_kept(r);
    for (size_t i = 0; i < n; i++) {
        const struct change *c = change_back(r, i);
        if (store_offset_cmp(&c->at, read_at) <= 0)
            break;
        if (c->user == user && strcmp(c->room, room) == 0)
            return c->member;
    }
    return -1;
}

/* Joins a room the read at read_at said the member's user was in. */
static enum roster_join_result join_read_locked(struct roster *r, struct roster_member *m,
                                                const char *room,
                                                const struct store_offset *read_at)
{
    if (read_at && read_stale(r, read_at))
        return ROSTER_STALE;
    if (read_at && change_after(r, m->user_id, room, read_at) == 0)
        return ROSTER_REMOVED;
    return join_locked(r, m, room) == 0 ? ROSTER_JOINED : ROSTER_FAILED;
}

/* Joins the rooms the user was added to after read_at (newest state of
 * each room wins, which join_read_locked checks again). */
static void join_added_locked(struct roster *r, struct roster_member *m,
                              const struct store_offset *read_at)
{
    size_t n = changes_kept(r);
    for (size_t i = 0; i < n; i++) {
        const struct change *c = change_back(r, i);
        if (store_offset_cmp(&c->at, read_at) <= 0)
            break;
        if (c->user == m->user_id && c->member)
            join_read_locked(r, m, c->room, read_at);
    }
}

/* ---- members ------------------------------------------------------------------ */

struct roster_member *roster_add(struct roster *r, struct eio_session *es, uint64_t user_id,
                                 const char *const *rooms, size_t n, bool held,
                                 const struct store_offset *read_at, bool *stale)
{
    *stale = false;
    struct roster_member *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->holding = held;
    m->es = es;
    m->user_id = user_id;
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, user_id);

    pthread_rwlock_wrlock(&r->lock);
    struct user *u = strmap_get(r->users, key);
    if (!u && (u = calloc(1, sizeof *u))) {
        memcpy(u->key, key, sizeof key);
        if (strmap_put(r->users, key, u) < 0) {
            free(u);
            u = NULL;
        }
    }
    if (!u) {
        pthread_rwlock_unlock(&r->lock);
        free(m);
        return NULL;
    }
    m->user = u;
    m->user_next = u->first;
    if (u->first)
        u->first->user_prev = m;
    u->first = m;
    m->all_next = r->all;
    if (r->all)
        r->all->all_prev = m;
    r->all = m;
    r->count++;
    eio_session_ref(es);
    /* In the user's list first: a removal applied from now on finds the
     * socket in the rooms joined so far, and is remembered for the rest. */
    for (size_t i = 0; i < n && !*stale; i++) {
        if (i % ROSTER_JOIN_BATCH == 0 && i) {
            pthread_rwlock_unlock(&r->lock);
            pthread_rwlock_wrlock(&r->lock);
        }
        *stale = join_read_locked(r, m, rooms[i], read_at) == ROSTER_STALE;
    }
    if (read_at && !*stale)
        join_added_locked(r, m, read_at);
    pthread_rwlock_unlock(&r->lock);
    metrics_gauge_add(METRICS_ROSTER_MEMBERS, 1);
    return m;
}

void roster_remove(struct roster *r, struct roster_member *m)
{
    if (!m)
        return;
    pthread_rwlock_wrlock(&r->lock);
    m->leaving = true;
    for (size_t i = 1; m->nrooms; i++) {
        leave_locked(r, m, m->nrooms - 1);
        if (i % ROSTER_JOIN_BATCH == 0) {
            pthread_rwlock_unlock(&r->lock);
            pthread_rwlock_wrlock(&r->lock);
        }
    }
    struct user *u = m->user;
    if (m->user_prev)
        m->user_prev->user_next = m->user_next;
    else
        u->first = m->user_next;
    if (m->user_next)
        m->user_next->user_prev = m->user_prev;
    if (!u->first) {
        strmap_remove(r->users, u->key);
        free(u);
    }
    if (m->all_prev)
        m->all_prev->all_next = m->all_next;
    else
        r->all = m->all_next;
    if (m->all_next)
        m->all_next->all_prev = m->all_prev;
    r->count--;
    pthread_rwlock_unlock(&r->lock);
    metrics_gauge_add(METRICS_ROSTER_MEMBERS, -1);
    for (size_t i = 0; i < m->nheld; i++)
        sbuf_unref(m->held[i].packet);
    free(m->held);
    eio_session_unref(m->es);
    strmap_free(m->index);
    free(m->rooms);
    free(m);
}

/* The member was sent (or kept for) the event at o (lock held). */
static void sent_at(struct roster_member *m, const struct store_offset *o)
{
    if (store_offset_cmp(o, &m->last) > 0)
        m->last = *o;
}

int roster_release(struct roster *r, struct roster_member *m, const struct store_offset *after)
{
    pthread_rwlock_wrlock(&r->lock);
    bool ok = !m->overflow;
    for (size_t i = 0; i < m->nheld; i++) {
        const struct held *h = &m->held[i];
        if (ok && (!h->has_offset || !after || store_offset_cmp(&h->offset, after) > 0))
            ok = eio_session_send_packet(m->es, h->packet) == 0;
        sbuf_unref(h->packet);
    }
    free(m->held);
    m->held = NULL;
    m->nheld = 0;
    m->holding = false;
    if (after) {
        m->has_floor = true;
        m->floor = *after;
        sent_at(m, after);
    }
    pthread_rwlock_unlock(&r->lock);
    return ok ? 0 : -1;
}

void roster_since(struct roster *r, struct roster_member *m, const struct store_offset *first)
{
    pthread_rwlock_wrlock(&r->lock);
    m->first = *first;
    sent_at(m, first);
    pthread_rwlock_unlock(&r->lock);
}

char *roster_record(struct roster *r, struct roster_member *m)
{
    /* The write lock: fan-out moves m->last under the read lock. */
    pthread_rwlock_wrlock(&r->lock);
    const char **ids = calloc(m->nrooms + 1, sizeof *ids);
    for (size_t i = 0; ids && i < m->nrooms; i++)
        ids[i] = m->rooms[i].room->id;
    char *out =
        ids ? store_recovery_encode(m->user_id, ids, m->nrooms, &m->first, &m->last) : NULL;
    pthread_rwlock_unlock(&r->lock);
    free(ids);
    return out;
}

enum roster_join_result roster_join(struct roster *r, struct roster_member *m, const char *room,
                                    const struct store_offset *read_at)
{
    pthread_rwlock_wrlock(&r->lock);
    enum roster_join_result rc = join_read_locked(r, m, room, read_at);
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

bool roster_in_room(struct roster *r, struct roster_member *m, const char *room)
{
    pthread_rwlock_rdlock(&r->lock);
    bool found = slot_of(m, room) >= 0;
    pthread_rwlock_unlock(&r->lock);
    return found;
}

/* The sockets of a user (write lock held); NULL when none. */
static struct roster_member *first_of_user(struct roster *r, uint64_t user)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, user);
    struct user *u = strmap_get(r->users, key);
    return u ? u->first : NULL;
}

void roster_join_user(struct roster *r, uint64_t user, const char *room,
                      const struct store_offset *at)
{
    pthread_rwlock_wrlock(&r->lock);
    if (at)
        change_record(r, user, room, at, true);
    for (struct roster_member *m = first_of_user(r, user); m; m = m->user_next)
        join_locked(r, m, room);
    pthread_rwlock_unlock(&r->lock);
}

void roster_leave_user(struct roster *r, uint64_t user, const char *room,
                       const struct store_offset *at)
{
    pthread_rwlock_wrlock(&r->lock);
    if (at)
        change_record(r, user, room, at, false);
    for (struct roster_member *m = first_of_user(r, user); m; m = m->user_next) {
        long k = slot_of(m, room);
        if (k >= 0)
            leave_locked(r, m, (size_t)k);
    }
    pthread_rwlock_unlock(&r->lock);
}

/* ---- fan-out -------------------------------------------------------------------- */

size_t roster_each_in_room(struct roster *r, const char *id, roster_fn *fn, void *ctx)
{
    pthread_rwlock_rdlock(&r->lock);
    struct room *room = strmap_get(r->rooms, id);
    size_t n = room ? room->count : 0;
    for (size_t i = 0; i < n; i++)
        fn(ctx, room->seats[i].member->es, room->seats[i].member->user_id);
    pthread_rwlock_unlock(&r->lock);
    return n;
}

size_t roster_each_of_user(struct roster *r, uint64_t user, roster_fn *fn, void *ctx)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, user);
    size_t n = 0;
    pthread_rwlock_rdlock(&r->lock);
    struct user *u = strmap_get(r->users, key);
    for (struct roster_member *m = u ? u->first : NULL; m; m = m->user_next, n++)
        fn(ctx, m->es, m->user_id);
    pthread_rwlock_unlock(&r->lock);
    return n;
}

size_t roster_each(struct roster *r, roster_fn *fn, void *ctx)
{
    size_t n = 0;
    pthread_rwlock_rdlock(&r->lock);
    for (struct roster_member *m = r->all; m; m = m->all_next, n++)
        fn(ctx, m->es, m->user_id);
    pthread_rwlock_unlock(&r->lock);
    return n;
}

/* One member's copy of a packet (read lock held, subscriber thread). */
static size_t deliver(struct roster_member *m, const struct roster_send *p)
{
    if (p->except_user && m->user_id == p->except_user)
        return 0;
    if (p->has_offset)
        sent_at(m, &p->offset);
    if (!m->holding) {
        if (m->has_floor && p->has_offset && store_offset_cmp(&p->offset, &m->floor) <= 0)
            return 0; /* replayed already */
        eio_session_send_packet(m->es, p->packet);
        return 1;
    }
    if (m->nheld == ROSTER_HELD_MAX || m->overflow) {
        m->overflow = true;
        return 0;
    }
    if (m->nheld == 0) {
        m->held = malloc(ROSTER_HELD_MAX * sizeof *m->held);
        if (!m->held) {
            m->overflow = true;
            return 0;
        }
    }
    m->held[m->nheld++] = (struct held){
        .packet = sbuf_ref(p->packet), .has_offset = p->has_offset, .offset = p->offset};
    return 1;
}

size_t roster_send_in_room(struct roster *r, const char *id, const struct roster_send *p)
{
    size_t n = 0;
    pthread_rwlock_rdlock(&r->lock);
    struct room *room = strmap_get(r->rooms, id);
    for (size_t i = 0; room && i < room->count; i++)
        n += deliver(room->seats[i].member, p);
    pthread_rwlock_unlock(&r->lock);
    return n;
}

size_t roster_send_to_user(struct roster *r, uint64_t user, const struct roster_send *p)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, user);
    size_t n = 0;
    pthread_rwlock_rdlock(&r->lock);
    struct user *u = strmap_get(r->users, key);
    for (struct roster_member *m = u ? u->first : NULL; m; m = m->user_next)
        n += deliver(m, p);
    pthread_rwlock_unlock(&r->lock);
    return n;
}

size_t roster_send_all(struct roster *r, const struct roster_send *p)
{
    size_t n = 0;
    pthread_rwlock_rdlock(&r->lock);
    for (struct roster_member *m = r->all; m; m = m->all_next)
        n += deliver(m, p);
    pthread_rwlock_unlock(&r->lock);
    return n;
}

size_t roster_members(struct roster *r)
{
    pthread_rwlock_rdlock(&r->lock);
    size_t n = r->count;
    pthread_rwlock_unlock(&r->lock);
    return n;
}

size_t roster_user_sockets(struct roster *r, uint64_t user)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, user);
    size_t n = 0;
    pthread_rwlock_rdlock(&r->lock);
    const struct user *u = strmap_get(r->users, key);
    for (const struct roster_member *m = u ? u->first : NULL; m; m = m->user_next)
        n++;
    pthread_rwlock_unlock(&r->lock);
    return n;
}
