// useJobs, useJob and provideProgressClient with the real Vue in Node (jsdom), against a real
// Mosquitto with the project's broker-config and the real progress-bridge, over SSE and
// polling (the React test covers WebSocket): what the components render must follow the job
// states published as the `worker` account; unmounting must close the connections.
//   node --preserve-symlinks vue-composables.integration.mjs --bridge PATH --broker-config DIR [--mosquitto PATH] [--mosquitto-pub PATH]
import assert from 'node:assert/strict';

import { realBridgeSuite, waitFor, waitForStreams } from './real-bridge.mjs';

let vue;
let composables;
let JobList;
let JobCard;
let Shared;

const { system, check, newPage } = realBridgeSuite({
  async ready() {
    vue = await import('vue');
    composables = await import('progress-bridge-client/vue');
    defineComponents();
  },
});

// --- components, as an application would write them ----------------------------------------

function defineComponents() {
  const { defineComponent, h } = vue;
  JobList = defineComponent({
    props: { options: { type: Object, default: () => ({}) } },
    setup(props) {
      const { jobs, status, error } = composables.useJobs(() => props.options);
      return () =>
        h(
          'section',
          { 'data-view': 'list', 'data-status': status.value, 'data-error': error.value?.code ?? '' },
          jobs.value.map((job) =>
            h('article', { key: `${job.userId}/${job.jobId}`, 'data-job': `${job.userId}/${job.jobId}`, 'data-status': job.status }, [
              h('progress', { max: 100, value: job.progress ?? 0 }),
              `${job.progress ?? 0}%`,
              job.error ? h('strong', { role: 'alert' }, job.error.message) : null,
            ]),
          ),
        );
    },
  });
  JobCard = defineComponent({
    props: { jobId: String, options: { type: Object, default: () => ({}) } },
    setup(props) {
      const { job, status, error } = composables.useJob(() => props.jobId, () => props.options);
      return () =>
        h(
          'div',
          { 'data-view': 'card', 'data-status': status.value, 'data-error': error.value?.code ?? '', 'data-job-status': job.value?.status ?? 'none' },
          job.value ? `${job.value.jobId}: ${job.value.phaseTitle ?? job.value.status} ${job.value.progress ?? 0}%` : 'waiting for the job',
        );
    },
  });
  Shared = defineComponent({
    props: { options: Object },
    setup(props, { slots }) {
      const client = composables.provideProgressClient(() => props.options);
      return () => h('div', { 'data-view': 'shared', 'data-client': client.value ? 'yes' : 'no' }, slots.default?.());
    },
  });
}

// --- reading the page ---------------------------------------------------------------------------

function mount(render) {
  return newPage((container) => {
    const app = vue.createApp({ render });
    app.mount(container);
    return () => app.unmount();
  });
}

// --- tests ------------------------------------------------------------------------------------------

check('useJobs and useJob over SSE render jobs as they progress, complete and fail; unmount closes the streams', async () => {
  const { h } = vue;
  const token = await system.token('alice');
  const options = { baseUrl: system.baseUrl, token, transports: ['sse'] };
  const page = mount(() => [h(JobList, { options }), h(JobCard, { jobId: 'render-1', options })]);

  await waitFor('both composables to be open', () => page.view('list').dataset.status === 'open' && page.view('card').dataset.status === 'open');
  assert.equal(page.view('card').textContent, 'waiting for the job');
  await waitForStreams(system, 'sse', 2);

  await system.publish('bob', 'secret-9', { status: 'started', seq: 1 });
  await system.publish('alice', 'render-1', { status: 'in_progress', progress: 25, phaseTitle: 'Rendering', seq: 1 });
  await waitFor('the card to show 25%', () => page.view('card').textContent === 'render-1: Rendering 25%');
  await system.publish('alice', 'render-1', { status: 'in_progress', progress: 75, phaseTitle: 'Encoding', seq: 2 });
  await waitFor('the card to show 75%', () => page.view('card').textContent === 'render-1: Encoding 75%');
  await system.publish('alice', 'render-1', { status: 'completed', progress: 100, phaseTitle: 'Done', seq: 3 });
  await system.publish('alice', 'upload-2', { status: 'failed', progress: 30, error: { message: 'Disk full', code: 'E_DISK' }, seq: 4 });
  await waitFor('the card to show the completed job', () => page.view('card').dataset.jobStatus === 'completed');
  const failed = await waitFor('the failed upload with its error', () => page.jobs().find((j) => j.key === 'alice/upload-2' && j.status === 'failed'));
  assert.equal(failed.text, '30%Disk full');
  assert.deepEqual(page.jobs().map((j) => j.key).sort(), ['alice/render-1', 'alice/upload-2']); // never bob's

  page.unmount();
  await waitForStreams(system, 'sse', 0);
});

