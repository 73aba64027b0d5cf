import { describe, expect, it } from 'vitest';
import { ApiError, createApi } from './api.js';

function fakeFetch(status, body, headers = {}) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    return {
      ok: status >= 200 && status < 300,
      status,
      headers: new Headers(headers),
      text: async () => (typeof body === 'string' ? body : JSON.stringify(body)),
    };
  };
  return { fetch, calls };
}

describe('api', () => {
  it('sends JSON with the session cookie', async () => {
    const f = fakeFetch(201, { id: '5', username: 'Zoe' });
    const user = await createApi(f.fetch).login('Zoe', 'pw');
    expect(user).toEqual({ id: '5', username: 'Zoe' });
    expect(f.calls[0].url).toBe('/login');
    expect(f.calls[0].init).toMatchObject({ method: 'POST', credentials: 'same-origin', body: '{"username":"Zoe","password":"pw","register":false}' });
    expect(f.calls[0].init.headers['Content-Type']).toBe('application/json');
  });

  it('signs in without ever registering, and registers only at /register', async () => {
    const f = fakeFetch(201, { id: '6', username: 'Ann' });
    const api = createApi(f.fetch);
    await api.login('Ann', 'secret-pw');
    expect(JSON.parse(f.calls[0].init.body)).toEqual({ username: 'Ann', password: 'secret-pw', register: false });
    expect(await api.register('Ann', 'secret-pw')).toEqual({ id: '6', username: 'Ann' });
    expect(f.calls[1].url).toBe('/register');
    expect(f.calls[1].init).toMatchObject({ method: 'POST', body: '{"username":"Ann","password":"secret-pw"}' });
  });

  it('passes the server\'s error message on', async () => {
    const f = fakeFetch(404, { message: 'Invalid username or password' });
    const err = await createApi(f.fetch).login('Pablo', 'nope').catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404, message: 'Invalid username or password' });
  });

  it('reads Retry-After, and has words for errors without a body', async () => {
    const err = await createApi(fakeFetch(429, '', { 'Retry-After': '30' }).fetch).me().catch((e) => e);
    expect(err).toMatchObject({ status: 429, retryAfter: 30 });
    expect(err.message).toMatch(/Too many/);
    const down = await createApi(async () => { throw new TypeError('Failed to fetch'); }).me().catch((e) => e);
    expect(down).toMatchObject({ status: 0 });
  });

  it('builds the query strings of the spec', async () => {
    const f = fakeFetch(200, {});
    const api = createApi(f.fetch);
    await api.users(['1', '2']);
    await api.messages('1:2', 30, 30);
    await api.rooms('7');
    await api.searchUsers('Zoë & co', 5);
    expect(f.calls.map((c) => c.url)).toEqual(['/users?ids[]=1&ids[]=2', '/room/1:2/messages?offset=30&size=30', '/rooms/7',
      '/users/search?q=Zo%C3%AB%20%26%20co&limit=5']);
  });

  it('reads null from GET /me', async () => {
    expect(await createApi(fakeFetch(200, 'null').fetch).me()).toBe(null);
  });
});
