// The Node SDK over a fake transport and a manual clock: what each call publishes,
// validation, seq numbering, throttling, deliveries and errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Publisher, PublishError, ValidationError, parseUpdate } from '../src/index.js';
import { FakeTransport, ManualClock } from './support/fake-transport.mjs';

async function setup(options = {}) {
  const transport = new FakeTransport();
  const clock = new ManualClock();
  const publisher = await Publisher.connect({ workerId: 'worker-1', throttleMs: 100, ...options }, { transport, clock });
  return { transport, clock, publisher };
}

test('every call publishes the full state, retained, QoS 1, valid for the bridge', async () => {
  const { transport, publisher } = await setup({ throttleMs: 0 });
  const job = publisher.job('alice', 'import-42', { type: 'import' });
  await job.start('Importing');
  await job.phase(1, 3, 'Download', 'Fetching 30 files');
  await job.progress(40, '12 of 30 files', 'file 12');
  await job.counter(1500, 5000, 'Parsing rows');
  await job.eta(20000);
  await job.complete({ rows: 5000 });
  assert.equal(transport.sent.length, 6);
  for (const m of transport.sent) {
    assert.equal(m.topic, 'users/alice/jobs/import-42');
    assert.equal(m.qos, 1);
    assert.equal(m.retain, true);
    assert.equal(parseUpdate({ userId: 'alice', jobId: 'import-42' }, m.payload).ok, true);
  }
  assert.deepEqual(transport.json(0), {
    attempt: 1, jobId: 'import-42', message: 'Importing', seq: 1, status: 'started',
    timestamp: ManualClock.START_UNIX_MS, type: 'import', userId: 'alice', workerId: 'worker-1',
  });
  assert.equal(transport.json(1).phaseTitle, 'Download');
  assert.equal(transport.json(1).message, 'Fetching 30 files');
  assert.equal(transport.json(2).detail, 'file 12');
  assert.equal(transport.json(3).progress, 30);
  assert.equal(transport.json(3).detail, 'file 12');
  assert.equal(transport.json(4).etaMs, 20000);
  const last = transport.json(5);
  assert.deepEqual([last.status, last.progress, last.details, last.etaMs, last.seq], ['completed', 100, { rows: 5000 }, undefined, 6]);
  assert.deepEqual(job.state, last);
  await publisher.close();
});

test('a new phase drops the previous detail and counter; fail and cancel clear the ETA', async () => {
  const { transport, publisher } = await setup({ throttleMs: 0 });
  const job = publisher.job('alice', 'j1');
  job.counter(5, 10, 'half');
  job.eta(1000);
  job.phase(2, 2, 'Write');
  const phase = transport.json(-1);
  assert.deepEqual([phase.current, phase.total, phase.message, phase.etaMs], [undefined, undefined, undefined, 1000]);
  job.fail('Disk full', 'E_DISK');
  assert.deepEqual(transport.json(-1).error, { message: 'Disk full', code: 'E_DISK' });
  assert.equal(transport.json(-1).etaMs, undefined);
  const other = publisher.job('alice', 'j2');
  other.eta(5);
  other.cancel('Stopped by the user');
  assert.deepEqual([transport.json(-1).status, transport.json(-1).etaMs], ['cancelled', undefined]);
  const third = publisher.job('alice', 'j3');
  third.fail({ message: 'boom' });
  assert.deepEqual(transport.json(-1).error, { message: 'boom' });
  await publisher.close();
});

