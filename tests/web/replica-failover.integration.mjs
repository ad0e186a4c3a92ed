// ProgressClient behind a load balancer of two real bridge replicas on one real Mosquitto:
// the replica it follows is killed (SIGKILL) and the balancer sends it to the other, which
// cannot resume its cursor. The client resumes by state: only the jobs that changed while it
// was away arrive (a job that finished, a new one, one removed), the others stay as they were,
// and the view ends equal to what the second replica serves.
//   node --preserve-symlinks replica-failover.integration.mjs --bridge PATH --broker-config DIR [--mosquitto PATH]
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';

import { realBridgeSuite, waitFor } from './real-bridge.mjs';

let ProgressClient;
let jobKey;

const { system, check, closeAfterTest } = realBridgeSuite({
  users: ['alice'],
  async ready() {
    ({ ProgressClient, jobKey } = await import('progress-bridge-client'));
  },
});

/** A TCP balancer in front of the replicas: `target` is the port it forwards to, null refuses. */
async function balancer() {
  const state = { target: null, sockets: new Set() };
  const server = createServer((client) => {
    if (state.target === null) return client.destroy();
    const upstream = connect({ host: '127.0.0.1', port: state.target });
    for (const [from, to] of [[client, upstream], [upstream, client]]) {
      state.sockets.add(from);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        state.sockets.delete(from);
        to.destroy();
      });
      from.pipe(to);
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${server.address().port}`;
  state.close = () => {
    for (const socket of state.sockets) socket.destroy();
    server.close();
  };
  return state;
}

const portOf = (url) => Number(new URL(url).port);

async function jobsServedBy(baseUrl, token) {
  const res = await fetch(`${baseUrl}/api/v1/users/alice/jobs?limit=500`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  return new Map((await res.json()).jobs.map((job) => [jobKey(job.userId, job.jobId), job]));
}

// What a client compares across replicas: the job without the fields each replica sets itself.
function comparable(job) {
  const { updatedAt, ...rest } = job;
  return rest;
}

check('a client failing over to another replica receives only what changed', async () => {
  await system.publish('alice', 'steady', { status: 'in_progress', progress: 30, seq: 3 });
  await system.publish('alice', 'runner', { status: 'in_progress', progress: 10, seq: 1 });
  await system.publish('alice', 'doomed', { status: 'queued', seq: 1 });
  const first = { proc: system.bridge, baseUrl: system.baseUrl };
  const second = await system.startBridge('progress-bridge-2');
  const token = await system.token('alice');
  await waitFor('both replicas to hold the three jobs', async () =>
    (await jobsServedBy(first.baseUrl, token)).size === 3 && (await jobsServedBy(second.baseUrl, token)).size === 3);

  const lb = closeAfterTest(await balancer());
  lb.target = portOf(first.baseUrl);
  const client = closeAfterTest(
    new ProgressClient({ baseUrl: lb.url, token, transports: ['websocket'], backoff: { initialMs: 50, maxMs: 200 } }),
  );
  const events = [];
  for (const type of ['snapshot', 'resume', 'job', 'removed']) client.on(type, (e) => events.push({ type, ...e }));
  await waitFor('the first snapshot', () => client.jobs.size === 3);
  const held = new Map(client.jobs);

  // The replica dies; until the changes below are done, the balancer has nowhere to go.
  lb.target = null;
  first.proc.child.kill('SIGKILL');
  await waitFor('the client to notice', () => client.state !== 'open', { ms: 10000, everyMs: 20 });
  await system.publish('alice', 'runner', { status: 'completed', progress: 100, seq: 2 });
  await system.publish('alice', 'doomed', null);
  await system.publish('alice', 'fresh', { status: 'queued', seq: 1 });
  await waitFor('the second replica to hold the changes', async () => {
    const jobs = await jobsServedBy(second.baseUrl, token);
    return jobs.size === 3 && jobs.get('alice/runner')?.status === 'completed' && jobs.has('alice/fresh');
  });

  const before = events.length;
  lb.target = portOf(second.baseUrl);
  await waitFor('a state resume from the second replica', () => events.slice(before).some((e) => e.type === 'resume'), {
    ms: 15000,
    everyMs: 20,
  });
  await waitFor('the changes to arrive', () => client.jobs.has('alice/fresh') && !client.jobs.has('alice/doomed'), {
    ms: 5000,
    everyMs: 20,
  });
  const after = events.slice(before);
  assert.equal(after[0].type, 'resume');
  assert.equal(after[0].recovery, 'state');
  assert.ok(!after.some((e) => e.type === 'snapshot'), 'no full snapshot');
  assert.deepEqual(
    after.filter((e) => e.type === 'job').map((e) => e.job.jobId).sort(),
    ['fresh', 'runner'],
    'only the jobs that changed',
  );
  assert.deepEqual(after.filter((e) => e.type === 'removed').map((e) => e.jobId), ['doomed']);
  assert.equal(client.jobs.get('alice/runner').status, 'completed', 'the terminal state reached while away');
  assert.equal(client.jobs.get('alice/steady'), held.get('alice/steady'), 'an unchanged job keeps its copy');

  const served = await jobsServedBy(second.baseUrl, token);
  assert.deepEqual(
    [...client.jobs].map(([key, job]) => [key, comparable(job)]).sort(),
    [...served].map(([key, job]) => [key, comparable(job)]).sort(),
  );
  client.close();
});
