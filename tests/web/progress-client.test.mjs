// Unit tests of web/progress-client.js with fake WebSocket, EventSource, fetch and timers.
//   node --test tests/web/
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { PollingTransport } from '../../web/polling-transport.js';
import { backoffDelay, decodeToken, jobKey } from '../../web/progress-client.js';
import { ALICE, FakeClock, fakeFetch, flush, job, listing, makeToken, newClient } from './client-fakes.mjs';

// --- tests ------------------------------------------------------------------------------

test('decodeToken reads sub and rejects malformed tokens', () => {
  assert.equal(decodeToken(ALICE).sub, 'alice');
  assert.equal(decodeToken('abc'), null);
  assert.equal(decodeToken('a.!!!.c'), null);
  assert.equal(decodeToken(`x.${Buffer.from('[1]').toString('base64url')}.y`), null);
  assert.equal(decodeToken(42), null);
});

test('websocket: snapshot replaces the view, then job and job_removed update it', async () => {
  const { client, ws, events } = newClient();
  client.connect();
  await flush();
  assert.equal(ws.sockets.length, 1);
  const sock = ws.sockets[0];
  assert.equal(sock.url.protocol, 'ws:');
  assert.equal(sock.url.pathname, '/api/v1/ws');
  assert.equal(sock.url.searchParams.get('access_token'), ALICE);
  assert.equal(sock.url.searchParams.has('cursor'), false);
  sock.open();
  assert.equal(client.state, 'open');

  sock.receive({ type: 'snapshot', jobs: [job('a'), job('b')], cursor: '1.2', recovered: false });
  assert.deepEqual([...client.jobs.keys()], ['alice/a', 'alice/b']);
  assert.equal(client.cursor, '1.2');

  sock.receive({ type: 'job', job: job('a', { progress: 50 }), cursor: '1.3' });
  assert.equal(client.jobs.get(jobKey('alice', 'a')).progress, 50);
  sock.receive({ type: 'job_removed', userId: 'alice', jobId: 'b', cursor: '1.4' });
  assert.equal(client.jobs.has('alice/b'), false);
  assert.equal(client.cursor, '1.4');

  // A second snapshot replaces everything.
  sock.receive({ type: 'snapshot', jobs: [job('c')], cursor: '1.9', recovered: false });
  assert.deepEqual([...client.jobs.keys()], ['alice/c']);

  const kinds = events.filter((e) => e.type !== 'status').map((e) => e.type);
  assert.deepEqual(kinds, ['snapshot', 'job', 'removed', 'snapshot']);
  const jobEvent = events.find((e) => e.type === 'job');
  assert.equal(jobEvent.previous.progress, 10);
  assert.equal(jobEvent.job.progress, 50);
  client.close();
  assert.equal(sock.closed, true);
});

test('malformed messages are ignored and leave view and cursor alone', async () => {
  const { client, ws, events } = newClient();
  client.connect();
  await flush();
  const sock = ws.sockets[0];
  sock.open();
  sock.receive({ type: 'snapshot', jobs: [job('a')], cursor: '1.1', recovered: false });
  const before = events.length;
  for (const bad of [
    'not json',
    '[1,2]',
    'null',
    '{"no":"type"}',
    { type: 'job' },
    { type: 'job', job: { jobId: 'x', status: 'in_progress' }, cursor: '1.2' }, // no userId
    { type: 'job', job: job('x', { status: 'exploded' }), cursor: '1.2' },
    { type: 'job', job: job('../x'), cursor: '1.2' },
    { type: 'job', job: job('x'), cursor: 7 },
    { type: 'job_removed', userId: 'alice', cursor: '1.2' },
    { type: 'snapshot', jobs: 'all', cursor: '1.2' },
    { type: 'error', message: 'no code' },
    { type: 'from_the_future', cursor: '1.2' },
  ]) {
    sock.receive(bad);
  }
  assert.equal(events.length, before);
  assert.deepEqual([...client.jobs.keys()], ['alice/a']);
  assert.equal(client.cursor, '1.1');

  // Invalid entries inside a snapshot are dropped one by one, the rest is kept.
  sock.receive({ type: 'snapshot', jobs: [job('ok'), 5, { jobId: 'y' }, job('z', { status: 1 })], cursor: '1.5' });
  assert.deepEqual([...client.jobs.keys()], ['alice/ok']);
  client.close();
});

