/* addrcap: open connections counted per client address, so that one
 * address cannot take every slot of MAX_CONNECTIONS.  The acceptor takes a
 * slot before a socket reaches a worker; the worker gives it back when the
 * socket closes.  Thread-safe (one mutex; each call is a hash lookup). */
#ifndef CHATD_ADDRCAP_H
#define CHATD_ADDRCAP_H

#include <stdbool.h>
#include <sys/socket.h>

struct addrcap;

/* A cap of max_per_addr connections per address, an IPv6 address counted
 * by its network of ipv6_prefix bits (addrkey.h).  NULL on OOM or a
 * prefix out of range. */
struct addrcap *addrcap_new(unsigned max_per_addr, unsigned ipv6_prefix);
/* NULL-safe; every slot should have been given back. */
void addrcap_free(struct addrcap *c);

/* Takes a slot for the peer addr (IPv4-mapped IPv6 counts as its IPv4
 * address, other IPv6 as its network).  false when the address holds max_per_addr already (or out of
 * memory): the connection must be refused.  Any other family (none
 * expected) is not capped. */
bool addrcap_take(struct addrcap *c, const struct sockaddr *addr);
/* Gives back a slot taken for addr.  NULL-safe on c. */
void addrcap_release(struct addrcap *c, const struct sockaddr *addr);

#endif
