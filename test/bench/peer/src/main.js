// The peer's entry point: one process per CPU under node:cluster, or a single
// process with WORKERS=1. See ../README.md for why.
import cluster from 'node:cluster';

import { loadConfig } from './config.js';
import { startServer } from './server.js';

function runPrimary(config) {
  let exitCode = 0;
  let stopping = false;
  const stop = (code) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const worker of Object.values(cluster.workers)) worker.kill('SIGTERM');
  };

  let listening = 0;
  cluster.on('listening', () => {
    if (++listening === config.workers) {
      console.log(`peer: listening on ${config.bind}:${config.port}, ${config.workers} processes`);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      // A supervisor (systemd, the bench) restarts the whole service.
      console.error(`peer: process ${worker.process.pid} exited (${signal ?? code}); stopping`);
      stop(1);
    }
    if (Object.keys(cluster.workers).length === 0) process.exit(exitCode);
  });
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  for (let i = 0; i < config.workers; i++) cluster.fork();
}

async function runWorker(config) {
  const clustered = cluster.isWorker;
  // Without sticky sessions a polling client's requests would reach any
  // process, so a cluster speaks WebSocket only (see ../README.md).
  const transports = clustered ? ['websocket'] : ['polling', 'websocket'];
  if (clustered) process.on('disconnect', () => process.exit(0)); // the primary is gone
  await startServer(config, { transports });
  if (!clustered) console.log(`peer: listening on ${config.bind}:${config.port}, 1 process`);
}

let config;
try {
  config = loadConfig();
} catch (err) {
  console.error(`peer: ${err.message}`);
  process.exit(2);
}
if (cluster.isPrimary && config.workers > 1) {
  runPrimary(config);
} else {
  runWorker(config).catch((err) => {
    console.error(`peer: ${err.message}`);
    process.exit(1);
  });
}