test('jobs of another user never enter the view of a user stream', async () => {
  const { client, ws } = newClient();
  client.connect();
  await flush();
  const sock = ws.sockets[0];
  sock.open();
  sock.receive({ type: 'snapshot', jobs: [job('a'), job('b', { userId: 'bob' })], cursor: '1.1' });
  sock.receive({ type: 'job', job: job('c', { userId: 'bob' }), cursor: '1.2' });
  assert.deepEqual([...client.jobs.keys()], ['alice/a']);
  client.close();
});

test('a reconnect resumes with the last cursor and a freshly fetched token', async () => {
  let calls = 0;
  const tokens = [makeToken({ sub: 'alice', n: 1 }), makeToken({ sub: 'alice', n: 2 })];
  const { client, clock, ws, events } = newClient({
    token: undefined,
    getToken: async () => tokens[Math.min(calls++, 1)],
  });
  client.connect();
  await flush();
  const first = ws.sockets[0];
  assert.equal(first.url.searchParams.get('access_token'), tokens[0]);
  first.open();
  first.receive({ type: 'snapshot', jobs: [job('a')], cursor: '7.10' });
  first.receive({ type: 'job', job: job('a', { progress: 20 }), cursor: '7.11' });

  first.drop(4001); // token expired
  const closed = events.filter((e) => e.type === 'status' && e.state === 'closed').at(-1);
  assert.equal(closed.code, 4001);
  assert.ok(events.some((e) => e.type === 'error' && e.code === 'token_expired'));
  assert.equal(await clock.next(), 100);
  assert.equal(calls, 2);
  const second = ws.sockets[1];
  assert.equal(second.url.searchParams.get('access_token'), tokens[1]);
  assert.equal(second.url.searchParams.get('cursor'), '7.11');

  // The bridge still covers the cursor: resume, then the missed change.
  second.open();
  second.receive({ type: 'resume', cursor: '7.11', recovered: true });
  second.receive({ type: 'job', job: job('a', { status: 'completed', progress: 100 }), cursor: '7.12' });
  assert.equal(client.jobs.get('alice/a').status, 'completed');
  assert.ok(events.some((e) => e.type === 'resume'));
  assert.equal(events.filter((e) => e.type === 'snapshot').length, 1);
  client.close();
});

test('reconnect delays grow exponentially up to the maximum and reset after a healthy stream', async () => {
  const { client, clock, ws } = newClient({ transports: ['websocket'] });
  client.connect();
  await flush();
  ws.sockets[0].open();
  ws.sockets[0].receive({ type: 'snapshot', jobs: [], cursor: '1.1' });
  const delays = [];
  for (let i = 0; i < 6; i++) {
    ws.sockets.at(-1).drop();
    delays.push(await clock.next());
  }
  assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);

  // A stream that delivers its first message is healthy again: back to the first delay.
  const sock = ws.sockets.at(-1);
  sock.open();
  sock.receive({ type: 'resume', cursor: '1.1', recovered: true });
  sock.drop(1001);
  assert.equal(await clock.next(), 100);
  client.close();
  assert.deepEqual(clock.pending(), []);
});

test('backoffDelay applies jitter within bounds', () => {
  const backoff = { initialMs: 1000, maxMs: 8000, factor: 2, jitter: 0.5 };
  assert.equal(backoffDelay(0, backoff, () => 0), 1000);
  assert.equal(backoffDelay(0, backoff, () => 1), 500);
  assert.equal(backoffDelay(2, backoff, () => 0.5), 3000);
  assert.equal(backoffDelay(10, backoff, () => 0), 8000);
  assert.equal(backoffDelay(Infinity, backoff, () => 0), 8000);
});

test('close code 4029 waits the maximum delay', async () => {
  const { client, clock, ws } = newClient({ transports: ['websocket'] });
  client.connect();
  await flush();
  ws.sockets[0].open();
  ws.sockets[0].receive({ type: 'snapshot', jobs: [], cursor: '1.1' });
  ws.sockets[0].drop(4029);
  assert.equal(await clock.next(), 1000);
  client.close();
});

