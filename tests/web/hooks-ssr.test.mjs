// The React hooks and the Vue composables rendered on a server (react-dom/server, Vue's
// server renderer), as Next.js or Nuxt do: no browser global is read during render, no client
// is created and nothing connects; the markup says `connecting` (or `idle` for useJob without
// an id), the same as the browser's first render, so hydration matches.
//   node --preserve-symlinks --test tests/web/hooks-ssr.test.mjs   (needs npm ci --prefix tests/web)
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { createElement as h } from 'react';
import { renderToString } from 'react-dom/server';
import { createSSRApp, defineComponent, h as vh } from 'vue';
import { renderToString as renderVueToString } from 'vue/server-renderer';

import * as react from 'progress-bridge-client/react';
import * as vue from 'progress-bridge-client/vue';

const BROWSER_GLOBALS = ['window', 'document', 'location', 'navigator', 'WebSocket', 'EventSource', 'localStorage', 'sessionStorage'];

// Runs `render` with getters on the browser globals that record every read.
async function recordingGlobalReads(render) {
  const reads = [];
  const saved = new Map();
  for (const name of BROWSER_GLOBALS) {
    saved.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() {
        reads.push(name);
        return undefined;
      },
    });
  }
  try {
    return { result: await render(), reads };
  } finally {
    for (const [name, descriptor] of saved) {
      if (descriptor) Object.defineProperty(globalThis, name, descriptor);
      else delete globalThis[name];
    }
  }
}

// Transports that record any attempt to connect.
function recordingTransports() {
  const attempts = [];
  class Recorder {
    constructor(url) {
      attempts.push(String(url));
    }
  }
  const fetch = async (url) => {
    attempts.push(String(url));
    throw new Error('no network on the server');
  };
  return { attempts, options: { baseUrl: 'http://127.0.0.1:9', token: 'a.b.c', WebSocket: Recorder, EventSource: Recorder, fetch } };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

test('React: hooks render on the server without reading browser globals or connecting', async () => {
  const { attempts, options } = recordingTransports();
  function List({ options: o }) {
    const { jobs, status, error } = react.useJobs(o);
    return h('p', { 'data-status': status }, `${jobs.length} jobs, ${status}, ${error ? error.code : 'no error'}`);
  }
  function Card({ jobId }) {
    const { job, status } = react.useJob(jobId);
    return h('p', { 'data-status': status }, job ? job.status : `no job (${status})`);
  }
  const { result: html, reads } = await recordingGlobalReads(() =>
    renderToString(
      h('main', null, [
        h(List, { key: 'own', options }), // would connect if created during render
        h(List, { key: 'no-options' }), // would throw (no baseUrl outside a browser) if created
        h(react.ProgressProvider, { key: 'provider', ...options }, h(List, { options: { types: ['import'] } }), h(Card, { jobId: 'j1' }), h(Card, { jobId: null })),
      ]),
    ),
  );
  assert.deepEqual(reads, []);
  assert.equal((html.match(/0 jobs, connecting, no error/g) ?? []).length, 3);
  assert.match(html, /no job \(connecting\)/);
  assert.match(html, /no job \(idle\)/);
  await settle();
  assert.deepEqual(attempts, []);
});

test('Vue: composables render on the server without reading browser globals or connecting', async () => {
  const { attempts, options } = recordingTransports();
  const List = defineComponent({
    props: { options: Object },
    setup(props) {
      const { jobs, status, error } = vue.useJobs(() => props.options ?? {});
      return () => vh('p', `${jobs.value.length} jobs, ${status.value}, ${error.value ? error.value.code : 'no error'}`);
    },
  });
  const Card = defineComponent({
    props: { jobId: String },
    setup(props) {
      const { job, status } = vue.useJob(() => props.jobId);
      return () => vh('p', job.value ? job.value.status : `no job (${status.value})`);
    },
  });
  const Shared = defineComponent({
    setup(_, { slots }) {
      const client = vue.provideProgressClient(options);
      return () => vh('section', { 'data-client': client.value ? 'yes' : 'no' }, slots.default?.());
    },
  });
  const app = createSSRApp({
    render: () =>
      vh('main', [
        vh(List, { options }),
        vh(List),
        vh(Shared, null, () => [vh(List, { options: { types: ['import'] } }), vh(Card, { jobId: 'j1' }), vh(Card)]),
      ]),
  });
  const { result: html, reads } = await recordingGlobalReads(() => renderVueToString(app));
  assert.deepEqual(reads, []);
  assert.equal((html.match(/0 jobs, connecting, no error/g) ?? []).length, 3);
  assert.match(html, /data-client="no"/);
  assert.match(html, /no job \(connecting\)/);
  assert.match(html, /no job \(idle\)/);
  await settle();
  assert.deepEqual(attempts, []);
});
