/* static — files from WEB_ROOT through libmicrohttpd.
 *
 * Resolution: openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) relative to the
 * root's fd, where the kernel has it (Linux >= 5.6); it refuses any path that
 * would leave the root, even through a symlink or a concurrent rename, and
 * still follows symlinks that stay inside (handy for deploys that link assets).
 * Where openat2 is missing or filtered (old kernels, old seccomp profiles),
 * each segment is opened with openat(O_NOFOLLOW) from the one before: no
 * symlink at all is followed then. The lexical checks (no "..", no dot-files)
 * come first either way, so both answer the same for every ordinary tree.
 *
 * Validators: the ETag is strong, "<size>-<mtime in ns>" in hex, as nginx
 * does (in seconds): deploys replace files (new mtime), so equal tags mean
 * equal bytes for all practical purposes, and If-None-Match compares weakly
 * anyway. HTTP dates go through strftime/strptime, which assume the C locale
 * for LC_TIME: chatd never calls setlocale.
 */
#include "static.h"
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define INDEX_NAME "index.html"
#define ASSETS_PREFIX "assets/" /* Vite's content-hashed output */
#define WELL_KNOWN ".well-known"

#define CACHE_NONE "no-cache" /* may be stored, but revalidated every time */
#define CACHE_IMMUTABLE "public, max-age=31536000, immutable"
#define CACHE_DEFAULT "public, max-age=3600"

#define HTTP_DATE_FMT "%a, %d %b %Y %H:%M:%S GMT"
#define HTTP_DATE_MAX 40  /* "Sun, 06 Nov 1994 08:49:37 GMT" is 29 */
#define ETAG_MAX 48       /* quotes, two 16-digit hex numbers, '-', NUL */
#define OPENAT2_RETRIES 4 /* EAGAIN: a rename raced the lookup; try again */

#define BODY_NOT_FOUND "{\"message\":\"Not found\"}"
#define BODY_UNAVAILABLE "{\"message\":\"Service unavailable\"}"
#define BODY_INTERNAL "{\"message\":\"Internal server error\"}"

struct static_root {
    int fd;            /* O_PATH directory: a handle, not readable itself */
    bool have_openat2; /* probed once at open */
};

/* A regular file opened for an answer. */
struct static_file {
    int fd;
    struct stat st;
    const char *name; /* last segment: picks the Content-Type */
    bool is_index;    /* a directory's index.html or the SPA fallback */
};

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"}, /* UTF-8 by definition (RFC 8259) */
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain; charset=utf-8"},
    {"wasm", "application/wasm"},
};

static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot != NULL)
        for (size_t i = 0; i < sizeof content_types / sizeof content_types[0]; i++)
            if (strcasecmp(dot + 1, content_types[i].ext) == 0)
                return content_types[i].type;
    return "application/octet-stream";
}

/* ---- resolving a path beneath the root ---- */

static bool openat2_works(int dirfd)
{
    struct open_how how = {
        .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, dirfd, ".", &how, sizeof how);
    if (fd >= 0) {
        close((int)fd);
        return true;
    }
    /* ENOSYS: kernel < 5.6; EPERM: a seccomp filter that predates it;
     * E2BIG/EINVAL: a kernel that does not know this struct or these flags. */
    return errno != ENOSYS && errno != EPERM && errno != E2BIG && errno != EINVAL;
}

struct static_root *static_root_open(const char *dir)
{
    struct static_root *root = malloc(sizeof *root);
    if (root == NULL)
        return NULL;
    root->fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root->fd < 0) {
        free(root);
        return NULL;
    }
    root->have_openat2 = openat2_works(root->fd);
    return root;
}

void static_root_free(struct static_root *root)
{
    if (root == NULL)
        return;
    close(root->fd);
    free(root);
}

/* O_NONBLOCK: opening a FIFO someone left in the tree must not block a worker. */
#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/* The fallback: one openat per segment, never following a symlink.
 * path has no "." or ".." segments (checked before); empty segments are
 * skipped; a trailing '/' asks for a directory, as it does for openat2. */
