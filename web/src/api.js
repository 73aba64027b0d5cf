// The HTTP half of chatd's API (docs/contract.md, "HTTP API").
//
// Same origin, session in the HttpOnly cookie `chatd_sid`: every request goes
// out with credentials 'same-origin' and the browser does the rest.  Errors
// come back as ApiError carrying the server's own `message`, so the UI can show
// exactly what the server said.

const REQUEST_TIMEOUT_MS = 15000; // a request that takes longer has failed

/** An HTTP error answer (or a network failure: status 0). */
export class ApiError extends Error {
  constructor(status, message, { retryAfter = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.retryAfter = retryAfter; // seconds, from a 429's Retry-After
  }
}

function fallbackMessage(status) {
  if (status === 0) return 'Cannot reach the server. Check your connection.';
  if (status === 401 || status === 403) return 'You are not allowed to do that.';
  if (status === 429) return 'Too many attempts. Please wait a moment.';
  if (status >= 500) return 'The server is having trouble. Please try again shortly.';
  return `Request failed (${status}).`;
}

/**
 * Builds the API client over a fetch implementation (the browser's, or a fake
 * in tests).  Every method resolves to the parsed JSON body or rejects with an
 * ApiError.
 */
export function createApi(fetchImpl = (...args) => globalThis.fetch(...args)) {
  async function request(method, path, body) {
    const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (typeof AbortSignal !== 'undefined' && AbortSignal.timeout) {
      init.signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    }
    let res;
    try {
      res = await fetchImpl(path, init);
    } catch {
      throw new ApiError(0, fallbackMessage(0));
    }
    const text = await res.text().catch(() => '');
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null; // not JSON (a proxy's error page, say): use our own words
      }
    }
    if (!res.ok) {
      const message = data && typeof data.message === 'string' && data.message
        ? data.message
        : fallbackMessage(res.status);
      const retry = Number(res.headers?.get?.('Retry-After'));
      throw new ApiError(res.status, message, { retryAfter: Number.isFinite(retry) && retry > 0 ? retry : null });
    }
    return data;
  }

  // Room ids are "0" or "a:b"; ':' is legal in a path and stays readable.
  const enc = (v) => encodeURIComponent(String(v)).replace(/%3A/gi, ':');
  return {
    /** The signed-in user {id, username}, or null. */
    me: () => request('GET', '/me'),
    /** Signs in to an existing account, never creating one (a mistyped
     *  name is a wrong password): {id, username}. */
    login: (username, password) => request('POST', '/login', { username, password, register: false }),
    /** Creates an account and signs in: {id, username}; 409 when taken. */
    register: (username, password) => request('POST', '/register', { username, password }),
    logout: () => request('POST', '/logout'),
    /** [{id, names}] — General first, then private rooms. */
    rooms: (userId) => request('GET', `/rooms/${enc(userId)}`),
    /** Newest first: `size` messages starting `offset` from the newest. */
    messages: (roomId, offset, size) =>
      request('GET', `/room/${enc(roomId)}/messages?offset=${offset}&size=${size}`),
    /** {id: {id, username, online}} for the given ids. */
    users: (ids) =>
      request('GET', `/users?${ids.map((id) => `ids[]=${enc(id)}`).join('&')}`),
    /** [{id, username, online}]: registered users whose name starts with q
     *  (any case or width), at most limit (1–20). */
    searchUsers: (q, limit = 10) => request('GET', `/users/search?q=${enc(q)}&limit=${limit}`),
    /** {id: {id, username, online: true}} for everybody online. */
    online: () => request('GET', '/users/online'),
    /** Opens (or creates) the private room of two users: {id, names}. */
    createRoom: (user1, user2) => request('POST', '/room', { user1, user2 }),
    /** Creates a group: {id, name, names, public, creator, members}. */
    createGroup: (name, members, isPublic) => request('POST', '/rooms', { name, members, public: isPublic }),
    /** [{id, name, public, memberCount}]: the public groups. */
    publicRooms: () => request('GET', '/rooms/public'),
    /** Joins a public group: the group. */
    joinRoom: (roomId) => request('POST', `/room/${enc(roomId)}/join`),
    /** [{id, username, online}]: a group's members. */
    members: (roomId) => request('GET', `/room/${enc(roomId)}/members`),
    /** Adds a member to a group: the group. */
    addMember: (roomId, userId) => request('POST', `/room/${enc(roomId)}/members`, { userId: String(userId) }),
    /** Removes a member (or oneself) from a group. */
    removeMember: (roomId, userId) => request('DELETE', `/room/${enc(roomId)}/members/${enc(userId)}`),
  };
}

export const api = createApi();
