// Garbage against the conformance server (see garbage-suite.mjs): the same
// engine as chatd behind the echo application, so the bystanders can prove
// they still work end to end (message-back).

import { garbageSuite } from './garbage-suite.mjs';
import { startConformance } from './helpers.mjs';

garbageSuite({
  name: 'conformance server',
  async start() {
    // As in garbage-chatd.test.mjs: pings every 300 ms, but a pong may take
    // 1.5 s, since the storm can stall this process (and so the bystanders'
    // pongs) beyond 200 ms on a loaded machine. LOG_LEVEL=debug says why a
    // session closed.
    const c = await startConformance({ env: { PING_TIMEOUT: '1500', LOG_LEVEL: 'debug' } });
    return {
      base: c.base, port: c.port, cookie: null, echo: true,
      alive: () => c.alive(), log: () => c.stderr,
    };
  },
  variants: [{ label: 'connected', auth: false, connect: true }],
});