test('websocket that never opens falls back to SSE, then to polling', async () => {
  let jobs = [job('a', { progress: 10 }), job('b')];
  const fetch = fakeFetch({ jobs: () => listing(jobs) });
  const polls = fetch.listings;
  const { client, clock, ws, es, events } = newClient({ fetch, pollIntervalMs: 5000 });
  client.connect();
  await flush();

  // Three failures to open the WebSocket...
  for (let i = 0; i < 3; i++) {
    ws.sockets.at(-1).drop();
    await clock.next();
  }
  assert.equal(ws.sockets.length, 3);
  let fallback = events.filter((e) => e.type === 'status' && e.state === 'fallback');
  assert.deepEqual(fallback.map((e) => [e.from, e.to]), [['websocket', 'sse']]);
  assert.equal(es.sources.length, 1);
  const src = es.sources[0];
  assert.equal(src.url.pathname, '/api/v1/users/alice/stream');
  assert.equal(src.url.searchParams.get('access_token'), ALICE);

  // ...then three for the EventSource.
  for (let i = 0; i < 3; i++) {
    es.sources.at(-1).fail();
    assert.equal(es.sources.at(-1).closed, true);
    await clock.next();
  }
  assert.equal(es.sources.length, 3);
  fallback = events.filter((e) => e.type === 'status' && e.state === 'fallback');
  assert.deepEqual(fallback.at(-1).to, 'poll');

  // Polling: the first list is a snapshot...
  assert.equal(polls().length, 1);
  assert.equal(polls()[0].url.pathname, '/api/v1/users/alice/jobs');
  assert.equal(polls()[0].init.headers.Authorization, `Bearer ${ALICE}`);
  // Each of the six failed opens asked the bridge about the token first.
  assert.equal(fetch.sessions().length, 6);
  assert.equal(fetch.sessions()[0].init.headers.Authorization, `Bearer ${ALICE}`);
  assert.deepEqual([...client.jobs.keys()], ['alice/a', 'alice/b']);
  assert.equal(events.filter((e) => e.type === 'snapshot').length, 1);

  // ...later lists are diffed into job and removed events.
  jobs = [job('a', { progress: 60, updatedAt: 2 }), job('c')];
  const mark = events.length;
  const pending = clock.pending();
  assert.ok(pending.includes(5000), `poll timer pending: ${pending}`);
  while ((await clock.next()) !== 5000);
  assert.equal(polls().length, 2);
  const diff = events.slice(mark).filter((e) => e.type !== 'status');
  assert.deepEqual(
    diff.map((e) => [e.type, e.job.jobId]),
    [
      ['job', 'a'],
      ['job', 'c'],
      ['removed', 'b'],
    ],
  );
  assert.equal(client.jobs.get('alice/a').progress, 60);
  client.close();
  assert.deepEqual(clock.pending(), []);
});

test('SSE delivers the same messages and resumes with the cursor', async () => {
  const { client, clock, es } = newClient({ transports: ['sse'] });
  client.connect();
  await flush();
  const src = es.sources[0];
  src.open();
  src.receive('snapshot', { type: 'snapshot', jobs: [job('a')], cursor: '3.1' });
  src.receive('job', { type: 'job', job: job('a', { progress: 90 }), cursor: '3.2' });
  src.receive('job', '{broken');
  assert.equal(client.jobs.get('alice/a').progress, 90);
  src.fail();
  await clock.next();
  assert.equal(es.sources[1].url.searchParams.get('cursor'), '3.2');
  client.close();
});

test('SSE token_expired error ends the stream and reconnects', async () => {
  const { client, clock, es, events } = newClient({ transports: ['sse'] });
  client.connect();
  await flush();
  es.sources[0].open();
  es.sources[0].receive('snapshot', { type: 'snapshot', jobs: [], cursor: '3.1' });
  es.sources[0].receive('error', { type: 'error', code: 'token_expired', message: 'expired' });
  assert.ok(events.some((e) => e.type === 'error' && e.code === 'token_expired'));
  assert.equal(es.sources[0].closed, true);
  await clock.next();
  assert.equal(es.sources.length, 2);
  client.close();
});

test('polling reports HTTP errors with the bridge error code and retries with backoff', async () => {
  let n = 0;
  const fetch = fakeFetch({
    jobs: () => (++n === 1 ? { status: 503, body: { error: { code: 'not_ready', message: 'loading' } } } : listing([job('a')])),
  });
  const { client, clock, events } = newClient({ transports: ['poll'], fetch });
  client.connect();
  await flush();
  assert.ok(events.some((e) => e.type === 'error' && e.code === 'not_ready'));
  assert.equal(await clock.next(), 100);
  assert.deepEqual([...client.jobs.keys()], ['alice/a']);
  assert.equal(fetch.sessions().length, 0); // polling reads the answer itself
  client.close();
});