static int open_walk(int dirfd, const char *path)
{
    char buf[STATIC_PATH_MAX + 1];
    size_t len = strlen(path);
    if (len > STATIC_PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    bool want_dir = len > 0 && buf[len - 1] == '/';

    int cur = dirfd; /* not ours while it is dirfd */
    char *seg = buf;
    for (;;) {
        while (*seg == '/')
            seg++;
        char *slash = strchr(seg, '/');
        if (slash != NULL)
            *slash = '\0';
        char *next_seg = slash != NULL ? slash + 1 : NULL;
        while (next_seg != NULL && *next_seg == '/')
            next_seg++;
        bool last = next_seg == NULL || *next_seg == '\0';

        int fd;
        if (*seg == '\0') /* the whole path was empty or slashes */
            fd = openat(cur, ".", OPEN_FLAGS | O_DIRECTORY);
        else if (!last)
            fd = openat(cur, seg, O_RDONLY | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW);
        else
            fd = openat(cur, seg, OPEN_FLAGS | O_NOFOLLOW | (want_dir ? O_DIRECTORY : 0));

        if (cur != dirfd) {
            int saved = errno;
            close(cur);
            errno = saved;
        }
        if (fd < 0 || last || *seg == '\0')
            return fd;
        cur = fd;
        seg = next_seg;
    }
}

/* Opens path beneath dirfd (both the root's and a subdirectory's). Returns an
 * fd, or -1 with errno set. */
static int open_beneath(const struct static_root *root, int dirfd, const char *path)
{
    if (!root->have_openat2)
        return open_walk(dirfd, path);

    struct open_how how = {
        .flags = OPEN_FLAGS,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long fd = -1;
    for (int i = 0; i < OPENAT2_RETRIES; i++) {
        fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN)
            break;
    }
    return (int)fd;
}

/* errno as a negative code, never 0: a caller treats 0 as success. */
static int neg_errno(void)
{
    return errno > 0 ? -errno : -EIO;
}

/* Opens what path names: a regular file, or a directory's index.html.
 * Returns 0, or a negative errno: -ENOENT also for anything that exists but is
 * not servable (device, socket, FIFO, directory without an index). */
static int open_file(const struct static_root *root, const char *path, struct static_file *f)
{
    const char *slash = strrchr(path, '/');
    f->name = slash != NULL ? slash + 1 : path;
    f->is_index = false;

    int fd = open_beneath(root, root->fd, *path != '\0' ? path : ".");
    if (fd < 0)
        return neg_errno();
    if (fstat(fd, &f->st) < 0)
        goto fail;

    if (S_ISDIR(f->st.st_mode)) {
        int index = open_beneath(root, fd, INDEX_NAME);
        int saved = errno;
        close(fd);
        errno = saved;
        fd = index;
        if (fd < 0)
            return neg_errno();
        if (fstat(fd, &f->st) < 0)
            goto fail;
        f->is_index = true;
        f->name = INDEX_NAME;
    }
    if (!S_ISREG(f->st.st_mode)) {
        close(fd);
        return -ENOENT;
    }
    f->fd = fd;
    return 0;

fail:;
    int err = neg_errno();
    close(fd);
    return err;
}

/* Whether an open error means "nothing to serve here" rather than trouble. */
static bool is_missing(int err)
{
    switch (-err) {
    case ENOENT:
    case ENOTDIR: /* a file used as a directory */
    case ELOOP:   /* a symlink where the fallback follows none */
    case EXDEV:   /* openat2: the path would leave the root */
    case EACCES:
    case EPERM:
    case ENAMETOOLONG:
    case ENXIO: /* a socket */
    case ENODEV:
        return true;
    default:
        return false;
    }
}

/* Lexical rules, before anything touches the file system: no "." or ".."
 * segments, no hidden files (except .well-known), no backslash (a Windows
 * separator some proxies normalise), no control characters. A NUL cannot get
 * here: libmicrohttpd decodes %00 into the C string, which ends there. */
static bool path_is_safe(const char *path)
{
    const char *seg = path;
    for (const char *p = path;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '/' || c == '\0') {
            size_t n = (size_t)(p - seg);
            if (n > 0 && seg[0] == '.' &&
                !(n == sizeof WELL_KNOWN - 1 && memcmp(seg, WELL_KNOWN, n) == 0))
                return false;
            if (c == '\0')
                return true;
            seg = p + 1;
        } else if (c == '\\' || c < 0x20 || c == 0x7f) {
            return false;
        }
    }
}

