// Unit tests: a ProgressClient whose token or scope the bridge refuses stops and says why
// (GET /api/v1/session after a failed open; polling reads the refusal itself), and an expired
// token is replaced through getToken().
//   node --test tests/web/
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ALICE, fakeFetch, flush, job, listing, makeToken, newClient } from './client-fakes.mjs';

const TOKEN_CODES = [
  'token_missing',
  'token_malformed',
  'token_unsupported_algorithm',
  'token_bad_signature',
  'token_expired',
  'token_not_yet_valid',
  'token_missing_claim',
  'token_invalid_subject',
];

function refusedSession(code, message = `refused: ${code}`) {
  return () => ({ status: 401, body: { error: { code, message } } });
}

function statuses(events) {
  return events.filter((e) => e.type === 'status').map((e) => e.state);
}

for (const code of TOKEN_CODES) {
  test(`websocket refused with ${code}: the client stops as unauthorized and reports the code`, async () => {
    const fetch = fakeFetch({ session: refusedSession(code) });
    const { client, clock, ws, events } = newClient({ fetch });
    client.connect();
    await flush();
    ws.sockets[0].drop(); // what a browser shows of an HTTP 401: error, then close 1006
    await flush();

    assert.equal(client.state, 'unauthorized');
    const error = events.find((e) => e.type === 'error');
    assert.deepEqual(error, { type: 'error', code, message: `refused: ${code}`, status: 401 });
    const last = events.at(-1);
    assert.equal(last.type, 'status');
    assert.equal(last.final, true);
    assert.deepEqual(last.error, { code, message: `refused: ${code}` });
    assert.equal(fetch.sessions()[0].init.headers.Authorization, `Bearer ${ALICE}`);
    // No retry, no fallback: nothing is scheduled and no other transport is tried.
    assert.deepEqual(clock.pending(), []);
    assert.equal(ws.sockets.length, 1);
    assert.ok(!statuses(events).includes('fallback'));
    client.close();
  });
}

test('SSE refused: the same session check stops the client', async () => {
  const fetch = fakeFetch({ session: refusedSession('token_bad_signature') });
  const { client, clock, es } = newClient({ fetch, transports: ['sse', 'poll'] });
  client.connect();
  await flush();
  es.sources[0].fail();
  await flush();
  assert.equal(client.state, 'unauthorized');
  assert.equal(es.sources[0].closed, true);
  assert.deepEqual(clock.pending(), []);
  client.close();
});

test('a stream that hangs until the connect timeout is checked too', async () => {
  const fetch = fakeFetch({ session: refusedSession('token_not_yet_valid') });
  const { client, clock, ws } = newClient({ fetch, connectTimeoutMs: 3000 });
  client.connect();
  await flush();
  assert.equal(await clock.next(), 3000);
  assert.equal(ws.sockets[0].closed, true);
  assert.equal(client.state, 'unauthorized');
  client.close();
});

test('an expired token is replaced through getToken and the client reconnects', async () => {
  const expired = makeToken({ sub: 'alice', exp: 1 });
  const fresh = makeToken({ sub: 'alice', exp: 4102444800 });
  const handedOut = [expired, fresh];
  let calls = 0;
  const fetch = fakeFetch({
    session: (u, init) => (init.headers.Authorization === `Bearer ${expired}` ? refusedSession('token_expired')() : undefined),
  });
  const { client, clock, ws, events } = newClient({ fetch, token: undefined, getToken: async () => handedOut[calls++] });
  client.connect();
  await flush();
  assert.equal(ws.sockets[0].url.searchParams.get('access_token'), expired);
  ws.sockets[0].drop();
  await flush();
  assert.ok(events.some((e) => e.type === 'error' && e.code === 'token_expired' && e.status === 401));
  assert.equal(client.state, 'closed'); // waiting to retry, not refused

  await clock.next();
  assert.equal(calls, 2);
  const second = ws.sockets[1];
  assert.equal(second.url.searchParams.get('access_token'), fresh);
  second.open();
  second.receive({ type: 'snapshot', jobs: [job('a')], cursor: '1.1' });
  assert.equal(client.state, 'open');
  assert.deepEqual([...client.jobs.keys()], ['alice/a']);
  assert.ok(!statuses(events).includes('unauthorized'));
  client.close();
});

