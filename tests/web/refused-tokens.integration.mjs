// ProgressClient against a real Mosquitto and the real progress-bridge with tokens the bridge
// refuses: a wrongly signed one and an expired one, over WebSocket (jsdom's, which like a
// browser hides the HTTP status of a refused upgrade), SSE and polling. The client must stop
// as `unauthorized` with the bridge's code, and stay stopped: the bridge's count of refused
// tokens must not grow afterwards. With getToken, an expired token is replaced and the
// client opens.
//   node --preserve-symlinks refused-tokens.integration.mjs --bridge PATH --broker-config DIR [--mosquitto PATH]
import assert from 'node:assert/strict';

import { realBridgeSuite, refusals, signToken, waitFor } from './real-bridge.mjs';

// Fast retries: a client that did not stop would be refused again many times over QUIET_MS.
const BACKOFF = { initialMs: 50, maxMs: 200 };
const QUIET_MS = 1500;
let ProgressClient;

const { system, check, closeAfterTest } = realBridgeSuite({
  users: ['alice'],
  async ready() {
    ({ ProgressClient } = await import('progress-bridge-client'));
    await system.publish('alice', 'report-1', { status: 'in_progress', progress: 50, seq: 1 });
  },
});

function follow(options) {
  const client = closeAfterTest(new ProgressClient({ baseUrl: system.baseUrl, backoff: BACKOFF, ...options }));
  const errors = [];
  const states = [];
  client.on('error', (e) => errors.push(e));
  client.on('status', (s) => states.push(s.state));
  return { client, errors, states };
}

const expiredToken = () => {
  const now = Math.floor(Date.now() / 1000);
  return signToken({ sub: 'alice', iat: now - 7200, exp: now - 3600 }, system.secret);
};
const forgedToken = () => system.token('alice', { secret: 'not-the-bridge-secret-but-32-bytes-long' });

const CASES = [
  { what: 'a wrongly signed token', code: 'token_bad_signature', reason: 'bad_signature', token: forgedToken },
  { what: 'an expired token', code: 'token_expired', reason: 'expired', token: expiredToken },
];

for (const transports of [['websocket'], ['sse'], ['poll'], ['websocket', 'sse', 'poll']]) {
  for (const { what, code, reason, token } of CASES) {
    check(`${transports.join(', ')}: ${what} stops the client with ${code}`, async () => {
      const counted = await refusals(system, reason);
      const { client, errors, states } = follow({ token: await token(), transports });
      await waitFor('the client to stop as unauthorized', () => client.state === 'unauthorized', { ms: 15000 });
      const error = errors.at(-1);
      assert.equal(error.code, code);
      assert.equal(error.status, 401);
      assert.ok(error.message.length > 0);
      assert.ok(!states.includes('fallback'), `no fallback to another transport: ${states.join(' ')}`);
      const refused = await refusals(system, reason);
      assert.ok(refused > counted, 'the bridge refused the token');

      await new Promise((r) => setTimeout(r, QUIET_MS));
      assert.equal(client.state, 'unauthorized');
      assert.equal(await refusals(system, reason), refused, 'no request after the refusal');
      assert.equal(client.jobs.size, 0);
    });
  }

  check(`${transports.join(', ')}: an expired token is replaced through getToken`, async () => {
    const tokens = [expiredToken(), await system.token('alice')];
    let calls = 0;
    const { client, errors, states } = follow({ transports, getToken: () => tokens[Math.min(calls++, 1)] });
    await waitFor("alice's job through a fresh token", () => client.jobs.has('alice/report-1'), { ms: 15000 });
    assert.equal(client.state, 'open');
    assert.ok(errors.some((e) => e.code === 'token_expired'));
    assert.ok(!states.includes('unauthorized'));
    assert.ok(calls >= 2);
  });
}