/* ---- responses ---- */

static enum MHD_Result queue_json(struct MHD_Connection *conn, unsigned status, const char *body)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    enum MHD_Result ret = MHD_NO;
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_X_CONTENT_TYPE_OPTIONS, "nosniff")) {
        metrics_http_status(status);
        ret = MHD_queue_response(conn, status, resp);
    }
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result queue_open_error(struct MHD_Connection *conn, int err)
{
    if (is_missing(err))
        return queue_json(conn, MHD_HTTP_NOT_FOUND, BODY_NOT_FOUND);
    if (err == -EMFILE || err == -ENFILE || err == -ENOMEM)
        return queue_json(conn, MHD_HTTP_SERVICE_UNAVAILABLE, BODY_UNAVAILABLE);
    return queue_json(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, BODY_INTERNAL);
}

/* Weak comparison (RFC 9110 8.8.3.2) of etag against an If-None-Match list:
 * `*`, or entity-tags with or without W/. Anything malformed ends the list.
 * Each step consumes input, so the header's length (bounded by libmicrohttpd's
 * per-connection memory) bounds the loop. */
bool static_etag_matches(const char *list, const char *etag)
{
    const char *opaque = etag + 1; /* our own tag: '"' … '"' */
    size_t opaque_len = strlen(etag) - 2;

    for (const char *p = list;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            return false;
        if (*p == '*')
            return true;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        if (*p != '"')
            return false;
        const char *end = strchr(p + 1, '"');
        if (end == NULL)
            return false;
        if ((size_t)(end - p - 1) == opaque_len && memcmp(p + 1, opaque, opaque_len) == 0)
            return true;
        p = end + 1;
    }
}

/* Parses an HTTP date in any of the three forms RFC 9110 5.6.7 makes a
 * recipient accept. Returns 0, or -1. */
static int parse_http_date(const char *s, time_t *out)
{
    static const char *const formats[] = {
        HTTP_DATE_FMT,               /* IMF-fixdate */
        "%A, %d-%b-%y %H:%M:%S GMT", /* obsolete RFC 850 */
        "%a %b %e %H:%M:%S %Y",      /* obsolete asctime() */
    };
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        struct tm tm = {0};
        const char *end = strptime(s, formats[i], &tm);
        if (end != NULL && *end == '\0') {
            *out = timegm(&tm);
            return 0;
        }
    }
    return -1;
}

/* Whether the client's cached copy is current (RFC 9110 13.2.2): If-None-Match
 * decides when present; only without it does If-Modified-Since count. */
static bool not_modified(struct MHD_Connection *conn, const char *etag, time_t mtime)
{
    const char *inm =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm != NULL)
        return static_etag_matches(inm, etag);

    const char *ims =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
    time_t since;
    if (ims == NULL || parse_http_date(ims, &since) < 0)
        return false;
    /* A date in the future is invalid and ignored: the file may change before it. */
    return since <= time(NULL) && mtime <= since;
}

/* The web app runs only its own scripts, styles and connections (an
 * injected script or inline handler does not run), and no other site may
 * frame it (clickjacking): CSP, and X-Frame-Options for older browsers.
 * 'self' covers ws: and wss: of the same host (CSP Level 3). */
#define CONTENT_SECURITY_POLICY                                                                    \
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "               \
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "              \
    "frame-ancestors 'none'"

static bool add_frame_denial(struct MHD_Response *resp)
{
    return MHD_add_response_header(resp, "Content-Security-Policy", CONTENT_SECURITY_POLICY) &&
           MHD_add_response_header(resp, "X-Frame-Options", "DENY");
}

