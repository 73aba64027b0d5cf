// One server process: its Redis connections, the HTTP app and Socket.IO on
// one port.
import { createServer } from 'node:http';
import { Redis } from 'ioredis';

import { createApp } from './http.js';
import { attachRealtime } from './realtime.js';

function connectRedis(url, options) {
  const client = new Redis(url, options);
  let reported = false; // ioredis retries by itself; say once that it does
  client.on('error', (err) => {
    if (!reported) console.error('peer: redis: %s (retrying)', err.message);
    reported = true;
  });
  client.on('ready', () => {
    reported = false;
  });
  return client;
}

/** Starts serving; resolves once listening. transports: Engine.IO's. */
export async function startServer(config, { transports }) {
  // Commands issued in one turn of the event loop go out in one write.
  const redis = connectRedis(config.redisUrl, { enableAutoPipelining: true });
  const pub = connectRedis(config.redisUrl);
  const sub = connectRedis(config.redisUrl);

  const httpServer = createServer(createApp({ redis, config }));
  attachRealtime(httpServer, { redis, pub, sub, config, transports });
  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.bind, resolve);
  });
  return httpServer;
}
