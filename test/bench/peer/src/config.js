// The peer's settings, from the environment, with chatd's names and defaults
// where chatd has the same setting (docs/configuration.md).
import { availableParallelism } from 'node:os';

function integer(env, name, fallback, min, max) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new Error(`${name} must be an integer in ${min}..${max}, not '${raw}'`);
  }
  return Number(raw);
}

export function loadConfig(env = process.env) {
  return {
    port: integer(env, 'PORT', 3000, 1, 65535),
    bind: env.BIND || '0.0.0.0',
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    // One process per CPU: Node runs JavaScript on one thread per process.
    workers: integer(env, 'WORKERS', availableParallelism(), 1, 256),
    sessionTtlSeconds: integer(env, 'SESSION_TTL', 7 * 24 * 3600, 60, 365 * 24 * 3600),
    maxMessageBytes: integer(env, 'MAX_MESSAGE_BYTES', 4096, 1, 65536),
  };
}
