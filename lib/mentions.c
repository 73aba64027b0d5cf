/* mentions: `@name` tokens as canonical names (see mentions.h). */
#include "mentions.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store_text.h"
#include "username.h"

/* Whether the byte at s ends a name: ASCII whitespace, control or an ender.
 * Non-ASCII whitespace and controls are refused in names by
 * store_username_problem, which the candidate is checked with. */
static bool ends_name(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || (c < 0x80 && strchr(MENTIONS_ENDERS, c) != NULL);
}

/* Whether name (len bytes + '\n') is already among the n found in out. */
static bool seen(const char *out, size_t out_len, const char *name, size_t len)
{
    for (size_t i = 0; i < out_len;) {
        const char *nl = memchr(out + i, '\n', out_len - i);
        size_t l = (size_t)(nl - (out + i));
        if (l == len && memcmp(out + i, name, len) == 0)
            return true;
        i += l + 1;
    }
    return false;
}

char *mentions_names(const char *text, size_t len)
{
    /* Each name at most USERNAME_CANONICAL_MAX bytes and its line feed. */
    char *out = malloc(MENTIONS_MAX * (USERNAME_CANONICAL_MAX + 1) + 1);
    if (!out)
        return NULL;
    size_t out_len = 0;
    int found = 0;
    for (size_t i = 0; i < len && found < MENTIONS_MAX; i++) {
        if (text[i] != '@' || (i > 0 && !ends_name((unsigned char)text[i - 1])))
            continue;
        size_t start = i + 1, end = start;
        while (end < len && !ends_name((unsigned char)text[end]))
            end++;
        size_t name_end = end;
        while (name_end > start && text[name_end - 1] == '.')
            name_end--;
        i = end - 1; /* the next '@' after the token's end */
        char canonical[USERNAME_CANONICAL_MAX + 1];
        int n;
        if (name_end == start || store_username_problem(text + start, name_end - start) ||
            (n = username_canonical(text + start, name_end - start, canonical)) <= 0 ||
            memchr(canonical, '\n', (size_t)n) || seen(out, out_len, canonical, (size_t)n))
            continue;
        memcpy(out + out_len, canonical, (size_t)n);
        out_len += (size_t)n;
        out[out_len++] = '\n';
        found++;
    }
    out[out_len] = '\0';
    return out;
}
