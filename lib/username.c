/* username: canonical forms and the characters refused in new names (see
 * username.h), on libunistring's Unicode tables. */
#include "username.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

int username_canonical(const char *name, size_t len, char out[USERNAME_CANONICAL_MAX + 1])
{
    const uint8_t *s = (const uint8_t *)name;
    if (u8_check(s, len) != NULL)
        return -1;
    size_t nfkc_len = 0, folded_len = 0;
    uint8_t *nfkc = u8_normalize(UNINORM_NFKC, s, len, NULL, &nfkc_len);
    uint8_t *folded = nfkc ? u8_casefold(nfkc, nfkc_len, NULL, UNINORM_NFKC, NULL, &folded_len)
                           : NULL;
    int rc = -1;
    if (folded && folded_len <= USERNAME_CANONICAL_MAX && !memchr(folded, '\0', folded_len)) {
        memcpy(out, folded, folded_len);
        out[folded_len] = '\0';
        rc = (int)folded_len;
    }
    free(nfkc);
    free(folded);
    return rc;
}

/* A character nobody sees, or that changes how the text around it is
 * ordered or joined. */
static bool is_invisible(ucs4_t c)
{
    return uc_is_property_default_ignorable_code_point(c) || uc_is_property_bidi_control(c) ||
           uc_is_property_join_control(c) || uc_is_general_category(c, UC_CATEGORY_Cf) ||
           uc_is_general_category(c, UC_CATEGORY_Cc);
}

enum script_bit { SCRIPT_LATIN = 1, SCRIPT_GREEK = 2, SCRIPT_CYRILLIC = 4 };

/* The mixable script bit of a letter, 0 for anything else. */
static unsigned script_bit(ucs4_t c)
{
    if (!uc_is_general_category(c, UC_CATEGORY_L))
        return 0;
    const uc_script_t *script = uc_script(c);
    if (!script)
        return 0;
    if (strcmp(script->name, "Latin") == 0)
        return SCRIPT_LATIN;
    if (strcmp(script->name, "Greek") == 0)
        return SCRIPT_GREEK;
    if (strcmp(script->name, "Cyrillic") == 0)
        return SCRIPT_CYRILLIC;
    return 0;
}

/* Whether more than one bit is set. */
static bool several(unsigned bits)
{
    return (bits & (bits - 1)) != 0;
}

const char *username_new_problem(const char *name, size_t len)
{
    const uint8_t *s = (const uint8_t *)name, *end = s + len;
    if (u8_check(s, len) != NULL)
        return "Username must be valid UTF-8";
    unsigned scripts = 0;
    while (s < end) {
        ucs4_t c;
        s += u8_mbtouc(&c, s, (size_t)(end - s));
        if (is_invisible(c))
            return "Username must not contain invisible or text-direction characters";
        if (uc_is_general_category(c, UC_CATEGORY_Co) || uc_is_general_category(c, UC_CATEGORY_Cn))
            return "Username must not contain private-use or unassigned characters";
        scripts |= script_bit(c);
    }
    if (several(scripts))
        return "Username must not mix Latin, Greek and Cyrillic letters";
    char canonical[USERNAME_CANONICAL_MAX + 1];
    if (username_canonical(name, len, canonical) < 0)
        return "Username is too long once normalized";
    return NULL;
}
