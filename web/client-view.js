// What the React hooks and the Vue composables share: which client a view reads, which jobs it
// selects, and a watcher that turns a ProgressClient's events into plain view objects
// ({jobs|job, status, error}). No framework is imported here. Their types: view-types.d.ts.
import { ProgressClient, jobKey } from './progress-client.js';

// Options of a view that select jobs (and, for a client of its own, become its scope); the
// rest are ProgressClient options.
const SELECTION_KEYS = ['userId', 'jobIds', 'types'];

/** The status a view reports before its client exists (server rendering, first render). */
export const INITIAL_STATUS = 'connecting';

/**
 * The selection of a view: `jobId` (a single job) and the options' userId, jobIds, types.
 * Arrays are copied so that later edits of the caller's arrays change nothing.
 */
export function selectionOf(options = {}, jobId) {
  const selection = {};
  if (typeof options.userId === 'string') selection.userId = options.userId;
  if (Array.isArray(options.jobIds)) selection.jobIds = [...options.jobIds];
  if (Array.isArray(options.types)) selection.types = [...options.types];
  if (jobId !== undefined) selection.jobId = jobId;
  return selection;
}

/**
 * A string that changes when a client built from these options would differ: every option
 * but functions (getToken, injected constructors) and `client`. Hooks recreate their own
 * client when it changes, never because a callback was re-created on a render.
 */
export function optionsKey(options = {}) {
  const plain = {};
  for (const key of Object.keys(options).sort()) {
    const value = options[key];
    if (key !== 'client' && typeof value !== 'function' && value !== undefined) plain[key] = value;
  }
  return JSON.stringify(plain);
}

/**
 * A client for one view (or one provider), not yet connected. `currentOptions()` is read
 * again on every getToken() call, so the latest callback a component passed is the one used.
 * The selection becomes the client's scope: the bridge then streams only those jobs.
 */
export function createViewClient(currentOptions, selection = {}) {
  const options = currentOptions() ?? {};
  const clientOptions = { ...options, autoConnect: false };
  for (const key of ['client', ...SELECTION_KEYS]) delete clientOptions[key];
  if (typeof options.getToken === 'function') {
    clientOptions.getToken = () => (currentOptions()?.getToken ?? options.getToken)();
  }
  const client = new ProgressClient(clientOptions);
  const scope = {};
  if (selection.userId !== undefined) scope.userId = selection.userId;
  if (selection.jobId !== undefined) scope.jobIds = [selection.jobId];
  else if (selection.jobIds) scope.jobIds = selection.jobIds;
  if (selection.types) scope.types = selection.types;
  if (Object.keys(scope).length > 0) client.subscribe(scope);
  return client;
}

function selects(selection, job) {
  if (selection.userId !== undefined && selection.userId !== '*' && job.userId !== selection.userId) return false;
  if (selection.jobId !== undefined && job.jobId !== selection.jobId) return false;
  if (selection.jobIds && !selection.jobIds.includes(job.jobId)) return false;
  if (selection.types && !selection.types.includes(job.type)) return false;
  return true;
}

function currentJob(client, selection) {
  if (selection.userId !== undefined && selection.userId !== '*') {
    return client.jobs.get(jobKey(selection.userId, selection.jobId)) ?? null;
  }
  for (const job of client.jobs.values()) if (selects(selection, job)) return job;
  return null;
}

/**
 * Follows `client` for one view: calls `onChange(view)` with `{jobs, status, error}`, or
 * `{job, status, error}` when the selection names a `jobId`, once now and after every change
 * that concerns the selection, at most once per microtask however many events arrive.
 * `error` is the last `error` event since the stream last opened. Returns a function that
 * stops following (it does not close the client).
 */
export function watchClient(client, selection, onChange) {
  const single = selection.jobId !== undefined;
  let error = null;
  let scheduled = false;
  let stopped = false;
  const publish = () => {
    scheduled = false;
    if (stopped) return;
    const view = { status: client.state, error };
    if (single) view.job = currentJob(client, selection);
    else view.jobs = [...client.jobs.values()].filter((job) => selects(selection, job));
    onChange(view);
  };
  const schedule = () => {
    if (scheduled || stopped) return;
    scheduled = true;
    queueMicrotask(publish);
  };
  const offs = [
    client.on('snapshot', schedule),
    client.on('job', ({ job, previous }) => {
      if (selects(selection, job) || (previous && selects(selection, previous))) schedule();
    }),
    client.on('removed', ({ job }) => {
      if (selects(selection, job)) schedule();
    }),
    client.on('status', ({ state }) => {
      if (state === 'open') error = null;
      schedule();
    }),
    client.on('error', ({ code, message }) => {
      error = { code, message };
      schedule();
    }),
  ];
  schedule();
  return () => {
    stopped = true;
    for (const off of offs) off();
  };
}
