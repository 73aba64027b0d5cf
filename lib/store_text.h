/* store_text: the rules text must meet before it is stored: usernames,
 * message text, group names, emoji, UTF-8.  Pure. */
#ifndef CHATD_STORE_TEXT_H
#define CHATD_STORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest username. */
#define STORE_USERNAME_MAX_CHARS 32
#define STORE_USERNAME_MAX_BYTES (STORE_USERNAME_MAX_CHARS * 4)

/* Distinct emoji on one message; longest emoji in bytes. */
#define STORE_REACTIONS_MAX 20
#define STORE_EMOJI_MAX_BYTES 32

/* Validates a username: 1..32 code points of valid UTF-8 with no
 * whitespace or control characters.  Returns NULL when valid, otherwise a
 * message for the client (static storage). */
const char *store_username_problem(const char *s, size_t len);

/* Validates message text: non-empty valid UTF-8 of at most max_bytes, not
 * only whitespace, with no control character but tab and line feed (C0,
 * DEL, C1) and no bidirectional embedding, override or isolate (U+202A–
 * U+202E, U+2066–U+2069).  Refused, never stripped: what is stored is what
 * was sent.  Returns NULL or a message for the client.  (Edits too.) */
const char *store_message_problem(const char *s, size_t len, size_t max_bytes);

/* Validates a reaction: one emoji (a pictograph, optionally with variation
 * selector, skin tone, keycap or tag sequence, or several joined by ZWJ;
 * or a flag of two regional indicators), at most STORE_EMOJI_MAX_BYTES of
 * valid UTF-8.  Returns NULL or a message for the client. */
const char *store_emoji_problem(const char *s, size_t len);

/* Validates a group's name: 1..STORE_GROUP_NAME_MAX_CHARS code points of
 * valid UTF-8, no control characters, no bidirectional embedding, override
 * or isolate (as store_message_problem), not only whitespace.  Returns NULL
 * when valid, otherwise a message for the client (static storage). */
#define STORE_GROUP_NAME_MAX_CHARS 64
#define STORE_GROUP_NAME_MAX_BYTES (STORE_GROUP_NAME_MAX_CHARS * 4)
const char *store_group_name_problem(const char *s, size_t len);

/* Strict UTF-8 check (no overlongs, no surrogates, <= U+10FFFF).  When
 * chars is not NULL, it receives the number of code points. */
bool store_utf8_valid(const char *s, size_t len, size_t *chars);

#endif