test('subscribe sends the op over an open websocket; admins follow everyone', async () => {
  const admin = makeToken({ sub: 'ops', role: 'admin' });
  const { client, ws } = newClient({ token: admin });
  client.connect();
  await flush();
  const sock = ws.sockets[0];
  sock.open();
  sock.receive({ type: 'snapshot', jobs: [], cursor: '1.1' });
  client.subscribe({ types: ['data_import'], jobIds: ['j1', 'bad id', '..', '.x'] });
  assert.deepEqual(sock.sent.at(-1), { op: 'subscribe', types: ['data_import'], jobIds: ['j1', '.x'] });

  // Changing the user starts a new connection which subscribes on open.
  client.subscribe({ userId: '*' });
  await flush();
  const next = ws.sockets[1];
  assert.equal(sock.closed, true);
  next.open();
  assert.deepEqual(next.sent, [{ op: 'subscribe', userId: '*' }]);
  next.receive({ type: 'snapshot', jobs: [job('a'), job('b', { userId: 'bob' })], cursor: '1.5' });
  assert.deepEqual([...client.jobs.keys()], ['alice/a', 'bob/b']);
  assert.equal(client.ping('p1'), true);
  assert.deepEqual(next.sent.at(-1), { op: 'ping', id: 'p1' });
  next.receive({ type: 'pong', id: 'p1' });
  client.close();
});

test('a throwing listener does not stop the others', async () => {
  const { client, ws } = newClient();
  const seen = [];
  const original = console.error;
  console.error = () => {};
  try {
    client.on('snapshot', () => {
      throw new Error('boom');
    });
    client.on('snapshot', (e) => seen.push(e.jobs.size));
    client.connect();
    await flush();
    ws.sockets[0].open();
    ws.sockets[0].receive({ type: 'snapshot', jobs: [job('a')], cursor: '1.1' });
  } finally {
    console.error = original;
  }
  assert.deepEqual(seen, [1]);
  client.close();
});

test('a connection that hangs while opening times out and counts as a failure', async () => {
  const { client, clock, ws, events } = newClient({ connectTimeoutMs: 3000, fallbackAfter: 1 });
  client.connect();
  await flush();
  assert.equal(await clock.next(), 3000);
  assert.equal(ws.sockets[0].closed, true);
  assert.ok(events.some((e) => e.type === 'status' && e.state === 'fallback' && e.to === 'sse'));
  client.close();
});

test('while polling, the preferred transport is probed again and a failed probe returns at once', async () => {
  const fetch = fakeFetch({ jobs: () => listing([job('a')]) });
  const { client, clock, ws, events } = newClient({
    transports: ['websocket', 'poll'],
    fallbackAfter: 1,
    upgradeAfterMs: 60000,
    pollIntervalMs: 1000,
    fetch,
  });
  client.connect();
  await flush();
  ws.sockets[0].drop();
  await clock.next(); // fall back to poll
  assert.equal(client.transport, 'poll');
  assert.ok(clock.pending().includes(60000));
  // Run poll timers until the probe fires.
  while ((await clock.next()) !== 60000);
  assert.equal(client.transport, 'websocket');
  assert.equal(ws.sockets.length, 2);
  ws.sockets[1].drop();
  await clock.next();
  assert.equal(client.transport, 'poll');
  const fallbacks = events.filter((e) => e.type === 'status' && e.state === 'fallback');
  assert.deepEqual(fallbacks.at(-1), { type: 'status', state: 'fallback', transport: 'poll', from: 'websocket', to: 'poll' });
  client.close();
});

test('polling follows nextCursor and removes a job of a multi-page list only after two misses', async () => {
  let pages = [[job('a'), job('b')], [job('c')]];
  const urls = [];
  const fetch = fakeFetch({
    jobs: (u) => {
      urls.push(u);
      const index = u.searchParams.has('cursor') ? 1 : 0;
      return listing(pages[index], index === 0 && pages.length > 1 ? 'page2' : null);
    },
  });
  const { client, clock, events } = newClient({ transports: ['poll'], fetch, pollPageLimit: 2, pollIntervalMs: 1000 });
  client.connect();
  await flush();
  assert.deepEqual(urls.map((u) => [u.searchParams.get('limit'), u.searchParams.get('cursor')]), [
    ['2', null],
    ['2', 'page2'],
  ]);
  assert.deepEqual([...client.jobs.keys()].sort(), ['alice/a', 'alice/b', 'alice/c']);

  pages = [[job('a'), job('c')], []]; // b missing once
  await clock.next();
  assert.equal(client.jobs.has('alice/b'), true);
  await clock.next(); // missing twice in a row: removed
  assert.equal(client.jobs.has('alice/b'), false);
  assert.deepEqual(events.filter((e) => e.type === 'removed').map((e) => e.jobId), ['b']);
  client.close();
});

