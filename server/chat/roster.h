/* roster: the session table — every chat socket of this server with its
 * user and rooms, indexed by room and by user, so the subscriber can fan an
 * event out to exactly the right sockets.
 *
 * A read-write lock guards it.  Fan-out holds the read lock; joining and
 * leaving take the write lock.  Nothing slow happens under it: callbacks
 * only queue a shared packet (eio_session_send_packet takes the session's
 * leaf lock).  Lock order: a session's in_lock, then the roster, then a
 * session's out_lock. */
#ifndef CHATD_ROSTER_H
#define CHATD_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct eio_session;
struct roster;
struct roster_member;
struct sbuf;

/* Rooms one socket may be in, at most (ROOMS_PER_USER's ceiling); the
 * table's own cap (roster_new) is below it.  Beyond the cap joins fail
 * (logged once). */
#define ROSTER_ROOMS_MAX 4096
/* Rooms a join takes under one write lock: a socket joining thousands
 * holds fan-out up for one batch at a time, not the whole list. */
#define ROSTER_JOIN_BATCH 64
/* Membership changes the table remembers (see roster_add's read_at). */
#define ROSTER_CHANGES_MAX 4096

/* rooms_max: rooms one socket may be in (1..ROSTER_ROOMS_MAX). */
struct roster *roster_new(size_t rooms_max);
/* Frees the table; every member must have been removed.  NULL-safe. */
void roster_free(struct roster *r);

/* Packets a held member keeps while its replay is read, at most. */
#define ROSTER_HELD_MAX 1024

/* How a join read from Redis meets the membership changes the subscriber
 * applied since: the read happened at log position read_at (the log's
 * last id then), so a room.removed / room.added of the user and room
 * applied here with a later offset overrides what the read said. */
enum roster_join_result {
    ROSTER_JOINED,  /* in the room (or was already) */
    ROSTER_REMOVED, /* removed from it after the read: not joined */
    ROSTER_STALE,   /* the read is older than the changes remembered */
    ROSTER_FAILED,  /* out of memory, or past the cap */
};

/* Adds a socket of user (a reference to es is taken) in rooms[0..n),
 * as read at read_at (see enum roster_join_result; rooms added after the
 * read are joined too), ROSTER_JOIN_BATCH rooms per write lock; rooms
 * past the cap are left out, so the first ones count.  held: the member
 * keeps what is sent to it (roster_release sends it), so a recovering
 * socket's replay goes first.  *stale: the read was too old to decide
 * (the caller closes the socket, which reconnects).  NULL on OOM. */
struct roster_member *roster_add(struct roster *r, struct eio_session *es, uint64_t user,
                                 const char *const *rooms, size_t n, bool held,
                                 const struct store_offset *read_at, bool *stale);
/* Sends what a held member kept, in order, but those at or before
 * `after` (the replay had them), and stops holding; live packets at or
 * before `after` that the subscriber delivers later are dropped too.  0,
 * or -1 when more than ROSTER_HELD_MAX came meanwhile (dropped: the caller
 * closes) or the session did not take one (closed, its outbox full). */
int roster_release(struct roster *r, struct roster_member *m, const struct store_offset *after);
/* The member's place in the event log begins at first: the offsets a
 * recovery of it may name are from there to the last one sent to it
 * (kept as fan-out, or roster_release's replay, reaches it). */
void roster_since(struct roster *r, struct roster_member *m, const struct store_offset *first);
/* The member's recovery record (store_recovery_encode), NULL on OOM. */
char *roster_record(struct roster *r, struct roster_member *m);
/* Removes and frees a member.  NULL-safe. */
void roster_remove(struct roster *r, struct roster_member *m);

/* Joins a member to a room its user was a member of at read_at (no-op
 * when already in it). */
enum roster_join_result roster_join(struct roster *r, struct roster_member *m, const char *room,
                                    const struct store_offset *read_at);
/* Whether the member is in the room. */
bool roster_in_room(struct roster *r, struct roster_member *m, const char *room);
/* Joins / takes out of room every socket of user (show.room, room.added,
 * room.removed; the subscriber thread, in log order), and remembers the
 * change at its offset `at` (NULL: none) for joins read before it. */
void roster_join_user(struct roster *r, uint64_t user, const char *room,
                      const struct store_offset *at);
void roster_leave_user(struct roster *r, uint64_t user, const char *room,
                       const struct store_offset *at);

/* Calls fn for every member in room / of user / of the server, under the
 * read lock; fn must not call back into the roster.  Return how many. */
typedef void roster_fn(void *ctx, struct eio_session *es, uint64_t user);
size_t roster_each_in_room(struct roster *r, const char *room, roster_fn *fn, void *ctx);
size_t roster_each_of_user(struct roster *r, uint64_t user, roster_fn *fn, void *ctx);
size_t roster_each(struct roster *r, roster_fn *fn, void *ctx);

/* One event's packet for the sockets chosen: queued on each (or kept by
 * a held member), except those of except_user (0: none). */
struct roster_send {
    struct sbuf *packet;
    bool has_offset;
    struct store_offset offset;
    uint64_t except_user;
};
size_t roster_send_in_room(struct roster *r, const char *room, const struct roster_send *p);
size_t roster_send_to_user(struct roster *r, uint64_t user, const struct roster_send *p);
size_t roster_send_all(struct roster *r, const struct roster_send *p);

/* Sockets on this server, and users with at least one. */
size_t roster_members(struct roster *r);
/* Sockets of user on this server. */
size_t roster_user_sockets(struct roster *r, uint64_t user);

#endif
