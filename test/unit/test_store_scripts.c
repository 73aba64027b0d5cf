/* The embedded scripts are their files (lib/redis-scripts/), byte for byte:
 * each script's text is its preludes' bodies and then its own, headers
 * left out, ${NAME} placeholders replaced by the C constants.  Read from
 * the sources here, independently of scripts/lua-scripts.awk, which made
 * the table.  Run from the repository's root (make unit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define SCRIPTS_DIR "lib/redis-scripts"
#define TEXT_MAX (64 * 1024)

/* What each placeholder stands for, as the C build splices it. */
static const struct {
    const char *name, *value;
} constants[] = {
    {"STORE_CHANNEL_NAME", STORE_CHANNEL_NAME},
    {"STORE_CONTROL_CHANNEL_NAME", STORE_CONTROL_CHANNEL_NAME},
    {"STORE_KEY_EVENTS_NAME", STORE_KEY_EVENTS_NAME},
    {"STORE_KEY_EVENTS_BYTES_NAME", STORE_KEY_EVENTS_BYTES_NAME},
    {"STORE_EVENTS_MAX", STORE_STR(STORE_EVENTS_MAX)},
    {"STORE_EVENTS_TTL_S", STORE_STR(STORE_EVENTS_TTL_S)},
    {"STORE_REPLAY_CHUNK", STORE_STR(STORE_REPLAY_CHUNK)},
    {"STORE_GROUP_RATE_WINDOW_S", STORE_STR(STORE_GROUP_RATE_WINDOW_S)},
    {"STORE_USER_SEARCH_RATE_WINDOW_S", STORE_STR(STORE_USER_SEARCH_RATE_WINDOW_S)},
    {"STORE_MEMBERSHIP_RATE_WINDOW_S", STORE_STR(STORE_MEMBERSHIP_RATE_WINDOW_S)},
    {"STORE_ADDED_RATE_WINDOW_S", STORE_STR(STORE_ADDED_RATE_WINDOW_S)},
};

/* The file's text (static buffer, one at a time). */
static const char *read_file(const char *path)
{
    static char text[TEXT_MAX];
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (run from the repository's root)", path);
    size_t n = fread(text, 1, sizeof text - 1, f);
    assert_true(feof(f));
    fclose(f);
    text[n] = '\0';
    return text;
}

/* Appends to out what the file's body becomes: the lines after its header
 * of `--` lines and one empty line, with placeholders replaced.  Copies
 * its `-- uses:` list (empty when none) into uses when not NULL. */
static void append_body(char *out, size_t cap, const char *path, char *uses, size_t uses_cap)
{
    const char *t = read_file(path);
    if (uses)
        uses[0] = '\0';
    while (strncmp(t, "--", 2) == 0) {
        const char *eol = strchr(t, '\n');
        assert_non_null(eol);
        if (uses && strncmp(t, "-- uses:", 8) == 0) {
            const char *v = t + 8 + strspn(t + 8, " ");
            size_t n = (size_t)(eol - v);
            assert_true(n < uses_cap);
            memcpy(uses, v, n);
            uses[n] = '\0';
            if (strcmp(uses, "none") == 0)
                uses[0] = '\0';
        }
        t = eol + 1;
    }
    assert_int_equal(*t, '\n'); /* the empty line after the header */
    t++;
    size_t len = strlen(out);
    while (*t) {
        const char *ph = strstr(t, "${");
        size_t plain = ph ? (size_t)(ph - t) : strlen(t);
        assert_true(len + plain < cap);
        memcpy(out + len, t, plain);
        len += plain;
        t += plain;
        if (!ph)
            break;
        const char *end = strchr(ph, '}');
        assert_non_null(end);
        const char *value = NULL;
        for (size_t i = 0; i < sizeof constants / sizeof *constants; i++)
            if (strlen(constants[i].name) == (size_t)(end - ph - 2) &&
                strncmp(ph + 2, constants[i].name, (size_t)(end - ph - 2)) == 0)
                value = constants[i].value;
        if (!value)
            fail_msg("%s: an unknown placeholder %.*s", path, (int)(end - ph + 1), ph);
        assert_true(len + strlen(value) < cap);
        memcpy(out + len, value, strlen(value));
        len += strlen(value);
        t = end + 1;
    }
    out[len] = '\0';
}

static void test_scripts_are_their_files(void **state)
{
    (void)state;
    static char want[TEXT_MAX];
    for (int s = 0; s < SCRIPT_COUNT; s++) {
        const char *name = store_script_name(s);
        assert_non_null(name);
        char path[256], uses[256];
        snprintf(path, sizeof path, SCRIPTS_DIR "/%s.lua", name);
        want[0] = '\0';
        static char body[TEXT_MAX];
        body[0] = '\0';
        append_body(body, sizeof body, path, uses, sizeof uses);
        bool publishes = false;
        for (char *p = strtok(uses, ", "); p; p = strtok(NULL, ", ")) {
            publishes |= strcmp(p, "publish") == 0;
            snprintf(path, sizeof path, SCRIPTS_DIR "/prelude/%s.lua", p);
            append_body(want, sizeof want, path, NULL, 0);
        }
        assert_true(strlen(want) + strlen(body) < sizeof want);
        strcat(want, body);
        assert_string_equal(store_script_source(s), want);
        assert_int_equal(store_script_publishes(s), publishes);
    }
}

/* Every .lua file beside the preludes is a script of the table. */
static void test_every_file_is_a_script(void **state)
{
    (void)state;
    DIR *d = opendir(SCRIPTS_DIR);
    assert_non_null(d);
    int files = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".lua") != 0)
            continue;
        files++;
        int found = 0;
        for (int s = 0; s < SCRIPT_COUNT; s++)
            found += strlen(store_script_name(s)) == n - 4 &&
                     strncmp(store_script_name(s), e->d_name, n - 4) == 0;
        if (found != 1)
            fail_msg("%s is no script of the table", e->d_name);
    }
    closedir(d);
    assert_int_equal(files, SCRIPT_COUNT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scripts_are_their_files),
        cmocka_unit_test(test_every_file_is_a_script),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
