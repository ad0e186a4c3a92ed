// React bindings: useJobs and useJob render jobs live; ProgressProvider shares one client (one
// connection) among all the hooks below it. Safe for server rendering (Next.js and the like):
// nothing touches the network, `window` or `location` during render; clients are created and
// connected in effects and closed when their component unmounts. Types: react.d.ts.
import { createContext, createElement, useContext, useEffect, useMemo, useRef, useState } from 'react';

import { INITIAL_STATUS, createViewClient, optionsKey, selectionOf, watchClient } from './client-view.js';

// Outside a provider: null. Inside one: {client}, null until the provider's effect has run.
const ProgressContext = createContext(null);

// The options of the last commit, for callbacks (getToken) called long after the render.
function useLatest(value) {
  const ref = useRef(value);
  useEffect(() => {
    ref.current = value;
  });
  return ref;
}

function emptyView(single, status = INITIAL_STATUS) {
  return single ? { job: null, status, error: null } : { jobs: [], status, error: null };
}

/**
 * Shares one ProgressClient with every hook below it: give it ProgressClient options (and
 * userId, jobIds, types as the stream's scope) as props, or a `client` of your own, which it
 * neither connects nor closes.
 */
export function ProgressProvider({ client: given = null, children, ...options }) {
  const [owned, setOwned] = useState(null);
  const latest = useLatest(options);
  const key = given ? '' : optionsKey(options);
  useEffect(() => {
    if (given) return undefined;
    const client = createViewClient(() => latest.current, selectionOf(latest.current));
    setOwned(client);
    client.connect();
    return () => client.close();
  }, [given, key]);
  const client = given ?? owned;
  const value = useMemo(() => ({ client }), [client]);
  return createElement(ProgressContext.Provider, { value }, children);
}

/** The client of the nearest ProgressProvider; null outside one and before it connected. */
export function useProgressClient() {
  return useContext(ProgressContext)?.client ?? null;
}

function useView(options, jobId, single) {
  const context = useContext(ProgressContext);
  const given = options.client ?? null;
  const shared = given ?? context?.client ?? null;
  const ownsClient = !given && !context;
  const latest = useLatest(options);
  const idle = single && (jobId === undefined || jobId === null || jobId === '');
  const selection = selectionOf(options, single ? jobId : undefined);
  const selectionKey = JSON.stringify(selection);
  const clientKey = ownsClient ? optionsKey(options) : '';
  const [view, setView] = useState(() => emptyView(single, idle ? 'idle' : INITIAL_STATUS));

  useEffect(() => {
    if (idle) {
      setView(emptyView(single, 'idle'));
      return undefined;
    }
    let client = shared;
    if (!client && !ownsClient) {
      setView(emptyView(single)); // the provider's client comes with its next render
      return undefined;
    }
    if (!client) client = createViewClient(() => latest.current, selection);
    const stop = watchClient(client, selection, setView);
    if (ownsClient) client.connect();
    return () => {
      stop();
      if (ownsClient) client.close();
    };
  }, [shared, ownsClient, clientKey, selectionKey, idle]);

  return view;
}

/**
 * Live jobs: `{jobs, status, error}`. Inside a ProgressProvider it reads the provider's client
 * (userId, jobIds, types then filter what that client receives); elsewhere it opens a
 * connection of its own from the options, with userId, jobIds, types as its scope.
 */
export function useJobs(options = {}) {
  return useView(options ?? {}, undefined, false);
}

/** One job, live: `{job, status, error}`; `job` is null until the bridge knows it. */
export function useJob(jobId, options = {}) {
  return useView(options ?? {}, jobId, true);
}
