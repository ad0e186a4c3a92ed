// Vue 3 composables with the same names and meaning as the React hooks: useJobs and useJob
// render jobs live; provideProgressClient shares one client (one connection) with every
// component below. Safe for server rendering (Nuxt and the like): clients are created and
// connected when the component is mounted, never during setup, and closed when its scope
// ends. Arguments may be plain values, refs or getters. Types: vue.d.ts.
import { getCurrentInstance, inject, onMounted, onScopeDispose, provide, ref, shallowRef, toValue, watch } from 'vue';

import { INITIAL_STATUS, createViewClient, optionsKey, selectionOf, watchClient } from './client-view.js';

const CLIENT_KEY = Symbol('progress-bridge-client');

// Runs `start` once mounted (never while rendering on a server; at once outside a component,
// in an effect scope or a store) and again whenever one of `sources` changes. `start` returns
// its cleanup, which runs before the next start and when the scope ends.
function startWhenMounted(sources, start) {
  let active = false;
  let cleanup = null;
  const restart = () => {
    cleanup?.();
    cleanup = active ? start() : null;
  };
  watch(sources, restart);
  if (getCurrentInstance()) {
    onMounted(() => {
      active = true;
      restart();
    });
  } else {
    active = true;
    restart();
  }
  onScopeDispose(() => {
    active = false;
    cleanup?.();
    cleanup = null;
  });
}

/**
 * Shares one ProgressClient with the components below: ProgressClient options (and userId,
 * jobIds, types as the stream's scope), or `{client}` of your own, which it neither
 * connects nor closes. Returns a ref to the client (null until mounted).
 */
export function provideProgressClient(options = {}) {
  const client = shallowRef(null);
  provide(CLIENT_KEY, client);
  const current = () => toValue(options) ?? {};
  startWhenMounted([() => current().client ?? optionsKey(current())], () => {
    const given = current().client;
    if (given) {
      client.value = given;
      return null;
    }
    const own = createViewClient(current, selectionOf(current()));
    client.value = own;
    own.connect();
    return () => own.close();
  });
  return client;
}

/** A ref to the client of the nearest provideProgressClient (null outside one or before it mounted). */
export function useProgressClient() {
  return inject(CLIENT_KEY, () => shallowRef(null), true);
}

function useView(optionsSource, jobIdSource, single) {
  const provided = getCurrentInstance() ? inject(CLIENT_KEY, null) : null;
  const options = () => toValue(optionsSource) ?? {};
  const jobId = () => (single ? toValue(jobIdSource) : undefined);
  const idle = () => single && (jobId() === undefined || jobId() === null || jobId() === '');
  const data = shallowRef(single ? null : []);
  const status = ref(idle() ? 'idle' : INITIAL_STATUS);
  const error = shallowRef(null);
  const given = () => options().client ?? null;
  const shared = () => given() ?? provided?.value ?? null;
  const ownsClient = () => !given() && !provided;
  const show = (view) => {
    data.value = single ? view.job : view.jobs;
    status.value = view.status;
    error.value = view.error;
  };
  const showEmpty = (state) => show({ job: null, jobs: [], status: state, error: null });

  startWhenMounted(
    [shared, ownsClient, () => (ownsClient() ? optionsKey(options()) : ''), () => JSON.stringify(selectionOf(options(), jobId())), idle],
    () => {
      if (idle()) {
        showEmpty('idle');
        return null;
      }
      const selection = selectionOf(options(), jobId());
      const own = ownsClient();
      const client = shared() ?? (own ? createViewClient(options, selection) : null);
      if (!client) {
        showEmpty(INITIAL_STATUS); // the provider's client comes once it is mounted
        return null;
      }
      const stop = watchClient(client, selection, show);
      if (own) client.connect();
      return () => {
        stop();
        if (own) client.close();
      };
    },
  );
  return { data, status, error };
}

/**
 * Live jobs: `{jobs, status, error}` as refs. Below provideProgressClient it reads the shared
 * client (userId, jobIds, types then filter what that client receives); elsewhere it opens a
 * connection of its own, with userId, jobIds, types as its scope.
 */
export function useJobs(options = {}) {
  const { data, status, error } = useView(options, undefined, false);
  return { jobs: data, status, error };
}

/** One job, live: `{job, status, error}` as refs; `job` is null until the bridge knows it. */
export function useJob(jobId, options = {}) {
  const { data, status, error } = useView(options, jobId, true);
  return { job: data, status, error };
}