static enum MHD_Result queue_file(struct MHD_Connection *conn, struct static_file *f,
                                  const char *cache_control)
{
    char etag[ETAG_MAX], last_modified[HTTP_DATE_MAX];
    uint64_t mtime_ns =
        (uint64_t)f->st.st_mtim.tv_sec * 1000000000u + (uint64_t)f->st.st_mtim.tv_nsec;
    snprintf(etag, sizeof etag, "\"%" PRIx64 "-%" PRIx64 "\"", (uint64_t)f->st.st_size, mtime_ns);
    struct tm tm;
    if (gmtime_r(&f->st.st_mtim.tv_sec, &tm) == NULL ||
        strftime(last_modified, sizeof last_modified, HTTP_DATE_FMT, &tm) == 0)
        last_modified[0] = '\0';

    /* Takes the fd (closed when the response is destroyed) and sends exactly
     * st_size bytes, however the file changes meanwhile. A 304 is made the same
     * way: libmicrohttpd sends no body with it but does send Content-Length,
     * which then must be what a 200 would have said (RFC 9110 8.6). */
    struct MHD_Response *resp = MHD_create_response_from_fd64((uint64_t)f->st.st_size, f->fd);
    if (resp == NULL) {
        close(f->fd);
        return MHD_NO;
    }
    unsigned status = MHD_HTTP_OK;
    bool ok = true;
    if (not_modified(conn, etag, f->st.st_mtim.tv_sec))
        status = MHD_HTTP_NOT_MODIFIED; /* validators and caching fields only */
    else
        ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type(f->name)) &&
             (last_modified[0] == '\0' ||
              MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, last_modified));
    f->fd = -1;

    ok = ok && MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag) &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache_control) &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_X_CONTENT_TYPE_OPTIONS, "nosniff") &&
         add_frame_denial(resp);
    if (ok)
        metrics_http_status(status);
    enum MHD_Result ret = ok ? MHD_queue_response(conn, status, resp) : MHD_NO;
    MHD_destroy_response(resp);
    return ret;
}

static const char *cache_policy(const char *path, const struct static_file *f)
{
    /* index.html names the current hashed assets: it must never go stale. */
    if (f->is_index || strcmp(f->name, INDEX_NAME) == 0)
        return CACHE_NONE;
    if (strncmp(path, ASSETS_PREFIX, sizeof ASSETS_PREFIX - 1) == 0)
        return CACHE_IMMUTABLE;
    return CACHE_DEFAULT;
}

enum MHD_Result static_serve(struct static_root *root, struct MHD_Connection *conn, const char *url,
                             bool head_only)
{
    (void)head_only; /* libmicrohttpd drops the body of a HEAD answer itself */

    if (url == NULL || strnlen(url, STATIC_PATH_MAX + 1) > STATIC_PATH_MAX)
        return queue_json(conn, MHD_HTTP_NOT_FOUND, BODY_NOT_FOUND);
    const char *path = url;
    while (*path == '/')
        path++;
    if (!path_is_safe(path))
        return queue_json(conn, MHD_HTTP_NOT_FOUND, BODY_NOT_FOUND);

    struct static_file f = {.fd = -1};
    int err = open_file(root, path, &f);
    if (err == 0)
        return queue_file(conn, &f, cache_policy(path, &f));
    if (!is_missing(err))
        return queue_open_error(conn, err);

    /* Client-side routes have no extension; missing assets do (and must 404,
     * or a browser would run index.html as a script or a stylesheet). */
    const char *last = strrchr(path, '/');
    last = last != NULL ? last + 1 : path;
    if (strchr(last, '.') != NULL)
        return queue_json(conn, MHD_HTTP_NOT_FOUND, BODY_NOT_FOUND);

    err = open_file(root, INDEX_NAME, &f);
    if (err != 0)
        return queue_open_error(conn, err);
    f.is_index = true;
    return queue_file(conn, &f, CACHE_NONE);
}
