// Publishes the progress of jobs on behalf of one worker: throttling, ordering
// and delivery bookkeeping over a transport (MQTT by default). Mirrors
// progress::publisher of the C++ SDK.

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { JobControl, parseControl } from './control.js';
import { PublishError, refuse } from './errors.js';
import { Job } from './job.js';
import { MqttTransport } from './mqtt-transport.js';
import { controlTopic, isValidId, jobTopic } from './topic.js';
import { validateState } from './validation.js';

export const DEFAULTS = Object.freeze({
  url: 'mqtt://127.0.0.1:1883',
  username: '',
  password: '',
  workerId: 'worker',
  clientId: '', // empty: "<workerId>-<random>"
  throttleMs: 100,
  maxBuffered: 10000,
  connectTimeoutMs: 10000,
  onError: null,
});

// Errors waiting for the onError callback; newer ones beyond this reach only their deliveries.
export const MAX_QUEUED_ERRORS = 256;

export const systemClock = Object.freeze({
  now: () => performance.now(),
  unixMs: () => Date.now(),
});

const OK = Object.freeze({ ok: true });

function checkOptions(options) {
  const id = (value, name) => {
    if (!isValidId(value)) throw refuse('invalid_value', name, `${name} must match [A-Za-z0-9_.-]{1,128} and not be only dots`);
  };
  id(options.workerId, 'workerId');
  if (!(options.throttleMs >= 0)) throw refuse('invalid_value', 'throttleMs', 'throttleMs must not be negative');
  if (!(Number.isInteger(options.maxBuffered) && options.maxBuffered >= 1)) {
    throw refuse('invalid_value', 'maxBuffered', 'maxBuffered must be at least 1');
  }
  if (!(options.connectTimeoutMs > 0)) throw refuse('invalid_value', 'connectTimeoutMs', 'connectTimeoutMs must be positive');
}

export class Publisher {
  #options;
  #transport;
  #clock;
  #scheduled = new Set(); // slots with an update waiting for its interval; bounded by the live jobs
  #timer = null;
  #controls = new Map(); // control topic -> Set<JobControl>; bounded by the live job handles
  #inFlight = 0;
  #queuedErrors = 0;
  #closed = false;
  #closing = null;

  /**
   * Connects (over MQTT v5 unless `seams.transport` is given) and resolves to a
   * Publisher; rejects with PublishError when the broker cannot be reached or
   * refuses the login, throws ValidationError for a bad option.
   */
  static async connect(options = {}, seams = {}) {
    const merged = { ...DEFAULTS, ...options };
    checkOptions(merged);
    if (!merged.clientId) merged.clientId = `${merged.workerId}-${randomBytes(4).toString('hex')}`;
    const transport = seams.transport ?? new MqttTransport(merged);
    const publisher = new Publisher(Object.freeze(merged), transport, seams.clock ?? systemClock);
    await transport.connect();
    return publisher;
  }

