// The Node SDK against a real Mosquitto with the project's broker-config and the real
// progress-bridge: what the SDK sends is what the bridge serves, the Last Will marks a
// killed worker offline, and a cancel request published as the bridge account reaches
// the job's handler. Needs PROGRESS_BROKER_CONFIG and PROGRESS_BRIDGE_BINARY (ctest sets them).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import mqtt from 'mqtt';

import { connect } from '../src/index.js';
import { Child, startSystem, waitFor } from './support/system.mjs';

let system;

before(async () => {
  system = await startSystem();
});

after(async () => {
  await system?.stop();
});

const worker = (workerId, options = {}) =>
  connect({ url: system.mqttUrl, username: 'worker', password: system.passwords.worker, workerId, ...options });

/** A plain MQTT.js client of `account` (not the SDK) that collects what it receives. */
async function client(account, ...filters) {
  const c = await mqtt.connectAsync(system.mqttUrl, {
    protocolVersion: 5,
    username: account,
    password: system.passwords[account],
    clientId: `${account}-${Math.random().toString(16).slice(2, 10)}`,
    reconnectPeriod: 0,
  });
  c.received = [];
  c.on('message', (topic, payload, packet) => c.received.push({ topic, payload: payload.toString(), retain: packet.retain }));
  for (const filter of filters) await c.subscribeAsync(filter, { qos: 1 });
  return c;
}

async function restJob(userId, jobId) {
  const response = await fetch(`${system.bridgeUrl}/api/v1/users/${userId}/jobs/${jobId}`, {
    headers: { authorization: `Bearer ${await system.token(userId)}` },
  });
  return response.status === 200 ? response.json() : null;
}

test('what the SDK publishes is what the bridge serves over REST', async () => {
  const publisher = await worker('js-it-rest');
  const job = publisher.job('alice', 'js-rest-1', { type: 'import' });
  assert.deepEqual(await job.start('Importing'), { ok: true });
  job.phase(1, 2, 'Download', 'Fetching files');
  job.progress(30, 'a third');
  job.progress(40, '12 of 30 files', 'file 12'); // throttled: replaces the previous one
  assert.deepEqual(await job.phase(2, 2, 'Write'), { ok: true });
  assert.deepEqual(await job.counter(600, 1000, 'Writing rows'), { ok: true });
  const served = await waitFor('the bridge to serve the latest state', async () => {
    const state = await restJob('alice', 'js-rest-1');
    return state?.current === 600 ? state : null;
  });
  assert.deepEqual(
    [served.status, served.phase, served.totalPhases, served.phaseTitle, served.progress, served.message, served.workerId, served.type],
    ['in_progress', 2, 2, 'Write', 60, 'Writing rows', 'js-it-rest', 'import'],
  );
  assert.equal(served.seq, job.state.seq);
  await job.complete({ rows: 1000 });
  const done = await waitFor('the completed state', async () => {
    const state = await restJob('alice', 'js-rest-1');
    return state?.status === 'completed' ? state : null;
  });
  assert.deepEqual(done.details, { rows: 1000 });
  await publisher.close();
});

test('the broker refuses a job state from a user account, and the delivery names the reason code', async () => {
  const publisher = await connect({ url: system.mqttUrl, username: 'alice', password: system.passwords.alice, workerId: 'js-it-alice' });
  const outcome = await publisher.job('alice', 'js-forged').start();
  assert.equal(outcome.ok, false);
  assert.deepEqual([outcome.error.code, outcome.error.reasonCode, outcome.error.message], ['rejected', 0x87, 'Not authorized (0x87)']);
  await publisher.close();
});

