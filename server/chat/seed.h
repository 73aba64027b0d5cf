/* seed: writes the demo data into an empty Redis at start (when
 * total_users does not exist; docs/contract.md), atomically, so several
 * servers starting at once seed once; and completes the index of
 * canonical usernames. */
#ifndef CHATD_SEED_H
#define CHATD_SEED_H

struct config;

/* Connects (blocking, short timeouts) and seeds unless total_users exists.
 * Returns 1 when it seeded, 0 when there was nothing to do, -1 when Redis
 * could not be reached or refused (logged). */
int seed_demo(const struct config *cfg);

/* Adds every user missing from the index of canonical usernames (users of
 * an older chatd, or of the original servers), so a registration is
 * checked against all of them; an existing entry is kept.  Every user is
 * also put in the people search index (STORE_KEY_USER_SEARCH), so users
 * from before it existed are found.  0, or -1 when
 * Redis could not be reached or refused (logged). */
int seed_username_index(const struct config *cfg);

#endif
