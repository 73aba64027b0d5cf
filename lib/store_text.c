/* store_text: the rules of stored text (see store_text.h). */
#include "store_text.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- text validation ------------------------------------------------- */

/* Decodes one code point at s[*i], advancing *i.  Returns -1 on any
 * invalid sequence (overlong, surrogate, out of range, truncated). */
static int32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char c = s[*i];
    int32_t cp;
    size_t need;
    if (c < 0x80) {
        (*i)++;
        return c;
    } else if (c >= 0xC2 && c <= 0xDF) {
        cp = c & 0x1F;
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        cp = c & 0x0F;
        need = 2;
    } else if (c >= 0xF0 && c <= 0xF4) {
        cp = c & 0x07;
        need = 3;
    } else {
        return -1;
    }
    if (len - *i <= need)
        return -1;
    for (size_t k = 1; k <= need; k++) {
        unsigned char cc = s[*i + k];
        if ((cc & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (cc & 0x3F);
    }
    static const int32_t min_for_len[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[need] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *i += need + 1;
    return cp;
}

bool store_utf8_valid(const char *s, size_t len, size_t *chars)
{
    size_t i = 0, n = 0;
    while (i < len) {
        if (utf8_next((const unsigned char *)s, len, &i) < 0)
            return false;
        n++;
    }
    if (chars)
        *chars = n;
    return true;
}

/* Unicode White_Space, and the C0/C1 controls. */
static bool is_space_or_control(int32_t cp)
{
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
        return true;
    switch (cp) {
    case 0x20:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
    case 0xFEFF:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200B;
    }
}

const char *store_username_problem(const char *s, size_t len)
{
    if (len == 0)
        return "Username must not be empty";
    if (len > STORE_USERNAME_MAX_BYTES)
        return "Username must be at most 32 characters";
    size_t i = 0, chars = 0;
    while (i < len) {
        int32_t cp = utf8_next((const unsigned char *)s, len, &i);
        if (cp < 0)
            return "Username must be valid UTF-8";
        if (is_space_or_control(cp))
            return "Username must not contain spaces or control characters";
        chars++;
    }
    if (chars > STORE_USERNAME_MAX_CHARS)
        return "Username must be at most 32 characters";
    return NULL;
}

/* The explicit bidirectional formatting characters that reorder the text
 * after them until a matching pop: embeddings and overrides (U+202A–U+202E)
 * and isolates (U+2066–U+2069).  A message or name holding one could show
 * other text than it is (a reversed link, a fake "from") and leak its
 * reordering into what a client shows next to it. */
static bool is_bidi_control(int32_t cp)
{
    return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* C0 and C1 controls and DEL; a message keeps tabs and line feeds. */
static bool is_control(int32_t cp, bool lines)
{
    if (lines && (cp == '\t' || cp == '\n'))
        return false;
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

const char *store_message_problem(const char *s, size_t len, size_t max_bytes)
{
    if (len > max_bytes)
        return "Message is too long";
    bool blank = true;
    size_t i = 0;
    while (i < len) {
        int32_t cp = utf8_next((const unsigned char *)s, len, &i);
        if (cp < 0)
            return "Message must be valid UTF-8";
        if (cp == 0)
            return "Message must not contain NUL characters";
        if (is_control(cp, true))
            return "Message must not contain control characters (but tab and line feed)";
        if (is_bidi_control(cp))
            return "Message must not contain bidirectional override or isolate characters";
        if (!is_space_or_control(cp))
            blank = false;
    }
    return blank ? "Message must not be empty" : NULL;
}

/* ---- reactions ------------------------------------------------------- */

static bool in_range(int32_t cp, int32_t lo, int32_t hi)
{
    return cp >= lo && cp <= hi;
}

static bool is_regional_indicator(int32_t cp)
{
    return in_range(cp, 0x1F1E6, 0x1F1FF);
}

static bool is_skin_tone(int32_t cp)
{
    return in_range(cp, 0x1F3FB, 0x1F3FF);
}

static bool is_tag(int32_t cp)
{
    return in_range(cp, 0xE0020, 0xE007E);
}

/* A pictograph that may start an emoji: the emoji blocks (symbols and
 * arrows included), without the indicators and modifiers above. */
static bool is_pictograph(int32_t cp)
{
    static const int32_t singles[] = {0xA9,   0xAE,   0x203C, 0x2049, 0x2122,
                                      0x2139, 0x3030, 0x303D, 0x3297, 0x3299};
    for (size_t i = 0; i < sizeof singles / sizeof *singles; i++)
        if (cp == singles[i])
            return true;
    if (is_regional_indicator(cp) || is_skin_tone(cp))
        return false;
    return in_range(cp, 0x2190, 0x21FF) || in_range(cp, 0x2300, 0x23FF) ||
           in_range(cp, 0x25A0, 0x27BF) || in_range(cp, 0x2900, 0x297F) ||
           in_range(cp, 0x2B00, 0x2BFF) || in_range(cp, 0x1F000, 0x1FAFF);
}

static bool is_keycap_base(int32_t cp)
{
    return in_range(cp, '0', '9') || cp == '#' || cp == '*';
}

/* Where an emoji sequence is: after nothing or a ZWJ, after a pictograph
 * (and its modifiers), inside a tag sequence, after a flag's first half,
 * after a keycap's base (and its VS16), complete, or not an emoji. */
enum emoji_state { E_START, E_JOINED, E_BASE, E_TAG, E_FLAG, E_KEYCAP, E_KEYCAP_VS, E_END, E_BAD };

static enum emoji_state emoji_step(enum emoji_state st, int32_t cp)
{
    switch (st) {
    case E_START:
        if (is_regional_indicator(cp))
            return E_FLAG;
        if (is_keycap_base(cp))
            return E_KEYCAP;
        /* fall through */
    case E_JOINED:
        return is_pictograph(cp) ? E_BASE : E_BAD;
    case E_BASE:
        if (cp == 0xFE0F || is_skin_tone(cp))
            return E_BASE;
        if (cp == 0x200D)
            return E_JOINED;
        return is_tag(cp) ? E_TAG : E_BAD;
    case E_TAG:
        if (is_tag(cp))
            return E_TAG;
        return cp == 0xE007F ? E_END : E_BAD;
    case E_FLAG:
        return is_regional_indicator(cp) ? E_END : E_BAD;
    case E_KEYCAP:
        if (cp == 0xFE0F)
            return E_KEYCAP_VS;
        /* fall through */
    case E_KEYCAP_VS:
        return cp == 0x20E3 ? E_END : E_BAD;
    default:
        return E_BAD; /* nothing may follow a complete sequence */
    }
}

const char *store_emoji_problem(const char *s, size_t len)
{
    static const char bad[] = "Reaction must be a single emoji";
    if (len == 0 || len > STORE_EMOJI_MAX_BYTES)
        return bad;
    enum emoji_state st = E_START;
    size_t i = 0;
    while (i < len && st != E_BAD) {
        int32_t cp = utf8_next((const unsigned char *)s, len, &i);
        if (cp < 0)
            return bad;
        st = emoji_step(st, cp);
    }
    return st == E_BASE || st == E_END ? NULL : bad;
}

/* The user ids of one emoji, as strings; NULL when none is an id. */

const char *store_group_name_problem(const char *s, size_t len)
{
    static const char too_long[] = "Room name must be at most 64 characters";
    if (len > STORE_GROUP_NAME_MAX_BYTES)
        return too_long;
    bool blank = true;
    size_t i = 0, chars = 0;
    while (i < len) {
        int32_t cp = utf8_next((const unsigned char *)s, len, &i);
        if (cp < 0)
            return "Room name must be valid UTF-8";
        /* Controls (NUL, newlines, C1) would forge lines in clients' lists. */
        if (is_control(cp, false))
            return "Room name must not contain control characters";
        if (is_bidi_control(cp))
            return "Room name must not contain bidirectional override or isolate characters";
        if (!is_space_or_control(cp))
            blank = false;
        chars++;
    }
    if (blank)
        return "Room name must not be empty";
    return chars > STORE_GROUP_NAME_MAX_CHARS ? too_long : NULL;
}
