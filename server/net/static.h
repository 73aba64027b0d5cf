/* static — serving the web app's files from WEB_ROOT.
 *
 * Paths resolve beneath one directory fd opened at start-up, so neither "..",
 * symlinks nor a renamed WEB_ROOT can lead outside it. A path that names no
 * file and whose last segment has no '.' (a client-side route such as /chat/5)
 * gets WEB_ROOT/index.html: the single-page app decides what it shows.
 */
#ifndef CHAT_STATIC_H
#define CHAT_STATIC_H

#include <stdbool.h>
#include <microhttpd.h>

#define STATIC_PATH_MAX 1024 /* longer URL paths are answered 404 */

struct static_root;

/* Opens dir once for serving. Returns NULL (errno set) when it is not an
 * openable directory. Free with static_root_free. Thread-safe once opened. */
struct static_root *static_root_open(const char *dir);

/* Closes the directory. NULL-safe. */
void static_root_free(struct static_root *root);

/* Answers a GET or HEAD for url (libmicrohttpd's decoded path, without the
 * query; the caller checks the method) from root, queueing the response on
 * conn itself: the file (200), 304 when the client's copy is current, the
 * SPA fallback, or a JSON 404 (503 when out of file descriptors or memory).
 * For HEAD libmicrohttpd sends the same headers, Content-Length included, and
 * no body: head_only documents the caller's intent and changes nothing else.
 * Returns what MHD_queue_response returned, MHD_NO when no response could be
 * made (libmicrohttpd then closes the connection). */
enum MHD_Result static_serve(struct static_root *root, struct MHD_Connection *conn, const char *url,
                             bool head_only);

/* Whether an If-None-Match list (`*`, or entity-tags with or without W/)
 * holds etag, a quoted tag of ours, by weak comparison (RFC 9110 8.8.3.2). */
bool static_etag_matches(const char *list, const char *etag);

#endif
