// Unit tests of web/client-view.js, what the React hooks and the Vue composables share: which
// jobs a view selects, when it tells its framework, the error it reports, and the client it
// builds from hook options.
//   node --test tests/web/
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { createViewClient, optionsKey, selectionOf, watchClient } from '../../web/client-view.js';
import { ALICE, fakeWebSocketClass, flush, job, newClient } from './client-fakes.mjs';

async function openWith(jobs) {
  const fakes = newClient();
  fakes.client.connect();
  await flush();
  fakes.ws.sockets[0].open();
  fakes.ws.sockets[0].receive({ type: 'snapshot', jobs, cursor: '1.1' });
  return fakes;
}

test('a list view selects by userId, jobIds and types', async () => {
  const { client } = await openWith([job('a', { type: 'import' }), job('b', { type: 'scan' }), job('c', { type: 'import', userId: 'bob' })]);
  const seen = {};
  const stops = [
    watchClient(client, selectionOf({ types: ['import'] }), (v) => (seen.imports = v)),
    watchClient(client, selectionOf({ jobIds: ['b'] }), (v) => (seen.b = v)),
    watchClient(client, selectionOf({ userId: 'alice' }, 'a'), (v) => (seen.one = v)),
  ];
  await flush();
  assert.deepEqual(seen.imports.jobs.map((j) => j.jobId), ['a']); // bob's never enters alice's client
  assert.deepEqual(seen.b.jobs.map((j) => j.jobId), ['b']);
  assert.equal(seen.one.job.jobId, 'a');
  assert.equal(seen.one.status, 'open');
  assert.equal(seen.one.jobs, undefined);
  for (const stop of stops) stop();
  client.close();
});

test('a view is told once per microtask, and only of changes to its selection', async () => {
  const { client, ws } = await openWith([job('a'), job('b')]);
  const views = [];
  const stop = watchClient(client, selectionOf({}, 'a'), (v) => views.push(v));
  await flush();
  assert.equal(views.length, 1);

  for (let p = 11; p <= 60; p++) ws.sockets[0].receive({ type: 'job', job: job('a', { progress: p }), cursor: `1.${p}` });
  await flush();
  assert.equal(views.length, 2);
  assert.equal(views[1].job.progress, 60);

  ws.sockets[0].receive({ type: 'job', job: job('b', { progress: 99 }), cursor: '1.99' });
  ws.sockets[0].receive({ type: 'job_removed', userId: 'alice', jobId: 'b', cursor: '1.100' });
  await flush();
  assert.equal(views.length, 2, 'changes to job b do not concern a view of job a');

  stop();
  ws.sockets[0].receive({ type: 'job', job: job('a', { progress: 70 }), cursor: '1.101' });
  await flush();
  assert.equal(views.length, 2, 'a stopped view hears nothing');
  client.close();
});

test('the error stays until the stream opens again', async () => {
  const { client, ws } = await openWith([]);
  let view;
  watchClient(client, {}, (v) => (view = v));
  ws.sockets[0].receive({ type: 'error', code: 'rate_limited', message: 'slow down' });
  await flush();
  assert.deepEqual(view.error, { code: 'rate_limited', message: 'slow down' });
  ws.sockets[0].drop();
  await flush();
  assert.equal(view.status, 'closed');
  assert.equal(view.error.code, 'rate_limited');
  client.close();
});

test('optionsKey ignores functions and the client, not the order of keys', () => {
  const a = optionsKey({ baseUrl: 'http://b', token: 't', getToken: () => 't', client: {}, transports: ['sse'], userId: undefined });
  const b = optionsKey({ transports: ['sse'], token: 't', baseUrl: 'http://b', getToken: () => 'other' });
  assert.equal(a, b);
  assert.notEqual(optionsKey({ token: 't' }), optionsKey({ token: 'u' }));
});

test("a view's own client streams its selection and asks the latest getToken", async () => {
  const { FakeWebSocket, sockets } = fakeWebSocketClass();
  let options = { baseUrl: 'http://127.0.0.1:8080', WebSocket: FakeWebSocket, getToken: () => 'first', jobIds: ['x'], types: ['t'] };
  const client = createViewClient(() => options, selectionOf(options, 'build-7'));
  assert.equal(client.state, 'idle'); // the hook connects it
  options = { ...options, getToken: () => ALICE };
  client.connect();
  await flush();
  assert.equal(sockets[0].url.searchParams.get('access_token'), ALICE);
  sockets[0].open();
  assert.deepEqual(sockets[0].sent, [{ op: 'subscribe', jobIds: ['build-7'], types: ['t'] }]);
  client.close();
});
