// useJobs, useJob and ProgressProvider with the real React and React DOM in Node (jsdom),
// against a real Mosquitto with the project's broker-config and the real progress-bridge:
// job states published as the `worker` account must show up in what the components render
// as jobs progress, complete and fail; unmounting must close the connections.
//   node --preserve-symlinks react-hooks.integration.mjs --bridge PATH --broker-config DIR [--mosquitto PATH] [--mosquitto-pub PATH]
import assert from 'node:assert/strict';

import { log, realBridgeSuite, refusals, signToken, waitFor, waitForStreams } from './real-bridge.mjs';

let h;
let Fragment;
let createRoot;
let hooks;

const { system, check, newPage } = realBridgeSuite({
  async ready() {
    const React = await import('react');
    h = React.createElement;
    Fragment = React.Fragment;
    ({ createRoot } = await import('react-dom/client'));
    hooks = await import('progress-bridge-client/react');
  },
});

// --- components, as an application would write them ------------------------------------------

function JobList({ options }) {
  const { jobs, status, error } = hooks.useJobs(options);
  return h(
    'section',
    { 'data-view': 'list', 'data-status': status, 'data-error': error?.code ?? '' },
    jobs.map((job) =>
      h(
        'article',
        { key: `${job.userId}/${job.jobId}`, 'data-job': `${job.userId}/${job.jobId}`, 'data-status': job.status },
        h('progress', { max: 100, value: job.progress ?? 0 }),
        `${job.progress ?? 0}%`,
        job.error ? h('strong', { role: 'alert' }, job.error.message) : null,
      ),
    ),
  );
}

function JobCard({ jobId, options }) {
  const { job, status, error } = hooks.useJob(jobId, options);
  return h(
    'div',
    { 'data-view': `card:${jobId}`, 'data-status': status, 'data-error': error?.code ?? '', 'data-job-status': job?.status ?? 'none' },
    job ? `${job.phaseTitle ?? job.status} ${job.progress ?? 0}%` : 'waiting for the job',
  );
}

function SharedClient() {
  const client = hooks.useProgressClient();
  return h('p', { 'data-view': 'client' }, client ? `shared:${client.userId ?? ''}` : 'none');
}

// --- reading the page ---------------------------------------------------------------------------

function render(element) {
  return newPage((container) => {
    const root = createRoot(container);
    root.render(element);
    return () => root.unmount();
  });
}

function statusOf(shown, name) {
  return shown.view(name)?.dataset.status;
}

// --- tests ------------------------------------------------------------------------------------------

check('useJobs and useJob render jobs as they progress, complete and fail; unmount closes the connections', async () => {
  const token = await system.token('alice');
  const options = { baseUrl: system.baseUrl, getToken: async () => token };
  const page = render(h(Fragment, null, h(JobList, { options }), h(JobCard, { jobId: 'build-7', options })));

  await waitFor('both hooks to be open', () => statusOf(page, 'list') === 'open' && statusOf(page, 'card:build-7') === 'open');
  assert.equal(page.view('card:build-7').textContent, 'waiting for the job');
  await waitForStreams(system, 'websocket', 2); // one connection per hook without a provider

  await system.publish('bob', 'payroll-1', { status: 'in_progress', progress: 10, seq: 1 });
  await system.publish('alice', 'build-7', { status: 'in_progress', progress: 40, phase: 2, totalPhases: 5, phaseTitle: 'Compiling', seq: 1 });
  await waitFor('the card to show 40%', () => page.view('card:build-7').textContent === 'Compiling 40%');
  await waitFor('the list to show build-7 in progress', () => page.jobs().some((j) => j.key === 'alice/build-7' && j.status === 'in_progress'));

  await system.publish('alice', 'build-7', { status: 'completed', progress: 100, phase: 5, totalPhases: 5, phaseTitle: 'Done', seq: 2 });
  await system.publish('alice', 'import-3', { status: 'failed', progress: 62, message: 'Import stopped', error: { message: "Row 7: bad date '2024-13-01'", code: 'E_ROW' }, seq: 9 });
  await waitFor('the card to show the completed job', () => page.view('card:build-7').dataset.jobStatus === 'completed');
  assert.equal(page.view('card:build-7').textContent, 'Done 100%');
  const failed = await waitFor('the failed import with its error', () => page.jobs().find((j) => j.key === 'alice/import-3' && j.status === 'failed'));
  assert.equal(failed.text, "62%Row 7: bad date '2024-13-01'");
  assert.deepEqual(page.jobs().map((j) => j.key).sort(), ['alice/build-7', 'alice/import-3']); // never bob's
  assert.equal(page.view('list').dataset.error, '');

  page.unmount();
  await waitForStreams(system, 'websocket', 0);
  log('unmounted: the bridge has no open stream left');
});

