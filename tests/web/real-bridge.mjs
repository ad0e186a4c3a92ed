// Shared by the tests of the client package against the real system (tests/web/CMakeLists.txt
// passes the paths): the suite's set-up (a ProgressSystem from the command line, a browser's
// globals with the bridge's origin), pages that framework components render into, and what
// the bridge reports of live streams and refused tokens.
//   node --preserve-symlinks FILE --bridge PATH --broker-config DIR [--mosquitto PATH] [--mosquitto-pub PATH]
import { after, afterEach, before, test } from 'node:test';
import { parseArgs } from 'node:util';

import { ProgressSystem, waitFor } from '../support/progress-system.mjs';
import { installBrowserGlobals } from './browser-globals.mjs';

export { log, signToken, waitFor } from '../support/progress-system.mjs';

function systemFromArgs(users) {
  const { values: opt } = parseArgs({
    options: {
      bridge: { type: 'string' },
      'broker-config': { type: 'string' },
      mosquitto: { type: 'string', default: '/usr/sbin/mosquitto' },
      'mosquitto-pub': { type: 'string', default: 'mosquitto_pub' },
      'keep-dir': { type: 'boolean', default: false },
    },
  });
  if (!opt.bridge || !opt['broker-config']) {
    throw new Error('usage: --bridge PATH --broker-config DIR [--mosquitto PATH] [--mosquitto-pub PATH]');
  }
  return new ProgressSystem({
    bridge: opt.bridge,
    brokerConfig: opt['broker-config'],
    mosquitto: opt.mosquitto,
    mosquittoPub: opt['mosquitto-pub'],
    users,
    keepDir: opt['keep-dir'],
  });
}

/**
 * Registers the suite with node:test: before the tests the real system starts and a
 * browser's globals are installed with its origin, then `ready()` runs (import React or Vue
 * there: they look for `document` once); after each test what it left open is closed; after
 * all the system stops. Returns {system, check, newPage, closeAfterTest}: `check` is node:test's
 * `test` printing the system's logs when a test fails.
 */
export function realBridgeSuite({ users = ['alice', 'bob'], ready } = {}) {
  const system = systemFromArgs(users);
  const leftOpen = new Set();
  before(async () => {
    await system.start();
    installBrowserGlobals(system.baseUrl);
    await ready?.();
  });
  // A test that failed half-way would skew the next test's counts of streams and refusals.
  afterEach(() => {
    for (const close of leftOpen) close();
    leftOpen.clear();
  });
  after(() => system.stop());

  const check = (name, fn) =>
    test(name, async (t) => {
      try {
        await fn(t);
      } catch (e) {
        console.error(await system.logs());
        throw e;
      }
    });

  /** Closes `thing` (with `close()`) after the test unless the test did. */
  const closeAfterTest = (thing) => {
    const close = () => thing.close();
    leftOpen.add(close);
    return thing;
  };

  /**
   * A page: a fresh container that `attach(container)` renders a component tree into, and
   * the function `attach` returns to unmount it. Reads `[data-view]` elements and the
   * `article[data-job]` the components render for jobs.
   */
  const newPage = (attach) => {
    const container = document.createElement('div');
    document.body.append(container);
    const detach = attach(container);
    const result = {
      container,
      view: (name) => container.querySelector(`[data-view="${name}"]`),
      jobs: () =>
        [...container.querySelectorAll('article[data-job]')].map((el) => ({ key: el.dataset.job, status: el.dataset.status, text: el.textContent })),
      unmount() {
        leftOpen.delete(close);
        detach();
        container.remove();
      },
    };
    const close = () => result.unmount();
    leftOpen.add(close);
    return result;
  };

  return { system, check, newPage, closeAfterTest };
}

/** Waits until the bridge counts exactly `count` open live streams of `transport`. */
export function waitForStreams(system, transport, count, ms = 10000) {
  return waitFor(
    `${count} open ${transport} stream(s) at the bridge`,
    async () => (await system.metric('progress_bridge_streams_open', { transport })) === count,
    { ms, everyMs: 100 },
  );
}

/** Times the bridge refused a token for `reason` (bad_signature, expired, ...). */
export function refusals(system, reason) {
  return system.metric('progress_bridge_auth_failures_total', { reason });
}