check('useJobs over polling follows changes and stops polling on unmount', async () => {
  const { h } = vue;
  const token = await system.token('alice');
  const route = { route: '/api/v1/users/{userId}/jobs', code: '200' };
  const page = mount(() => h(JobList, { options: { baseUrl: system.baseUrl, token, transports: ['poll'], pollIntervalMs: 100 } }));
  await waitFor('the list to be open', () => page.view('list').dataset.status === 'open');
  await waitFor("alice's jobs", () => page.jobs().length === 2);
  await system.publish('alice', 'upload-2', { status: 'in_progress', progress: 5, attempt: 1, seq: 1 });
  await waitFor('the retried upload to show', () => page.jobs().some((j) => j.key === 'alice/upload-2' && j.status === 'in_progress'));

  page.unmount();
  const polled = await system.metric('progress_bridge_http_requests_total', route);
  await new Promise((r) => setTimeout(r, 600)); // six poll periods
  assert.ok((await system.metric('progress_bridge_http_requests_total', route)) <= polled + 1, 'polling stopped');
});

check('provideProgressClient shares one stream; useJob follows a new id when its ref changes', async () => {
  const { h, ref } = vue;
  const admin = await system.token('ops', { admin: true });
  const jobId = ref('render-1');
  const page = mount(() =>
    h(Shared, { options: { baseUrl: system.baseUrl, token: admin, transports: ['sse'], userId: '*' } }, () => [
      h(JobList),
      h(JobCard, { jobId: jobId.value, options: { userId: 'alice' } }),
    ]),
  );
  await waitFor('the shared list to show both users', () => {
    const keys = page.jobs().map((j) => j.key);
    return keys.includes('alice/render-1') && keys.includes('bob/secret-9');
  });
  assert.equal(page.view('shared').dataset.client, 'yes');
  await waitFor('the card to show render-1', () => page.view('card').textContent === 'render-1: Done 100%');
  await waitForStreams(system, 'sse', 1);

  jobId.value = 'upload-2';
  await waitFor('the card to show upload-2', () => page.view('card').textContent.startsWith('upload-2: '));
  await system.publish('alice', 'upload-2', { status: 'completed', progress: 100, attempt: 1, seq: 2 });
  await waitFor('upload-2 to complete', () => page.view('card').dataset.jobStatus === 'completed');
  assert.equal(await system.metric('progress_bridge_streams_open', { transport: 'sse' }), 1);

  page.unmount();
  await waitForStreams(system, 'sse', 0);
});

check("another user's SSE stream is forbidden: the composable says so and stops", async () => {
  const { h } = vue;
  const token = await system.token('alice');
  const page = mount(() => h(JobList, { options: { baseUrl: system.baseUrl, token, transports: ['sse'], userId: 'bob' } }));
  await waitFor('the list to report forbidden', () => page.view('list').dataset.status === 'forbidden');
  assert.equal(page.view('list').dataset.error, 'forbidden');
  assert.deepEqual(page.jobs(), []);
  page.unmount();
});