test('cancel posts to the cancel route with the token in the header and resolves to the request id', async () => {
  const fetch = fakeFetch({ jobs: () => ({ status: 202, body: { requestId: 'c-1' } }) });
  const { client } = newClient({ fetch });
  assert.deepEqual(await client.cancel('import-7'), { requestId: 'c-1' });
  const [request] = fetch.listings();
  assert.equal(request.url.pathname, '/api/v1/users/alice/jobs/import-7/cancel');
  assert.equal(request.url.search, '', 'no token in the query string');
  assert.equal(request.init.method, 'POST');
  assert.equal(request.init.headers.Authorization, `Bearer ${ALICE}`);
  // An admin names whose job it is.
  await client.cancel('other', 'bob');
  assert.equal(fetch.listings()[1].url.pathname, '/api/v1/users/bob/jobs/other/cancel');
});

test('cancel rejects with the bridge code and status, and refuses bad ids before asking', async () => {
  const answers = [
    { status: 409, body: { error: { code: 'job_finished', message: 'the job already ended (completed)' } } },
    { status: 403, body: { error: { code: 'forbidden', message: 'not allowed' } } },
    { status: 503, body: { error: { code: 'broker_unavailable', message: 'try again later' } } },
    { status: 502, body: null },
  ];
  const fetch = fakeFetch({ jobs: () => answers.shift() });
  const { client } = newClient({ fetch });
  for (const [code, status] of [['job_finished', 409], ['forbidden', 403], ['broker_unavailable', 503], ['http_502', 502]]) {
    await assert.rejects(client.cancel('j1'), (e) => e.code === code && e.status === status);
  }
  await assert.rejects(client.cancel('a/b'), TypeError);
  await assert.rejects(client.cancel('j1', '..'), TypeError);
  assert.equal(fetch.listings().length, 4);
});

test('cancel reports a network failure as network_error with status 0', async () => {
  const fetch = async () => {
    throw new Error('connection refused');
  };
  const { client } = newClient({ fetch });
  await assert.rejects(client.cancel('j1'), (e) => e.code === 'network_error' && e.status === 0);
});

test('a reconnect sends the job versions held and applies a state resume', async () => {
  const { client, clock, ws, events } = newClient({ transports: ['websocket'] });
  client.connect();
  await flush();
  const first = ws.sockets[0];
  assert.equal(first.url.searchParams.has('resume'), false, 'nothing held yet: an ordinary connect');
  first.open();
  first.receive({
    type: 'snapshot',
    cursor: '1.5',
    jobs: [
      job('running', { seq: 3, attempt: 1, timestamp: 1795000000000 }),
      job('stalled', { seq: 2, stalled: { reason: 'silent', since: 5 } }),
      job('doomed', { status: 'queued' }),
    ],
  });
  first.drop(1006); // the replica died
  await clock.next();
  const second = ws.sockets[1];
  assert.equal(second.url.searchParams.get('resume'), 'state');
  assert.equal(second.url.searchParams.get('cursor'), '1.5');
  second.open();
  assert.deepEqual(second.sent[0], {
    op: 'resume',
    jobs: [
      { userId: 'alice', jobId: 'running', status: 'in_progress', attempt: 1, seq: 3, timestamp: 1795000000000 },
      { userId: 'alice', jobId: 'stalled', status: 'in_progress', seq: 2, annotated: true },
      { userId: 'alice', jobId: 'doomed', status: 'queued' },
    ],
  });

  // Another replica: only what changed, what is new and what is gone.
  const before = events.length;
  second.receive({
    type: 'snapshot',
    recovery: 'state',
    recovered: false,
    cursor: '9.40',
    jobs: [job('fresh', { status: 'queued' }), job('running', { status: 'completed', seq: 4, attempt: 1 })],
    removed: [{ userId: 'alice', jobId: 'doomed' }],
    unchanged: 1,
  });
  assert.deepEqual([...client.jobs.keys()].sort(), ['alice/fresh', 'alice/running', 'alice/stalled']);
  assert.equal(client.jobs.get('alice/running').status, 'completed');
  assert.equal(client.jobs.get('alice/stalled').stalled.reason, 'silent', 'an unchanged job keeps its copy');
  assert.equal(client.cursor, '9.40');
  const after = events.slice(before).filter((e) => e.type !== 'status');
  assert.deepEqual(after.map((e) => e.type), ['resume', 'removed', 'job', 'job']);
  assert.equal(after[0].recovery, 'state');
  assert.equal(after[0].recovered, false);
  assert.equal(client.state, 'open');
  client.close();
});

