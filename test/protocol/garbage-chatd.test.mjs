// Garbage against chatd (see garbage-suite.mjs): from a logged-in user's
// connected socket, and from a stranger with no session.

import { garbageSuite } from './garbage-suite.mjs';
import { startChatStack } from './helpers.mjs';

garbageSuite({
  name: 'chatd',
  async start() {
    // Pings every 300 ms as elsewhere, but a pong may take 1.5 s: this file
    // is about isolation, and a loaded machine can stall this process (and
    // so the bystanders' pongs) longer than 200 ms. LOG_LEVEL=debug says why
    // a session closed.
    const s = await startChatStack({ env: { PING_TIMEOUT: '1500', LOG_LEVEL: 'debug' } });
    return {
      base: s.base, port: s.port, cookie: s.cookie, echo: false,
      alive: () => s.chatd.alive(), log: () => s.chatd.stderr,
    };
  },
  variants: [
    { label: 'authenticated', auth: true, connect: true },
    { label: 'anonymous', auth: false, connect: false },
  ],
});