test('invalid updates throw ValidationError with the bridge reason, and nothing is sent', async () => {
  const { transport, publisher } = await setup({ throttleMs: 0 });
  const job = publisher.job('alice', 'j1');
  const refused = (call, reason, field) =>
    assert.throws(call, (e) => e instanceof ValidationError && e.reason === reason && e.field === field);
  refused(() => job.progress(101), 'out_of_range', 'progress');
  refused(() => job.progress(Number.NaN), 'out_of_range', 'progress');
  refused(() => job.phase(4, 3, 'Too far'), 'out_of_range', 'phase');
  refused(() => job.phase(1.5, 3, 'Half'), 'wrong_type', 'phase');
  refused(() => job.counter(-1, 10), 'out_of_range', 'current');
  refused(() => job.progress(5, 'x'.repeat(4097)), 'out_of_range', 'message');
  refused(() => job.progress(5, 'bad \ud800'), 'invalid_utf8', 'message');
  refused(() => job.fail(''), 'invalid_value', 'error.message');
  refused(() => job.complete([1, 2]), 'wrong_type', 'details');
  refused(() => job.complete({ big: 1n }), 'wrong_type', 'details');
  refused(() => job.complete({ pad: 'x'.repeat(70000) }), 'oversize', '');
  refused(() => job.update({ status: 'queued', userId: 'bob' }), 'id_mismatch', 'userId');
  refused(() => publisher.job('al/ice', 'j'), 'invalid_value', 'userId');
  refused(() => publisher.job('alice', '..'), 'invalid_value', 'jobId');
  refused(() => publisher.job('alice', 'j', { type: 'a b' }), 'invalid_value', 'type');
  assert.equal(transport.sent.length, 0);
  assert.equal(job.state.status, 'queued');
  await publisher.close();
});

test('nothing follows a terminal state within an attempt, seq only grows, a removed job is finished', async () => {
  const { transport, publisher } = await setup({ throttleMs: 0 });
  const job = publisher.job('alice', 'j1', { firstSeq: 10 });
  job.start();
  job.complete();
  assert.throws(() => job.progress(5), (e) => e.reason === 'invalid_value' && e.field === 'status');
  assert.throws(() => job.update({ status: 'in_progress', seq: 3, attempt: 1 }), ValidationError);
  // A new attempt starts over.
  job.update({ status: 'started', attempt: 2, seq: 1 });
  assert.deepEqual([transport.json(-1).attempt, transport.json(-1).seq], [2, 1]);
  assert.throws(() => job.update({ status: 'in_progress', seq: 1 }), (e) => e.field === 'seq');
  assert.deepEqual(transport.sent.slice(0, 2).map((m) => JSON.parse(m.payload).seq), [10, 11]);
  await job.remove();
  assert.equal(transport.sent.at(-1).payload, '');
  assert.equal(transport.sent.at(-1).retain, true);
  assert.throws(() => job.progress(1), ValidationError);
  assert.throws(() => job.remove(), ValidationError);
  await publisher.close();
});

test('a stall time goes out with every update; one out of range is refused before anything is sent', async () => {
  const { transport, publisher } = await setup({ throttleMs: 0 });
  const job = publisher.job('alice', 'j1', { stallAfterMs: 90000 });
  job.start();
  job.progress(50);
  job.update({ status: 'in_progress' });
  job.complete();
  assert.deepEqual(transport.sent.map((m) => JSON.parse(m.payload).stallAfterMs), [90000, 90000, 90000, 90000]);
  assert.equal(publisher.job('alice', 'j2').state.stallAfterMs, undefined);
  for (const bad of [999, 604800001]) {
    assert.throws(() => publisher.job('alice', 'j3', { stallAfterMs: bad }), (e) => e.reason === 'out_of_range' && e.field === 'stallAfterMs');
  }
  assert.throws(() => publisher.job('alice', 'j3', { stallAfterMs: '1000' }), (e) => e.reason === 'wrong_type' && e.field === 'stallAfterMs');
  assert.equal(transport.sent.length, 4);
  await publisher.close();
});

test('throttling: updates within the interval are coalesced, the newest is sent when it passes', async () => {
  const { transport, clock, publisher } = await setup();
  const job = publisher.job('alice', 'j1');
  const first = job.progress(1);
  const second = job.progress(2);
  const third = job.progress(3, 'three');
  assert.equal(transport.sent.length, 1);
  publisher.flushDue();
  assert.equal(transport.sent.length, 1); // not due yet
  clock.advance(100);
  publisher.flushDue();
  assert.equal(transport.sent.length, 2);
  assert.deepEqual([transport.json(1).progress, transport.json(1).message, transport.json(1).seq], [3, 'three', 3]);
  assert.deepEqual(await first, { ok: true });
  // Replaced updates share the delivery of the message that carried them.
  assert.equal(second, third);
  assert.deepEqual(await second, { ok: true });
  await publisher.close();
});