test('a listener that closes the client during a state resume gets no more of its events', async () => {
  for (const closeOn of ['resume', 'removed', 'job']) {
    const { client, clock, ws, events } = newClient({ transports: ['websocket'] });
    client.connect();
    await flush();
    ws.sockets[0].open();
    ws.sockets[0].receive({ type: 'snapshot', cursor: '1.5', jobs: [job('kept'), job('doomed'), job('gone')] });
    ws.sockets[0].drop(1006);
    await clock.next();
    const again = ws.sockets[1];
    again.open();
    client.on(closeOn, () => client.close());
    const before = events.length;
    again.receive({
      type: 'snapshot',
      recovery: 'state',
      recovered: false,
      cursor: '9.40',
      jobs: [job('fresh'), job('kept', { seq: 9 })],
      removed: [
        { userId: 'alice', jobId: 'doomed' },
        { userId: 'alice', jobId: 'gone' },
      ],
      unchanged: 0,
    });
    const after = events.slice(before).filter((e) => e.type !== 'status');
    assert.equal(after.at(-1).type, closeOn, `closed on ${closeOn}: nothing after it`);
    assert.equal(after.filter((e) => e.type === closeOn).length, 1, `closed on ${closeOn}`);
    assert.equal(client.state, 'closed');
  }
});

test('no state resume without jobs held, with a narrower scope, or when turned off', async () => {
  for (const [extra, scope, why] of [
    [{ stateResume: false }, null, 'turned off'],
    [{}, { jobIds: ['a'] }, 'a subscribe answers with a full snapshot anyway'],
  ]) {
    const { client, clock, ws } = newClient({ transports: ['websocket'], ...extra });
    client.connect();
    await flush();
    if (scope) client.subscribe(scope);
    ws.sockets.at(-1).open();
    ws.sockets.at(-1).receive({ type: 'snapshot', jobs: [job('a')], cursor: '1.1' });
    ws.sockets.at(-1).drop(1006);
    await clock.next();
    const again = ws.sockets.at(-1);
    assert.equal(again.url.searchParams.has('resume'), false, why);
    again.open();
    assert.ok(!again.sent.some((op) => op.op === 'resume'), why);
    client.close();
  }
});

test('a full snapshot after asking for a state resume replaces the view', async () => {
  const { client, clock, ws, events } = newClient({ transports: ['websocket'] });
  client.connect();
  await flush();
  ws.sockets[0].open();
  ws.sockets[0].receive({ type: 'snapshot', jobs: [job('old')], cursor: '1.1' });
  ws.sockets[0].drop(1006);
  await clock.next();
  const second = ws.sockets[1];
  second.open();
  assert.equal(second.sent[0].op, 'resume');
  // An older bridge (or a fallback: the op came too late, too big): an ordinary snapshot.
  second.receive({ type: 'snapshot', jobs: [job('new')], cursor: '2.1', recovered: false });
  assert.deepEqual([...client.jobs.keys()], ['alice/new']);
  assert.equal(events.filter((e) => e.type === 'snapshot').length, 2);
  client.close();
});

// --- listeners that close or restart the client --------------------------------------------

// A client that held job 'a' and reconnects: its second socket, not yet open, will send a
// resume op first.
async function reconnecting(extra = {}) {
  const setup = newClient({ transports: ['websocket'], ...extra });
  setup.client.connect();
  await flush();
  setup.ws.sockets[0].open();
  setup.ws.sockets[0].receive({ type: 'snapshot', jobs: [job('a')], cursor: '1.1' });
  setup.ws.sockets[0].drop(1006);
  await setup.clock.next();
  return { ...setup, sock: setup.ws.sockets[1] };
}