check('ProgressProvider shares one connection; an admin follows every user', async () => {
  const admin = await system.token('ops', { admin: true });
  const page = render(
    h(
      hooks.ProgressProvider,
      { baseUrl: system.baseUrl, token: admin, userId: '*' },
      h(SharedClient),
      h(JobList, { options: {} }),
      h(JobList, { options: { userId: 'bob' } }),
      h(JobCard, { jobId: 'payroll-1', options: { userId: 'bob' } }),
    ),
  );
  await waitFor('the shared list to show both users', () => {
    const keys = page.jobs().map((j) => j.key);
    return keys.includes('alice/build-7') && keys.includes('bob/payroll-1');
  });
  assert.equal(page.view('client').textContent, 'shared:*');
  assert.equal(page.view('card:payroll-1').textContent, 'in_progress 10%');
  // The second list selects bob's jobs from the same client.
  const lists = page.container.querySelectorAll('[data-view="list"]');
  assert.deepEqual([...lists[1].querySelectorAll('article')].map((el) => el.dataset.job), ['bob/payroll-1']);
  await waitForStreams(system, 'websocket', 1);

  await system.publish('bob', 'payroll-1', { status: 'completed', progress: 100, seq: 2 });
  await waitFor("bob's job to complete everywhere", () => page.view('card:payroll-1').dataset.jobStatus === 'completed' && page.jobs().filter((j) => j.key === 'bob/payroll-1').every((j) => j.status === 'completed'));

  page.unmount();
  await waitForStreams(system, 'websocket', 0);
});

check('a wrongly signed token: useJobs stops as unauthorized with the reason', async () => {
  const forged = await system.token('alice', { secret: 'another-secret-that-is-at-least-32-bytes' });
  const before = await refusals(system, 'bad_signature');
  const page = render(h(JobList, { options: { baseUrl: system.baseUrl, token: forged, backoff: { initialMs: 50, maxMs: 200 } } }));
  await waitFor('the list to report unauthorized', () => statusOf(page, 'list') === 'unauthorized');
  assert.equal(page.view('list').dataset.error, 'token_bad_signature');
  const counted = await refusals(system, 'bad_signature');
  assert.ok(counted > before, 'the bridge refused the token');
  // A client that kept retrying would be refused again every 50-200 ms.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await refusals(system, 'bad_signature'), counted);
  page.unmount();
});

check('an expired token is replaced through getToken and the list opens', async () => {
  const now = Math.floor(Date.now() / 1000);
  const expired = signToken({ sub: 'alice', iat: now - 7200, exp: now - 3600 }, system.secret);
  const fresh = await system.token('alice');
  const handedOut = [];
  const getToken = () => {
    const token = handedOut.length === 0 ? expired : fresh;
    handedOut.push(token);
    return token;
  };
  const page = render(h(JobList, { options: { baseUrl: system.baseUrl, getToken } }));
  await waitFor('the list to open with a fresh token', () => statusOf(page, 'list') === 'open');
  assert.deepEqual(handedOut.slice(0, 2), [expired, fresh]);
  assert.equal(page.view('list').dataset.error, '');
  await waitFor("alice's jobs", () => page.jobs().some((j) => j.key === 'alice/import-3'));
  page.unmount();
  await waitForStreams(system, 'websocket', 0);
});