test('getToken handing out the same expired token again ends as unauthorized', async () => {
  const expired = makeToken({ sub: 'alice', exp: 1 });
  let calls = 0;
  const fetch = fakeFetch({ session: refusedSession('token_expired') });
  const { client, clock, ws, events } = newClient({
    fetch,
    token: undefined,
    getToken: () => {
      calls++;
      return expired;
    },
  });
  client.connect();
  await flush();
  ws.sockets[0].drop();
  await clock.next(); // the one retry with whatever getToken gives
  assert.equal(calls, 2);
  ws.sockets[1].drop();
  await flush();
  assert.equal(client.state, 'unauthorized');
  assert.equal(events.filter((e) => e.type === 'error' && e.code === 'token_expired').length, 2);
  assert.deepEqual(clock.pending(), []);
  client.close();
});

test('a fixed token that expires on an open stream ends as unauthorized after one reconnect', async () => {
  const fetch = fakeFetch({ session: refusedSession('token_expired') });
  const { client, clock, ws } = newClient({ fetch, transports: ['websocket'] });
  client.connect();
  await flush();
  ws.sockets[0].open();
  ws.sockets[0].receive({ type: 'snapshot', jobs: [job('a')], cursor: '1.1' });
  ws.sockets[0].drop(4001); // the bridge closes an expired stream
  assert.equal(fetch.sessions().length, 0); // an opened stream needs no check
  await clock.next();
  ws.sockets[1].drop(); // the same token is refused on reconnect
  await flush();
  assert.equal(client.state, 'unauthorized');
  // The last view stays: the jobs were the user's own.
  assert.deepEqual([...client.jobs.keys()], ['alice/a']);
  client.close();
});

test('connect() after a refusal tries again, with the token getToken gives then', async () => {
  let token = makeToken({ sub: 'alice', iss: 'elsewhere' });
  const good = makeToken({ sub: 'alice' });
  const fetch = fakeFetch({
    session: (u, init) => (init.headers.Authorization === `Bearer ${good}` ? undefined : refusedSession('token_bad_signature')()),
  });
  const { client, ws } = newClient({ fetch, token: undefined, getToken: () => token });
  client.connect();
  await flush();
  ws.sockets[0].drop();
  await flush();
  assert.equal(client.state, 'unauthorized');
  client.connect(); // nothing changed yet: refused again
  await flush();
  ws.sockets[1].drop();
  await flush();
  assert.equal(client.state, 'unauthorized');
  token = good;
  client.connect();
  await flush();
  assert.equal(ws.sockets[2].url.searchParams.get('access_token'), good);
  ws.sockets[2].open();
  assert.equal(client.state, 'open');
  client.close();
});

test('polling uses the code of its own 401 answer without asking the session', async () => {
  const fetch = fakeFetch({ jobs: () => ({ status: 401, body: { error: { code: 'token_bad_signature', message: 'bad signature' } } }) });
  const { client, clock, events } = newClient({ fetch, transports: ['poll'] });
  client.connect();
  await flush();
  assert.equal(client.state, 'unauthorized');
  assert.ok(events.some((e) => e.type === 'error' && e.code === 'token_bad_signature' && e.message === 'bad signature'));
  assert.equal(fetch.sessions().length, 0);
  assert.equal(fetch.listings().length, 1);
  assert.deepEqual(clock.pending(), []);
  client.close();
});

test('polling that meets an expired token mid-way refreshes it through getToken', async () => {
  const tokens = [makeToken({ sub: 'alice', n: 1 }), makeToken({ sub: 'alice', n: 2 })];
  let calls = 0;
  const fetch = fakeFetch({
    jobs: (u, init) =>
      init.headers.Authorization === `Bearer ${tokens[0]}` && fetch.listings().length > 1
        ? { status: 401, body: { error: { code: 'token_expired', message: 'expired' } } }
        : listing([job('a')]),
  });
  const { client, clock } = newClient({ fetch, transports: ['poll'], token: undefined, getToken: () => tokens[Math.min(calls++, 1)], pollIntervalMs: 1000 });
  client.connect();
  await flush();
  assert.equal(client.state, 'open');
  await clock.next(); // the next poll is refused as expired...
  await clock.next(); // ...and the reconnect polls with a new token
  assert.equal(fetch.listings().at(-1).init.headers.Authorization, `Bearer ${tokens[1]}`);
  assert.equal(client.state, 'open');
  client.close();
});