test('a listener that closes the client when the WebSocket opens leaves it closed', async () => {
  const { client, clock, sock, events } = await reconnecting();
  client.on('status', (e) => e.state === 'open' && client.close());
  sock.open(); // threw a TypeError: the open handler sent on the connection close() dropped
  assert.equal(client.state, 'closed');
  assert.equal(sock.closed, true);
  assert.deepEqual(sock.sentAfterClose, []);
  assert.deepEqual(sock.sent.map((op) => op.op), ['resume'], 'the resume op went out while the socket was open');
  assert.equal(events.at(-1).state, 'closed');
  assert.equal(events.at(-1).final, true);
  assert.deepEqual(clock.pending(), []);
  client.connect();
  await flush();
  assert.equal(client.state, 'closed', 'a closed client stays closed');
});

test('a listener that moves the client to another user when the WebSocket opens', async () => {
  const { client, ws, sock } = await reconnecting();
  const off = client.on('status', (e) => {
    if (e.state !== 'open') return;
    off();
    client.subscribe({ userId: '*' });
  });
  sock.open();
  await flush();
  assert.equal(sock.closed, true);
  assert.deepEqual(sock.sentAfterClose, []);
  const next = ws.sockets[2];
  next.open();
  assert.deepEqual(next.sent, [{ op: 'subscribe', userId: '*' }]);
  client.close();
});

test('a subscribe from a listener of the open status follows the resume op', async () => {
  const { client, sock } = await reconnecting();
  client.on('status', (e) => e.state === 'open' && client.subscribe({ types: ['data_import'] }));
  sock.open();
  // The bridge refuses a resume op that is not the first message.
  assert.deepEqual(sock.sent.map((op) => op.op), ['resume', 'subscribe']);
  assert.deepEqual(sock.sent[1].types, ['data_import']);
  client.close();
});

test('a listener that closes the client when an SSE stream opens gets nothing more', async () => {
  const { client, clock, es, events } = newClient({ transports: ['sse'] });
  client.connect();
  await flush();
  client.on('status', (e) => e.state === 'open' && client.close());
  // The first event opens the stream (no open event came before it).
  es.sources[0].receive('snapshot', { type: 'snapshot', jobs: [job('a')], cursor: '3.1' });
  assert.equal(client.state, 'closed');
  assert.equal(es.sources[0].closed, true);
  assert.equal(events.some((e) => e.type === 'snapshot'), false);
  assert.equal(client.jobs.size, 0);
  assert.deepEqual(clock.pending(), []);
});

test('a listener that closes the client when a fallback transport opens leaves no probe pending', async () => {
  const { client, clock, ws, es, events } = newClient({ transports: ['websocket', 'sse'], fallbackAfter: 1 });
  client.connect();
  await flush();
  ws.sockets[0].drop();
  await clock.next(); // to SSE, which probes the WebSocket again later
  client.on('status', (e) => e.state === 'open' && client.close());
  es.sources[0].open();
  assert.equal(client.state, 'closed');
  assert.equal(events.at(-1).final, true);
  assert.deepEqual(clock.pending(), []);
});

// Polling with a fetch that, like the fake, ignores abort signals: every poll scheduled is a
// request sent. The first listing holds a and b, the later ones a (changed), c and d.
async function polling(closeOn) {
  let n = 0;
  const fetch = fakeFetch({
    jobs: () => listing(++n === 1 ? [job('a'), job('b')] : [job('a', { progress: 50, updatedAt: 2 }), job('c'), job('d')]),
  });
  const setup = newClient({ transports: ['poll'], pollIntervalMs: 1000, fetch });
  setup.client.on(closeOn.type, (e) => (closeOn.when?.(e) ?? true) && setup.client.close());
  setup.client.connect();
  await flush();
  return { ...setup, fetch };
}

for (const [closeOn, polls] of [
  [{ type: 'status', when: (e) => e.state === 'open' }, 1],
  [{ type: 'snapshot' }, 1],
  [{ type: 'job' }, 2],
  [{ type: 'removed' }, 2],
]) {
  test(`a listener of '${closeOn.type}' that closes the client during a poll stops the polling`, async () => {
    const { client, clock, fetch, events } = await polling(closeOn);
    if (polls === 2) await clock.next();
    assert.equal(client.state, 'closed');
    assert.deepEqual(clock.pending(), [], 'no poll scheduled after close()');
    assert.equal(fetch.listings().length, polls);
    // Nothing after the final status: the rest of the listing is not applied either.
    const last = events.findIndex((e) => e.type === 'status' && e.final);
    assert.deepEqual(events.slice(last + 1), []);
  });
}

