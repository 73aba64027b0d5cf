/* username: when two usernames are the same user, and which characters a
 * new username may not use.
 *
 * Two names are the same user when their canonical forms are equal: NFKC,
 * then full case folding (itself followed by NFKC), so "pablo", "PABLO",
 * "Pablo" and the full-width "Ｐａｂｌｏ" are one name, as are "straße" and
 * "STRASSE".  New names are refused when they hold a character that cannot
 * be seen or that reorders text (default-ignorable code points such as the
 * zero-width joiners and the word joiner, bidi controls, join controls,
 * format characters), a private-use or unassigned code point, or letters of
 * more than one of the Latin, Greek and Cyrillic scripts ("pаblo" with a
 * Cyrillic "а").  Names written wholly in one script pass, so a wholly
 * Cyrillic look-alike of a Latin name is a different name: telling those
 * apart needs the confusables table, which this does not carry. */
#ifndef CHAT_USERNAME_H
#define CHAT_USERNAME_H

#include <stddef.h>

/* The longest canonical form kept, in bytes (NUL excluded).  NFKC can
 * expand a character up to 18-fold; 32 such characters would not fit, and
 * are refused as new names. */
#define USERNAME_CANONICAL_MAX 256

/* Writes the canonical form of name (len bytes) and its NUL into out.
 * Returns its length, or -1 when name is not valid UTF-8, its canonical
 * form is longer than USERNAME_CANONICAL_MAX, or memory ran out. */
int username_canonical(const char *name, size_t len, char out[USERNAME_CANONICAL_MAX + 1]);

/* Why name (valid UTF-8, len bytes) may not be registered, as a message
 * for the user; NULL when it may.  Only the rules above: length and
 * whitespace are store_username_problem's. */
const char *username_new_problem(const char *name, size_t len);

#endif
