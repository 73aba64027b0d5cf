// Socket.IO: sockets authenticated by the session cookie of their handshake,
// in their user's rooms from the start; `room.join` and `message` as chatd
// answers them. Broadcasts reach the other processes through the Redis adapter.
import { createAdapter } from '@socket.io/redis-adapter';
import { Server } from 'socket.io';

import { newMessage, storeMessage, textProblem } from './messages.js';
import { canonicalRoomId, isMember, roomsOf } from './rooms.js';
import { sessionUserId } from './sessions.js';

const UNAVAILABLE = 'Service unavailable; try again';

// An event may come without an ack; answering it then is a no-op.
function replier(ack) {
  return typeof ack === 'function' ? ack : () => {};
}

async function authenticateSocket(redis, socket) {
  const userId = await sessionUserId(redis, socket.handshake.headers.cookie);
  if (!userId) return false;
  socket.data.userId = userId;
  socket.data.rooms = await roomsOf(redis, userId);
  return true;
}

export function attachRealtime(httpServer, { redis, pub, sub, config, transports }) {
  const io = new Server(httpServer, {
    serveClient: false,
    transports,
    adapter: createAdapter(pub, sub),
  });

  io.use((socket, next) => {
    authenticateSocket(redis, socket).then(
      (ok) => next(ok ? undefined : new Error('unauthorized')),
      () => next(new Error('Service unavailable')),
    );
  });

  io.on('connection', (socket) => {
    const { userId } = socket.data;
    // Joined before any event of the client can arrive: nothing is missed.
    socket.join(socket.data.rooms);
    delete socket.data.rooms;

    socket.on('room.join', async (payload, ack) => {
      const reply = replier(ack);
      const roomId = canonicalRoomId(payload?.roomId ?? payload);
      if (!roomId) return reply({ ok: false, error: 'Invalid room id' });
      try {
        if (!(await isMember(redis, userId, roomId))) {
          return reply({ ok: false, error: 'You are not a member of this room' });
        }
        socket.join(roomId);
        reply({ ok: true });
      } catch {
        reply({ ok: false, error: UNAVAILABLE });
      }
    });

    socket.on('message', async (payload, ack) => {
      const reply = replier(ack);
      const roomId = canonicalRoomId(payload?.roomId);
      if (!roomId || typeof payload.message !== 'string') {
        return reply({ ok: false, error: 'Expected {roomId, message}' });
      }
      const problem = textProblem(payload.message, config.maxMessageBytes);
      if (problem) return reply({ ok: false, error: problem });
      try {
        // A socket is in a room only as a member; others are asked of Redis.
        if (!socket.rooms.has(roomId) && !(await isMember(redis, userId, roomId))) {
          return reply({ ok: false, error: 'You are not a member of this room' });
        }
        const { message, score } = newMessage(userId, roomId, payload.message);
        await storeMessage(redis, message, score);
        io.to(roomId).emit('message', message);
        reply({ ok: true, message });
      } catch {
        reply({ ok: false, error: UNAVAILABLE });
      }
    });
  });
  return io;
}