test('a listener that subscribes during a poll leaves one poll running, on the new connection', async () => {
  const fetch = fakeFetch({ jobs: () => listing([job('a', { type: 'data_import' }), job('b', { type: 'report' })]) });
  const { client, clock, events } = newClient({ transports: ['poll'], pollIntervalMs: 1000, fetch });
  const off = client.on('snapshot', () => {
    off();
    client.subscribe({ types: ['data_import'] });
  });
  client.connect();
  await flush();
  assert.equal(fetch.listings().length, 2, "the first connection's poll, then the new one's");
  assert.deepEqual(clock.pending(), [1000], 'the first connection schedules no further poll');
  await clock.next();
  assert.equal(fetch.listings().length, 3);
  assert.deepEqual(clock.pending(), [1000]);
  assert.deepEqual([...client.jobs.keys()], ['alice/a']);
  assert.equal(events.filter((e) => e.type === 'snapshot').length, 2);
  client.close();
  assert.deepEqual(clock.pending(), []);
});

// The transport on its own: the client's callbacks reduced to what a test needs.
function pollingTransport(extra = {}) {
  const clock = new FakeClock();
  const fetch = fakeFetch({ jobs: () => listing([job('a')]) });
  const seen = { listings: 0, failures: [] };
  const transport = new PollingTransport({
    fetch,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    baseUrl: 'http://127.0.0.1:8080',
    userId: 'alice',
    token: ALICE,
    intervalMs: 1000,
    pageLimit: 200,
    maxPages: 20,
    current: () => true,
    onListing: () => seen.listings++,
    onFailure: (e) => seen.failures.push(e),
    ...extra,
  });
  return { transport, clock, fetch, seen };
}

test('the polling transport asks for the user it started with at every poll', async () => {
  for (const [userId, path] of [
    ['alice', '/api/v1/users/alice/jobs'],
    ['*', '/api/v1/jobs'],
  ]) {
    const { transport, clock, fetch, seen } = pollingTransport({ userId });
    transport.start();
    await flush();
    await clock.next();
    assert.deepEqual(fetch.listings().map((r) => r.url.pathname), [path, path]);
    assert.equal(seen.listings, 2);
    transport.close();
    assert.deepEqual(clock.pending(), []);
  }
  // A userId that cannot be encoded fails the first poll, like any failure to list.
  const { transport, clock, fetch, seen } = pollingTransport({ userId: '\ud800' });
  transport.start();
  await flush();
  assert.equal(seen.failures.length, 1);
  assert.ok(seen.failures[0] instanceof URIError);
  assert.equal(fetch.listings().length, 0);
  assert.deepEqual(clock.pending(), []);
});

test('the polling transport schedules no poll once closed or stale during onListing', async () => {
  for (const how of ['close', 'stale']) {
    let current = true;
    const setup = pollingTransport({
      current: () => current,
      onListing: () => (how === 'close' ? setup.transport.close() : (current = false)),
    });
    setup.transport.start();
    await flush();
    assert.deepEqual(setup.clock.pending(), [], how);
    assert.equal(setup.fetch.listings().length, 1, how);
  }
});

test('a listener that closes the client on a reconnect, a fallback or a refusal leaves it closed', async () => {
  const cases = [
    [{ transports: ['websocket'] }, 'status', (e) => e.state === 'closed' && !e.final, (s) => s.ws.sockets[0].drop()],
    [{ fallbackAfter: 1 }, 'status', (e) => e.state === 'fallback', (s) => s.ws.sockets[0].drop()],
    [{ transports: ['websocket'] }, 'error', (e) => e.code === 'token_expired', (s) => s.ws.sockets[0].drop(4001)],
  ];
  const refused = fakeFetch({ jobs: () => ({ status: 401, body: { error: { code: 'invalid_token', message: 'no' } } }) });
  cases.push([{ transports: ['poll'], fetch: refused }, 'error', (e) => e.code === 'invalid_token', () => {}]);
  for (const [extra, type, when, act] of cases) {
    const setup = newClient(extra);
    const { client, clock, events } = setup;
    client.on(type, (e) => when(e) && client.close());
    client.connect();
    await flush();
    act(setup);
    await flush();
    assert.equal(client.state, 'closed', `${type} ${when}`);
    assert.deepEqual(clock.pending(), [], `${type} ${when}: no timer left`);
    const last = events.findIndex((e) => e.type === 'status' && e.final);
    assert.deepEqual(events.slice(last + 1), [], `${type} ${when}: nothing after the final status`);
  }
});
