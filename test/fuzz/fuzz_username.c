/* Fuzzes username canonicalization: any bytes either have no canonical
 * form or one that is valid UTF-8, bounded, its own canonical form, and
 * the same for its lower-case spelling. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <unistr.h>

#include "username.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char once[USERNAME_CANONICAL_MAX + 1], twice[USERNAME_CANONICAL_MAX + 1];
    (void)username_new_problem((const char *)data, size);
    int n = username_canonical((const char *)data, size, once);
    if (n < 0)
        return 0;
    if ((size_t)n > USERNAME_CANONICAL_MAX || strlen(once) != (size_t)n ||
        u8_check((const uint8_t *)once, (size_t)n) != NULL)
        abort();
    if (username_canonical(once, (size_t)n, twice) != n || memcmp(once, twice, (size_t)n) != 0)
        abort();
    /* The lower-case spelling is the same name (not always the upper-case
     * one: dotless ı upper-cases to I, which folds to i). */
    size_t lower_len = 0;
    uint8_t *lower = u8_tolower(data, size, NULL, NULL, NULL, &lower_len);
    if (lower) {
        char low[USERNAME_CANONICAL_MAX + 1];
        int m = username_canonical((const char *)lower, lower_len, low);
        if (m >= 0 && (m != n || memcmp(low, once, (size_t)n) != 0))
            abort();
        free(lower);
    }
    return 0;
}
