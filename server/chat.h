/* chat: chatd's application on Socket.IO: who may connect (the session
 * cookie of the handshake), and the chat events of SPEC.md. */
#ifndef CHATD_CHAT_H
#define CHATD_CHAT_H

#include "sio_server.h"

struct config;

/* The application's callbacks, for sio_server_new.  cfg outlives them. */
struct sio_app chat_app(const struct config *cfg);

#endif