  /** @internal Use Publisher.connect(). */
  constructor(options, transport, clock) {
    this.#options = options;
    this.#transport = transport;
    this.#clock = clock;
    transport.onMessage?.((topic, payload) => this.#routeControl(topic, payload));
  }

  get options() {
    return this.#options;
  }

  get clock() {
    return this.#clock;
  }

  /** A handle on job `jobId` of user `userId`; throws ValidationError on bad ids or options. */
  job(userId, jobId, { type, attempt = 1, firstSeq = 1, stallAfterMs, followControl = true, onCancel = null } = {}) {
    for (const [value, name] of [[userId, 'userId'], [jobId, 'jobId']]) {
      if (!isValidId(value)) throw refuse('invalid_value', name, `${name} must match [A-Za-z0-9_.-]{1,128} and not be only dots`);
    }
    const initial = { status: 'queued', attempt, seq: firstSeq };
    if (type !== undefined) initial.type = type;
    if (stallAfterMs !== undefined) initial.stallAfterMs = stallAfterMs;
    for (const [name, value] of [['attempt', attempt], ['firstSeq', firstSeq], ['stallAfterMs', stallAfterMs]]) {
      if (value !== undefined && !Number.isSafeInteger(value)) throw refuse('wrong_type', name, `${name} must be an integer`);
    }
    const problem = validateState(initial);
    if (problem) throw refuse(problem.reason, problem.field, problem.message);
    return new Job(this, { userId, jobId }, { type, attempt, firstSeq, stallAfterMs, followControl, onCancel });
  }

  /** Sends every update still waiting for its throttle interval. */
  flush() {
    for (const slot of [...this.#scheduled]) this.#release(slot);
    this.#arm();
  }

  /** Sends the waiting updates whose interval has passed (the timer does this on its own). */
  flushDue() {
    const now = this.#clock.now();
    for (const slot of [...this.#scheduled]) {
      if (now - slot.lastSent >= this.#options.throttleMs) this.#release(slot);
    }
    this.#arm();
  }

  /**
   * Flushes, publishes the offline status and disconnects cleanly. Later updates
   * resolve with a `closed` PublishError. Idempotent.
   */
  close() {
    this.#closing ??= (async () => {
      this.flush();
      this.#closed = true;
      clearTimeout(this.#timer);
      this.#timer = null;
      await this.#transport.disconnect();
    })();
    return this.#closing;
  }

  /** @internal */
  openSlot(key) {
    return { topic: jobTopic(key.userId, key.jobId), pending: null, lastSent: null };
  }

  /** @internal A JobControl for the job's control topic. */
  openControl(key) {
    return new JobControl(controlTopic(key.userId, key.jobId));
  }

  /** @internal Subscribes the control topic (once for all handles of a job) and routes its requests to `control`. */
  follow(control) {
    let followers = this.#controls.get(control.topic);
    if (!followers) this.#controls.set(control.topic, (followers = new Set()));
    followers.add(control);
    if (followers.size > 1 || !this.#transport.subscribe) return;
    this.#transport.subscribe(control.topic, (error) => {
      if (error) this.#report(control.topic, error);
    });
  }

  /** @internal */
  unfollow(control) {
    const followers = this.#controls.get(control.topic);
    if (!followers?.delete(control) || followers.size > 0) return;
    this.#controls.delete(control.topic);
    this.#transport.unsubscribe?.(control.topic);
  }

  // A message on a control topic: a cancel request goes to every handle that follows
  // it; malformed messages are only reported; other actions are for newer workers.
  #routeControl(topic, payload) {
    const followers = this.#controls.get(topic);
    if (!followers || payload.length === 0) return; // empty: cleared when the job ended
    const parsed = parseControl(payload);
    if (!parsed.ok) {
      const { reason, message } = parsed.error;
      this.#report(topic, new PublishError('invalid_control', `ignored a control message (${reason}): ${message}`));
      return;
    }
    if (parsed.message.action !== 'cancel') return;
    const { requestId, requestedBy, timestamp } = parsed.message;
    for (const control of [...followers]) control.receive({ requestId, requestedBy, timestamp });
  }

  /** @internal Queues `payload` as the newest state of the slot's job. */
  submit(slot, payload, urgent) {
    if (this.#closed) return Promise.resolve({ ok: false, error: new PublishError('closed', 'the publisher is closed') });
    if (!slot.pending) {
      let settle;
      const outcome = new Promise((resolve) => (settle = resolve));
      slot.pending = { payload, settle, outcome };
    }
    slot.pending.payload = payload;
    const { outcome } = slot.pending;
    const now = this.#clock.now();
    if (urgent || slot.lastSent === null || now - slot.lastSent >= this.#options.throttleMs) {
      this.#release(slot);
    } else if (!this.#scheduled.has(slot)) {
      this.#scheduled.add(slot);
      this.#arm();
    }
    return outcome;
  }

  #release(slot) {
    this.#scheduled.delete(slot);
    const message = slot.pending;
    if (!message) return;
    slot.pending = null;
    slot.lastSent = this.#clock.now();
    if (this.#inFlight >= this.#options.maxBuffered) {
      const error = new PublishError('buffer_full', `offline buffer full (${this.#options.maxBuffered} messages await acknowledgement)`);
      this.#report(slot.topic, error);
      message.settle({ ok: false, error });
      return;
    }
    this.#inFlight++;
    let settled = false;
    this.#transport.publish(slot.topic, message.payload, { qos: 1, retain: true }, (error) => {
      if (settled) return; // a transport that completes twice: the first outcome stands
      settled = true;
      this.#inFlight--;
      if (error) this.#report(slot.topic, error);
      message.settle(error ? { ok: false, error } : OK);
    });
  }

  // One timer for all waiting updates, set for the one that falls due first.
  #arm() {
    clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#scheduled.size === 0 || this.#closed) return;
    let due = Infinity;
    for (const slot of this.#scheduled) due = Math.min(due, slot.lastSent + this.#options.throttleMs);
    const wait = Math.min(Math.max(due - this.#clock.now(), 1), Math.max(this.#options.throttleMs, 1));
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flushDue();
    }, wait);
  }

  #report(topic, error) {
    const onError = this.#options.onError;
    if (!onError || this.#queuedErrors >= MAX_QUEUED_ERRORS) return;
    this.#queuedErrors++;
    // Later, never inside the transport's callback; a throwing callback must not stop reporting.
    setImmediate(() => {
      this.#queuedErrors--;
      try {
        onError(topic, error);
      } catch {
        // ignored
      }
    });
  }
}

/** Publisher.connect(options) */
export function connect(options, seams) {
  return Publisher.connect(options, seams);
}
