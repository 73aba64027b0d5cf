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

struct eio_session;
struct roster;
struct roster_member;

/* Rooms one socket may be in, at most: beyond it joins fail (logged). */
#define ROSTER_ROOMS_MAX 4096

struct roster *roster_new(void);
/* Frees the table; every member must have been removed.  NULL-safe. */
void roster_free(struct roster *r);

/* Adds a socket of user (a reference to es is taken) in rooms[0..n).
 * Returns the member, or NULL on OOM. */
struct roster_member *roster_add(struct roster *r, struct eio_session *es, uint64_t user,
                                 const char *const *rooms, size_t n);
/* Removes and frees a member.  NULL-safe. */
void roster_remove(struct roster *r, struct roster_member *m);

/* Joins a member to a room (no-op when already in it).  0, or -1 on OOM
 * or past ROSTER_ROOMS_MAX. */
int roster_join(struct roster *r, struct roster_member *m, const char *room);
/* Whether the member is in the room. */
bool roster_in_room(struct roster *r, struct roster_member *m, const char *room);
/* Joins every socket of users a and b to room (show.room). */
void roster_join_users(struct roster *r, uint64_t a, uint64_t b, const char *room);
/* Joins / takes out of room every socket of user (room.added,
 * room.removed). */
void roster_join_user(struct roster *r, uint64_t user, const char *room);
void roster_leave_user(struct roster *r, uint64_t user, const char *room);

/* Calls fn for every member in room / of user / of the server, under the
 * read lock; fn must not call back into the roster.  Return how many. */
typedef void roster_fn(void *ctx, struct eio_session *es, uint64_t user);
size_t roster_each_in_room(struct roster *r, const char *room, roster_fn *fn, void *ctx);
size_t roster_each_of_user(struct roster *r, uint64_t user, roster_fn *fn, void *ctx);
size_t roster_each(struct roster *r, roster_fn *fn, void *ctx);

/* Sockets on this server, and users with at least one. */
size_t roster_members(struct roster *r);

#endif
