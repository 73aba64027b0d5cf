/* store: the Redis data model.  Every key name, every Lua script and every
 * stored format lives here and only here; the rest of chatd asks this module.
 * Pure: no I/O, no threads.  Commands are built as argv arrays for the caller
 * to send; replies' payloads are parsed here.
 *
 * This header includes the store's parts, one file each by what it is
 * about (docs/architecture.md, "Redis data"):
 *   store_keys     key names, ids and room ids, limits and lifetimes
 *   store_text     text rules: usernames, messages, group names, emoji
 *   store_message  stored formats: message, group, recovery record,
 *                  the channel's envelope, the control channel
 *   store_scripts  the Lua scripts (lib/redis-scripts/, embedded)
 *   store_calls    the typed builders, the only way to call a script
 *   store_seed     the demo data */
#ifndef CHATD_STORE_H
#define CHATD_STORE_H

#include "store_calls.h"
#include "store_keys.h"
#include "store_message.h"
#include "store_scripts.h"
#include "store_seed.h"
#include "store_text.h"

#endif