test('online on connect, offline on a clean close, and the Last Will when the process is killed', async () => {
  const watcher = await client('bridge', 'workers/+/status');
  const statusOf = (workerId) => {
    const last = watcher.received.filter((m) => m.topic === `workers/${workerId}/status`).at(-1);
    return last ? JSON.parse(last.payload) : null;
  };
  const publisher = await worker('js-it-clean');
  await waitFor('online', () => statusOf('js-it-clean')?.status === 'online');
  await publisher.close();
  await waitFor('offline after close', () => statusOf('js-it-clean')?.status === 'offline');

  const script = fileURLToPath(new URL('./support/worker-process.mjs', import.meta.url));
  const child = new Child('worker-process', process.execPath, [script, 'js-it-doomed', 'alice', 'js-doomed-1'], {
    PROGRESS_MQTT_URL: system.mqttUrl,
    PROGRESS_MQTT_PASSWORD: system.passwords.worker,
  });
  try {
    await waitFor('the worker process to be ready', () => {
      if (child.exit) throw new Error(`worker process ended: ${child.output}`);
      return child.output.includes('ready');
    });
    await waitFor('online', () => statusOf('js-it-doomed')?.status === 'online');
    await child.stop('SIGKILL');
    const offline = await waitFor('the Last Will', () => (statusOf('js-it-doomed')?.status === 'offline' ? statusOf('js-it-doomed') : null), 30000);
    assert.equal(offline.workerId, 'js-it-doomed');
  } finally {
    await child.stop('SIGKILL');
  }
  // A consumer arriving later finds the retained offline status.
  const late = await client('bridge', 'workers/js-it-doomed/status');
  const retained = await waitFor('the retained status', () => late.received[0]);
  assert.deepEqual([retained.retain, JSON.parse(retained.payload).status], [true, 'offline']);
  await Promise.all([watcher.endAsync(), late.endAsync()]);
});

test('a cancel published as the bridge account reaches the job, also one made before the worker started', async () => {
  const bridge = await client('bridge');
  const request = (requestId, requestedBy) => JSON.stringify({ action: 'cancel', requestId, requestedBy, timestamp: Date.now() });
  await bridge.publishAsync('users/alice/jobs/js-cancel-1/control', request('before-start', 'alice'), { qos: 1, retain: true });

  const publisher = await worker('js-it-cancel');
  const seen = [];
  const job = publisher.job('alice', 'js-cancel-1', { onCancel: (r) => seen.push(r) });
  await job.start('Running');
  await waitFor('the retained request', () => seen.length === 1);
  assert.deepEqual([seen[0].requestId, seen[0].requestedBy, job.cancelRequested], ['before-start', 'alice', true]);

  await bridge.publishAsync('users/alice/jobs/js-cancel-1/control', request('live', 'ops'), { qos: 1, retain: true });
  await waitFor('the live request', () => seen.length === 2);
  assert.equal(seen[1].requestId, 'live');

  assert.deepEqual(await job.cancel(`Cancelled by ${seen[1].requestedBy}`), { ok: true });
  const served = await waitFor('the cancelled state', async () => {
    const state = await restJob('alice', 'js-cancel-1');
    return state?.status === 'cancelled' ? state : null;
  });
  assert.equal(served.message, 'Cancelled by ops');
  await bridge.publishAsync('users/alice/jobs/js-cancel-1/control', '', { qos: 1, retain: true }); // cleared
  await publisher.close();
  await bridge.endAsync();
});

test('the documented example worker runs to completion and the bridge serves its job', async () => {
  const script = fileURLToPath(new URL('../examples/import-worker.mjs', import.meta.url));
  const child = new Child('import-worker', process.execPath, [script, 'alice', 'js-example-1'], {
    PROGRESS_MQTT_URL: system.mqttUrl,
    PROGRESS_MQTT_USERNAME: 'worker',
    PROGRESS_MQTT_PASSWORD: system.passwords.worker,
  });
  const exit = await Promise.race([child.exited, new Promise((resolve) => setTimeout(resolve, 30000, null).unref())]);
  await child.stop('SIGKILL');
  assert.deepEqual(exit, { code: 0, signal: null }, child.output);
  assert.match(child.output, /alice\/js-example-1: completed/);
  // The worker's last update is acknowledged by the broker; the bridge may serve it a moment later.
  const served = await waitFor('the example job completed', async () => {
    const job = await restJob('alice', 'js-example-1');
    return job?.status === 'completed' ? job : null;
  });
  assert.deepEqual([served.status, served.phase, served.details], ['completed', 3, { rows: 5000 }]);
});

test('updates made while the broker is down leave after the reconnect', async () => {
  const publisher = await worker('js-it-buffering');
  const job = publisher.job('alice', 'js-buffered-1');
  assert.deepEqual(await job.start(), { ok: true });
  await system.stopBroker();
  const outcome = job.complete({ buffered: true });
  await system.startBroker();
  assert.deepEqual(await outcome, { ok: true });
  const alice = await client('alice', 'users/alice/jobs/js-buffered-1');
  const received = await waitFor('the retained state', () => alice.received.at(-1));
  assert.equal(JSON.parse(received.payload).status, 'completed');
  await Promise.all([alice.endAsync(), publisher.close()]);
});
