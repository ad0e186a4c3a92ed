// Fakes for the unit tests of web/progress-client.js: WebSocket, EventSource, fetch (the
// bridge's session and job listings) and timers that run only when a test says so.
import assert from 'node:assert/strict';

import { ProgressClient } from '../../web/progress-client.js';

function b64url(obj) {
  return Buffer.from(JSON.stringify(obj)).toString('base64url');
}
export function makeToken(payload) {
  return `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(payload)}.c2ln`;
}
export const ALICE = makeToken({ sub: 'alice', exp: 4102444800 });

// Timers that run only when the test says so.
export class FakeClock {
  constructor() {
    this.now = 0;
    this.timers = new Map();
    this.nextId = 1;
    this.setTimeout = (fn, ms) => {
      const id = this.nextId++;
      this.timers.set(id, { fn, at: this.now + ms, ms });
      return id;
    };
    this.clearTimeout = (id) => this.timers.delete(id);
  }
  // Delays of the pending timers, soonest first.
  pending() {
    return [...this.timers.values()].sort((a, b) => a.at - b.at).map((t) => t.ms);
  }
  // Lets pending work settle (a session check, say), then runs the next timer (advancing the
  // clock to it); returns its delay.
  async next() {
    await flush();
    const [id, t] = [...this.timers.entries()].sort((a, b) => a[1].at - b[1].at)[0] ?? [];
    assert.ok(id !== undefined, 'a timer is pending');
    this.timers.delete(id);
    this.now = t.at;
    t.fn();
    await flush();
    return t.ms;
  }
}

// Lets promise chains (getToken, fetch) settle.
export async function flush() {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}

export function fakeWebSocketClass() {
  const sockets = [];
  class FakeWebSocket {
    constructor(url) {
      this.url = new URL(url);
      this.sent = [];
      this.sentAfterClose = []; // frames a client should never send
      this.closed = false;
      sockets.push(this);
    }
    send(text) {
      (this.closed ? this.sentAfterClose : this.sent).push(JSON.parse(text));
    }
    close() {
      this.closed = true;
    }
    // Test side.
    open() {
      this.onopen?.({});
    }
    receive(msg) {
      this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
    }
    drop(code = 1006) {
      this.onerror?.({});
      this.onclose?.({ code, reason: '' });
    }
  }
  return { FakeWebSocket, sockets };
}

export function fakeEventSourceClass() {
  const sources = [];
  class FakeEventSource {
    constructor(url) {
      this.url = new URL(url);
      this.listeners = new Map();
      this.closed = false;
      sources.push(this);
    }
    addEventListener(name, fn) {
      if (!this.listeners.has(name)) this.listeners.set(name, new Set());
      this.listeners.get(name).add(fn);
    }
    removeEventListener(name, fn) {
      this.listeners.get(name)?.delete(fn);
    }
    close() {
      this.closed = true;
    }
    // Test side.
    open() {
      this.onopen?.({ type: 'open' });
    }
    receive(type, msg) {
      const data = typeof msg === 'string' ? msg : JSON.stringify(msg);
      for (const fn of this.listeners.get(type) ?? []) fn({ type, data });
    }
    fail() {
      for (const fn of this.listeners.get('error') ?? []) fn({ type: 'error' });
    }
  }
  return { FakeEventSource, sources };
}

export const VALID_SESSION = { status: 200, body: { userId: 'alice', admin: false, expiresAt: 4102444800000 } };

// A fake fetch: GET /api/v1/session answers `session()` (by default: alice's token is fine),
// other paths `jobs(url)` when given. Every request is kept in `fetch.requests`.
export function fakeFetch({ session = () => VALID_SESSION, jobs } = {}) {
  const requests = [];
  const fetch = async (url, init) => {
    const u = new URL(url);
    requests.push({ url: u, init });
    const answer = u.pathname === '/api/v1/session' ? session(u, init) : jobs?.(u, init);
    if (!answer) throw new Error(`fetch not expected: ${u.pathname}`);
    return { ok: answer.status >= 200 && answer.status < 300, status: answer.status, json: async () => answer.body };
  };
  fetch.requests = requests;
  fetch.listings = () => requests.filter((r) => r.url.pathname !== '/api/v1/session');
  fetch.sessions = () => requests.filter((r) => r.url.pathname === '/api/v1/session');
  return fetch;
}

export function listing(jobs, nextCursor = null) {
  return { status: 200, body: { jobs, nextCursor } };
}

export function job(jobId, fields = {}) {
  return { userId: 'alice', jobId, status: 'in_progress', progress: 10, updatedAt: 1, ...fields };
}

export function collect(client) {
  const events = [];
  for (const type of ['snapshot', 'resume', 'job', 'removed', 'status', 'error', 'pong']) {
    client.on(type, (e) => events.push({ type, ...e }));
  }
  return events;
}

export function newClient(extra = {}) {
  const clock = new FakeClock();
  const ws = fakeWebSocketClass();
  const es = fakeEventSourceClass();
  const client = new ProgressClient({
    baseUrl: 'http://127.0.0.1:8080',
    token: ALICE,
    WebSocket: ws.FakeWebSocket,
    EventSource: es.FakeEventSource,
    fetch: fakeFetch(),
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    random: () => 0.5,
    backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
    autoConnect: false,
    ...extra,
  });
  const events = collect(client);
  return { client, clock, ws, es, events };
}