test("polling another user's jobs is forbidden (403) and final", async () => {
  const fetch = fakeFetch({ jobs: () => ({ status: 403, body: { error: { code: 'forbidden', message: 'not your jobs' } } }) });
  const { client, clock, events } = newClient({ fetch, transports: ['poll'], userId: 'bob' });
  client.connect();
  await flush();
  assert.equal(client.state, 'forbidden');
  assert.ok(events.some((e) => e.type === 'error' && e.code === 'forbidden' && e.status === 403));
  assert.deepEqual(clock.pending(), []);
  client.close();
});

test("an SSE stream of another user's jobs is forbidden: the session names a different user", async () => {
  const { client, clock, es, events } = newClient({ transports: ['sse'], userId: 'bob' });
  client.connect();
  await flush();
  assert.equal(es.sources[0].url.pathname, '/api/v1/users/bob/stream');
  es.sources[0].fail();
  await flush();
  assert.equal(client.state, 'forbidden');
  assert.ok(events.some((e) => e.type === 'error' && e.code === 'forbidden'));
  assert.deepEqual(clock.pending(), []);
  client.close();
});

test('an admin token following another user is not taken for forbidden', async () => {
  const admin = makeToken({ sub: 'ops', role: 'admin' });
  const fetch = fakeFetch({ session: () => ({ status: 200, body: { userId: 'ops', admin: true, expiresAt: 1 } }) });
  const { client, clock, es } = newClient({ fetch, token: admin, transports: ['sse'], userId: 'bob' });
  client.connect();
  await flush();
  es.sources[0].fail();
  assert.equal(await clock.next(), 100); // an ordinary retry
  assert.equal(es.sources.length, 2);
  client.close();
});

test('a websocket subscribe to another user answered forbidden ends the stream', async () => {
  const { client, ws, events } = newClient();
  client.subscribe({ userId: 'bob' });
  client.connect();
  await flush();
  const sock = ws.sockets[0];
  sock.open();
  assert.deepEqual(sock.sent, [{ op: 'subscribe', userId: 'bob' }]);
  sock.receive({ type: 'error', code: 'forbidden', message: 'only admins may follow other users' });
  assert.equal(client.state, 'forbidden');
  assert.equal(sock.closed, true);
  assert.equal(events.filter((e) => e.type === 'error').length, 1);
  client.close();
});

for (const [what, session] of [
  ['unreachable', () => undefined], // the fake fetch throws
  ['missing (404 from an older bridge)', () => ({ status: 404, body: { error: { code: 'not_found', message: 'no such resource' } } })],
  ['rate limited', () => ({ status: 429, body: { error: { code: 'rate_limited', message: 'slow down' } } })],
  ['fine with the token', undefined],
]) {
  test(`a session check that is ${what} leaves the usual retry`, async () => {
    const fetch = fakeFetch(session ? { session } : {});
    const { client, clock, ws, events } = newClient({ fetch, transports: ['websocket'] });
    client.connect();
    await flush();
    ws.sockets[0].drop();
    assert.equal(await clock.next(), 100);
    assert.equal(ws.sockets.length, 2);
    assert.equal(fetch.sessions().length, 1);
    assert.ok(!events.some((e) => e.type === 'error'));
    client.close();
  });
}

test('a session check that hangs is abandoned after connectTimeoutMs', async () => {
  let aborted = false;
  const fetch = (url, init) =>
    new Promise((resolve, reject) => {
      init.signal?.addEventListener('abort', () => {
        aborted = true;
        reject(new Error('aborted'));
      });
    });
  const { client, clock, ws } = newClient({ fetch, transports: ['websocket'], connectTimeoutMs: 3000 });
  client.connect();
  await flush();
  ws.sockets[0].drop();
  assert.equal(await clock.next(), 3000);
  assert.equal(aborted, true);
  assert.equal(await clock.next(), 100);
  assert.equal(ws.sockets.length, 2);
  client.close();
});
