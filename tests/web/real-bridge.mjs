// Shared by the tests of the client package against the real system (tests/web/CMakeLists.txt
// passes the paths): a ProgressSystem from the command line, and waits on what the bridge
// reports of its live streams.
//   node --preserve-symlinks FILE --bridge PATH --broker-config DIR [--mosquitto PATH] [--mosquitto-pub PATH]
import { parseArgs } from 'node:util';

import { ProgressSystem, waitFor } from '../support/progress-system.mjs';

export { log, signToken, waitFor } from '../support/progress-system.mjs';

export function systemFromArgs({ users = ['alice', 'bob'] } = {}) {
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

/** node:test's `test`, printing the system's logs when a test fails. */
export function testWithLogs(test, system) {
  return (name, fn) =>
    test(name, async (t) => {
      try {
        await fn(t);
      } catch (e) {
        console.error(await system.logs());
        throw e;
      }
    });
}
