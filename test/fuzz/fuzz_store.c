/* Fuzzes the data model's parsers of outside bytes: stored or published
 * messages (any form the originals wrote), room and user ids, usernames and
 * message text.  Whatever normalizes must encode and normalize again to the
 * same thing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct room_ref room;
    uint64_t id;
    if (store_room_parse(s, size, &room) == 0 &&
        store_room_parse(room.id, strlen(room.id), &room) < 0)
        abort();
    (void)store_parse_id(s, size, true, &id);
    (void)store_parse_user_ref(s, size, &id);
    (void)store_username_problem(s, size);
    (void)store_message_problem(s, size, 4096);

    cJSON *m = store_message_normalize(s, size);
    if (m) {
        char *once = cJSON_PrintUnformatted(m);
        cJSON *again = once ? store_message_normalize(once, strlen(once)) : NULL;
        char *twice = again ? cJSON_PrintUnformatted(again) : NULL;
        if (once && (!twice || strcmp(once, twice) != 0))
            abort();
        free(once);
        free(twice);
        cJSON_Delete(again);
        cJSON_Delete(m);
    }
    return 0;
}
