/* mentions: the `@name` tokens of a message's text, as canonical usernames
 * for SCRIPT_SEND_MESSAGE to resolve.  Pure.
 *
 * A mention is `@` at the start of the text or after whitespace or one of
 * MENTIONS_ENDERS, followed by a name: the longest run of characters that
 * are neither whitespace, control characters nor MENTIONS_ENDERS, with its
 * trailing full stops dropped (the end of a sentence), 1..32 code points
 * (STORE_USERNAME_MAX_CHARS).  So "@pablo, hi", "(@Pablo)" and "@PABLO."
 * name pablo; "a@pablo" names nobody.  A user whose name holds one of
 * MENTIONS_ENDERS, or ends in ".", cannot be mentioned.  Each name is then
 * canonicalized as usernames are (lib/username.h); "room" is one like the
 * others (the script reads it as everyone in a group). */
#ifndef CHATD_MENTIONS_H
#define CHATD_MENTIONS_H

#include <stddef.h>

/* Distinct names one message may mention; the further ones are text. */
#define MENTIONS_MAX 20
/* ASCII characters that end a name (and may precede its `@`). */
#define MENTIONS_ENDERS ",;:!?()[]{}<>\"'`"

/* The distinct canonical names text (len bytes, valid UTF-8) mentions,
 * at most MENTIONS_MAX, in order of first appearance, each followed by a
 * line feed (names hold no whitespace): a malloc'd string (caller frees),
 * "" when none; NULL on OOM. */
char *mentions_names(const char *text, size_t len);

#endif
