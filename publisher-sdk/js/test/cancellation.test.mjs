// Cancellation requests on a job's control topic, over the fake transport.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Publisher, PublishError } from '../src/index.js';
import { FakeTransport } from './support/fake-transport.mjs';

const CONTROL = 'users/alice/jobs/j1/control';
const cancel = (requestId, requestedBy = 'alice') =>
  JSON.stringify({ action: 'cancel', requestId, requestedBy, timestamp: 1795000000000 });

async function setup() {
  const transport = new FakeTransport();
  const errors = [];
  const publisher = await Publisher.connect(
    { workerId: 'w', throttleMs: 0, onError: (topic, error) => errors.push([topic, error.code]) },
    { transport },
  );
  const told = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return errors;
  };
  return { transport, publisher, told };
}

test('a job follows its control topic until it ends; a new attempt follows again', async () => {
  const { transport, publisher } = await setup();
  const job = publisher.job('alice', 'j1');
  assert.deepEqual([...transport.subscriptions], [CONTROL]);
  job.start();
  job.complete();
  assert.equal(transport.subscriptions.size, 0);
  job.update({ status: 'started', attempt: 2 });
  assert.deepEqual([...transport.subscriptions], [CONTROL]);
  job.remove();
  assert.equal(transport.subscriptions.size, 0);
  const quiet = publisher.job('alice', 'j2', { followControl: false });
  assert.equal(transport.subscriptions.size, 0);
  const released = publisher.job('alice', 'j3');
  released.release();
  assert.equal(transport.subscriptions.size, 0);
  assert.equal(quiet.cancelRequested, false);
  await publisher.close();
});

test('each request reaches the handler once, and the worker decides what to do', async () => {
  const { transport, publisher, told } = await setup();
  const seen = [];
  const job = publisher.job('alice', 'j1', { onCancel: (request) => seen.push(request) });
  await job.start();
  assert.equal(job.cancelRequested, false);
  transport.deliver(CONTROL, cancel('r1'));
  transport.deliver(CONTROL, cancel('r1')); // the retained request again, after a reconnect
  transport.deliver(CONTROL, cancel('r2', 'ops'));
  assert.deepEqual(seen, [
    { requestId: 'r1', requestedBy: 'alice', timestamp: 1795000000000 },
    { requestId: 'r2', requestedBy: 'ops', timestamp: 1795000000000 },
  ]);
  assert.equal(job.cancelRequested, true);
  assert.equal(job.lastCancelRequest.requestId, 'r2');
  assert.equal(transport.sent.length, 1); // nothing sent on its own
  await job.cancel('Cancelled by ops');
  assert.equal(transport.json(-1).status, 'cancelled');
  assert.deepEqual(await told(), []);
  await publisher.close();
});

test('a request before the handler is handed to it when it is set', async () => {
  const { transport, publisher } = await setup();
  const job = publisher.job('alice', 'j1');
  transport.deliver(CONTROL, cancel('early'));
  assert.equal(job.cancelRequested, true);
  const ids = [];
  job.onCancel((request) => ids.push(request.requestId));
  assert.deepEqual(ids, ['early']);
  transport.deliver(CONTROL, cancel('early'));
  transport.deliver(CONTROL, cancel('later'));
  assert.deepEqual(ids, ['early', 'later']);
  await publisher.close();
});

test('malformed messages are reported, other actions and cleared topics ignored, handlers may throw', async () => {
  const { transport, publisher, told } = await setup();
  let calls = 0;
  const job = publisher.job('alice', 'j1', {
    onCancel: () => {
      calls++;
      throw new Error('handler bug');
    },
  });
  transport.deliver(CONTROL, 'not json');
  transport.deliver(CONTROL, JSON.stringify({ action: 'cancel', requestedBy: 'alice', timestamp: 1 }));
  transport.deliver(CONTROL, JSON.stringify({ action: 'pause', requestId: 'p', requestedBy: 'alice', timestamp: 1 }));
  transport.deliver(CONTROL, '');
  assert.equal(calls, 0);
  assert.equal(job.cancelRequested, false);
  assert.deepEqual(await told(), [[CONTROL, 'invalid_control'], [CONTROL, 'invalid_control']]);
  assert.doesNotThrow(() => transport.deliver(CONTROL, cancel('r1')));
  assert.equal(calls, 1);
  await publisher.close();
});

test('handles of one job share one subscription; a refused subscription is reported', async () => {
  const { transport, publisher, told } = await setup();
  const first = publisher.job('alice', 'j1');
  const second = publisher.job('alice', 'j1');
  assert.equal(transport.subscribes, 1);
  transport.deliver(CONTROL, cancel('r1'));
  assert.equal(first.cancelRequested && second.cancelRequested, true);
  first.cancel();
  assert.equal(transport.subscriptions.has(CONTROL), true);
  second.cancel();
  assert.equal(transport.subscriptions.size, 0);
  transport.subscribeError = PublishError.rejected(0x87);
  publisher.job('alice', 'j9');
  assert.deepEqual(await told(), [['users/alice/jobs/j9/control', 'rejected']]);
  await publisher.close();
});
