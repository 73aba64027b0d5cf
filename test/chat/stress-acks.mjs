// A stress run, not part of the suite: hunts for WebSocket output that
// stalls in chatd (a lost wake-up) under a flood of acks and broadcasts.
// Each round starts redis + chatd, pauses one raw "slow consumer", and has a
// socket.io-client flooder send 3072 messages of 16 KiB into 1:2 with 8 acks
// in flight, never more than 32 messages ahead of its readers. An ack that
// takes longer than ACK_MS while the readers already got the message is a
// stall; the round then waits to see when (if ever) the data comes out.
//
//   CHATD_BIN=build/chatd WORKERS=4 node test/chat/stress-acks.mjs [rounds]
//   LOG_LEVEL=debug (a slower chatd) makes a stall likelier; NO_SLOW=1 leaves
//   the slow consumer out.

import {
  CLIENTS, startStack, cleanup, login, connect, rawSocket, until, withTimeout,
} from './helpers.mjs';

const ROUNDS = Number(process.argv[2] || 20);
const COUNT = 3072;
const BYTES = 16 * 1024;
const IN_FLIGHT = 8;
const WINDOW = 32;                 // 512 KiB: half of chatd's 1 MiB outbox
const ACK_MS = 3000;

async function round(r) {
  const st = await startStack({
    env: { MESSAGES_PER_MINUTE: '100000', MAX_MESSAGE_BYTES: String(BYTES), PING_INTERVAL: '25000', PING_TIMEOUT: '20000', LOG_LEVEL: process.env.LOG_LEVEL || 'warn' },
  });
  try {
    const base = st.chatd.base;
    const pablo = await login(base, 'Pablo');
    const joe = await login(base, 'Joe');
    const keep = (name) => name !== 'message';
    const slow = process.env.NO_SLOW ? null : await rawSocket(base, pablo);
    const readers = [
      await connect(CLIENTS[0], base, pablo, { transports: ['websocket'], keep }),
      await connect(CLIENTS[1], base, joe, { transports: ['websocket'], keep }),
    ];
    const flooder = await connect(CLIENTS[0], base, joe, { transports: ['websocket'], keep });
    const all = [...readers, flooder];
    const counts = all.map(() => 0);
    all.forEach((s, k) => s.on('message', () => { counts[k]++; }));
    slow?.pause();
    const filler = 'f'.repeat(BYTES - 40);
    let next = 0;
    let stall = null;
    const t0 = Date.now();
    const pump = async () => {
      while (next < COUNT && !stall) {
        const i = next++;
        await until(() => i - Math.min(...counts) < WINDOW, { timeoutMs: 10000, intervalMs: 2, what: `readers near ${i}` });
        const sentAt = Date.now();
        const acked = new Promise((resolve) => flooder.emit('message', { roomId: '1:2', message: `${i} ${filler}` }, resolve));
        try {
          await withTimeout(acked, ACK_MS, `ack ${i}`);
        } catch {
          if (stall) return;
          stall = { i, at: sentAt - t0, counts: [...counts] };
          await withTimeout(acked, 60000, `ack ${i}, late`).catch(() => {});
          stall.lateMs = Date.now() - sentAt;
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, pump));
    if (stall) {
      console.log(`round ${r}: STALL: ack of message ${stall.i} (sent ${stall.at} ms into the flood) ` +
        `came after ${stall.lateMs} ms; when it was due the readers (Pablo, Joe, the flooder) had ${stall.counts} messages; ` +
        `flooder connected: ${flooder.connected}${flooder.connected ? '' : ` (${JSON.stringify(flooder.log)})`}`);
      return false;
    }
    console.log(`round ${r}: ok (${Date.now() - t0} ms)`);
    return true;
  } finally {
    await cleanup().catch(() => {});
  }
}

let stalls = 0;
for (let r = 1; r <= ROUNDS; r++) if (!(await round(r))) stalls++;
console.log(`${stalls} of ${ROUNDS} rounds stalled`);
process.exitCode = stalls ? 1 : 0;
