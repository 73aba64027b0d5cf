// The HTTP routes of the subset: login, the signed-in user, a room's history.
import express from 'express';

import { roomHistory } from './messages.js';
import { canonicalRoomId, isMember } from './rooms.js';
import { sessionUserId, startSession } from './sessions.js';
import { authenticate, findUser, invalidCredentials } from './users.js';

const HISTORY_SIZE_DEFAULT = 15;
const HISTORY_SIZE_MAX = 100;

function nonNegativeInteger(value, fallback) {
  if (value === undefined) return fallback;
  return typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : null;
}

export function createApp({ redis, config }) {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // answers are live data
  app.use(express.json({ limit: '16kb' }));

  app.get('/me', async (req, res) => {
    const userId = await sessionUserId(redis, req.headers.cookie);
    res.json(userId ? await findUser(redis, userId) : null);
  });

  app.post('/login', async (req, res) => {
    const problem = invalidCredentials(req.body);
    if (problem) return res.status(400).json({ message: problem });
    const user = await authenticate(redis, req.body.username, req.body.password);
    if (!user) return res.status(404).json({ message: 'Invalid username or password' });
    res.set('Set-Cookie', await startSession(redis, user.id, config.sessionTtlSeconds));
    res.json(user);
  });

  app.get('/room/:id/messages', async (req, res) => {
    const userId = await sessionUserId(redis, req.headers.cookie);
    if (!userId) return res.status(401).json({ message: 'Not signed in' });
    const roomId = canonicalRoomId(req.params.id);
    const offset = nonNegativeInteger(req.query.offset, 0);
    const size = nonNegativeInteger(req.query.size, HISTORY_SIZE_DEFAULT);
    if (!roomId || offset === null || !size) return res.status(400).json({ message: 'Bad request' });
    if (!(await isMember(redis, userId, roomId))) {
      return res.status(403).json({ message: 'You are not a member of this room' });
    }
    res.json(await roomHistory(redis, roomId, offset, Math.min(size, HISTORY_SIZE_MAX)));
  });

  app.use((req, res) => res.status(404).json({ message: 'Not found' }));
  // Express 5 routes a rejected promise here, e.g. Redis being away.
  app.use((err, req, res, next) => {
    if (res.headersSent) return next(err);
    if (err.expose) return res.status(err.status).json({ message: err.message });
    console.error('peer: %s %s: %s', req.method, req.path, err.message);
    res.status(503).json({ message: 'Service temporarily unavailable' });
  });
  return app;
}
