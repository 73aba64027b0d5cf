// Garbage against the conformance server (see garbage-suite.mjs): the same
// engine as chatd behind the echo application, so the bystanders can prove
// they still work end to end (message-back).

import { garbageSuite } from './garbage-suite.mjs';
import { startConformance } from './helpers.mjs';

garbageSuite({
  name: 'conformance server',
  async start() {
    const c = await startConformance({ env: { LOG_LEVEL: 'debug' } }); // why a session closed
    return {
      base: c.base, port: c.port, cookie: null, echo: true,
      alive: () => c.alive(), log: () => c.stderr,
    };
  },
  variants: [{ label: 'connected', auth: false, connect: true }],
});