test('phase changes and terminal states go at once and take a waiting update with them', async () => {
  const { transport, clock, publisher } = await setup();
  const job = publisher.job('alice', 'j1');
  job.phase(1, 2, 'One');
  job.progress(10);
  assert.equal(transport.sent.length, 1);
  job.phase(2, 2, 'Two');
  assert.equal(transport.sent.length, 2);
  assert.equal(transport.json(1).phase, 2);
  job.progress(60);
  job.complete();
  assert.equal(transport.sent.length, 3);
  assert.equal(transport.json(2).status, 'completed');
  clock.advance(1000);
  publisher.flushDue();
  assert.equal(transport.sent.length, 3);
  await publisher.close();
});

test('a throttled update is never lost: the timer, flush() and close() send it', async () => {
  const { transport, publisher } = await setup({ throttleMs: 30 });
  const job = publisher.job('alice', 'j1');
  job.progress(1);
  const waiting = job.progress(2);
  assert.equal(transport.sent.length, 1);
  // The real timer, driven by the manual clock, would never fall due: flush() sends.
  publisher.flush();
  assert.equal(transport.json(-1).progress, 2);
  assert.deepEqual(await waiting, { ok: true });
  job.progress(3);
  await publisher.close();
  assert.equal(transport.json(-1).progress, 3);
  assert.equal(transport.disconnects, 1);
});

test('the system clock timer sends a waiting update by itself', async () => {
  const transport = new FakeTransport();
  const publisher = await Publisher.connect({ workerId: 'w', throttleMs: 20 }, { transport });
  const job = publisher.job('alice', 'j1');
  job.progress(1);
  const waiting = job.progress(2);
  assert.equal(transport.sent.length, 1);
  assert.deepEqual(await waiting, { ok: true });
  assert.equal(transport.json(-1).progress, 2);
  await publisher.close();
});

test('deliveries tell a broker refusal, a full buffer and a closed publisher apart', async () => {
  const errors = [];
  const { transport, publisher } = await setup({ throttleMs: 0, maxBuffered: 2, onError: (topic, error) => errors.push([topic, error.code]) });
  transport.failWith(PublishError.rejected(0x87));
  const refused = await publisher.job('alice', 'j1').start();
  assert.equal(refused.ok, false);
  assert.deepEqual([refused.error.code, refused.error.reasonCode, refused.error.reasonName, refused.error.message], ['rejected', 0x87, 'Not authorized', 'Not authorized (0x87)']);

  transport.failWith(null);
  transport.hold();
  const a = publisher.job('alice', 'a').start();
  const b = publisher.job('alice', 'b').start();
  const c = await publisher.job('alice', 'c').start();
  assert.equal(c.error.code, 'buffer_full');
  transport.release();
  assert.deepEqual([await a, await b], [{ ok: true }, { ok: true }]);
  assert.equal((await publisher.job('alice', 'd').start()).ok, true); // room again

  await publisher.close();
  const late = await publisher.job('alice', 'e').start();
  assert.equal(late.error.code, 'closed');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(errors, [['users/alice/jobs/j1', 'rejected'], ['users/alice/jobs/c', 'buffer_full']]);
});

test('bad options are refused before connecting', async () => {
  const transport = new FakeTransport();
  await assert.rejects(Publisher.connect({ workerId: 'a/b' }, { transport }), (e) => e instanceof ValidationError && e.field === 'workerId');
  await assert.rejects(Publisher.connect({ maxBuffered: 0 }, { transport }), (e) => e.field === 'maxBuffered');
  await assert.rejects(Publisher.connect({ throttleMs: -1 }, { transport }), (e) => e.field === 'throttleMs');
  assert.equal(transport.connects, 0);
});
