// A handle on one job. Every call publishes the job's FULL current state
// (protocol v1): retained, QoS 1, with seq, attempt, workerId and timestamp.
// Mirrors progress::job of the C++ SDK (publisher-sdk/include/progress/publisher/job.hpp).

import { refuse } from './errors.js';
import { isWellFormed } from './json-payload.js';
import { isTerminal, parseUpdate, validateState } from './validation.js';

const TEXT_FIELDS = ['phaseTitle', 'message', 'detail', 'type', 'workerId', 'userId', 'jobId'];
const NUMBER_FIELDS = ['progress', 'phase', 'totalPhases', 'current', 'total', 'etaMs', 'stallAfterMs', 'seq', 'attempt', 'timestamp'];

// A phase change, a new status or a new attempt is news a viewer should see at
// once; only repeated updates inside one phase are throttled.
function isUrgent(previous, next, first) {
  return (
    first ||
    isTerminal(next.status) ||
    next.status !== previous.status ||
    next.phase !== previous.phase ||
    next.totalPhases !== previous.totalPhases ||
    next.attempt !== previous.attempt
  );
}

// What JSON.stringify would silently turn into null or garbage, refused up front
// with the reason the C++ SDK gives for it.
function checkEncodable(state) {
  for (const name of NUMBER_FIELDS) {
    const value = state[name];
    if (value === undefined) continue;
    if (typeof value !== 'number') throw refuse('wrong_type', name, `${name} must be a number`);
    if (!Number.isFinite(value)) {
      if (name === 'progress') throw refuse('out_of_range', name, 'progress must be a number from 0 to 100');
      throw refuse('wrong_type', name, `${name} must be an integer`);
    }
  }
  for (const name of TEXT_FIELDS) {
    const value = state[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw refuse('wrong_type', name, `${name} must be a string`);
    if (!isWellFormed(value)) throw refuse('invalid_utf8', name, `${name} is not valid UTF-8`);
  }
}

// Sorted keys, as the C++ SDK (nlohmann::json) writes them.
function serialize(state) {
  const ordered = {};
  for (const name of Object.keys(state).sort()) ordered[name] = state[name];
  try {
    return JSON.stringify(ordered);
  } catch (e) {
    throw refuse('wrong_type', 'details', `details cannot be written as JSON: ${e.message}`);
  }
}

function withoutUndefined(state) {
  for (const name of Object.keys(state)) if (state[name] === undefined) delete state[name];
  return state;
}

export class Job {
  #core;
  #slot;
  #key;
  #state;
  #nextSeq;
  #sentAny = false;
  #removed = false;
  #control;
  #followControl;
  #following = false;

  /** @internal Made by Publisher#job. */
  constructor(core, key, options) {
    this.#core = core;
    this.#key = Object.freeze({ ...key });
    this.#nextSeq = options.firstSeq;
    this.#state = withoutUndefined({
      status: 'queued',
      type: options.type,
      attempt: options.attempt,
      stallAfterMs: options.stallAfterMs,
    });
    this.#slot = core.openSlot(key);
    this.#control = core.openControl(key);
    this.#followControl = options.followControl;
    if (options.onCancel) this.#control.setHandler(options.onCancel);
    this.#follow(this.#followControl);
  }

  /**
   * Cancellation (docs/protocol.md, "Control topic"): while the job is not finished
   * the handle follows users/<userId>/jobs/<jobId>/control, so a user's request to
   * cancel reaches it, also one made before the handle existed (it is retained).
   * `handler({requestId, requestedBy, timestamp})` is called once per request id, from
   * the MQTT client's message event: it must not block. Requests that came before it
   * was set are handed to it at once. The SDK does not stop the job: call cancel().
   */
  onCancel(handler) {
    this.#control.setHandler(handler);
  }

  /** True once a cancellation request arrived. */
  get cancelRequested() {
    return this.#control.requested;
  }

  /** The newest cancellation request, or null. */
  get lastCancelRequest() {
    return this.#control.last ? { ...this.#control.last } : null;
  }

  /** Stops following the control topic (the job's handle is no longer used). Terminal states and remove() do it too. */
  release() {
    this.#follow(false);
  }

  #follow(follow) {
    if (follow === this.#following) return;
    if (follow) this.#core.follow(this.#control);
    else this.#core.unfollow(this.#control);
    this.#following = follow;
  }

  /** {userId, jobId} */
  get key() {
    return this.#key;
  }

  /** The state last accepted by this handle (what the broker will retain), in the wire format. */
  get state() {
    return structuredClone(this.#state);
  }

  start(message) {
    const next = this.#draft();
    next.status = 'started';
    if (message !== undefined) next.message = message;
    return this.#send(next);
  }

  /** Enters phase `index` of `total` (1-based); sent at once. */
  phase(index, total, title, description) {
    const next = this.#inProgress();
    next.phase = index;
    next.totalPhases = total;
    next.phaseTitle = title;
    // The previous phase's message, detail and counter do not describe this one.
    next.message = description;
    delete next.detail;
    delete next.current;
    delete next.total;
    return this.#send(next);
  }

  /** Overall percent 0..100; message and detail stay as they were when not given. */
  progress(percent, message, detail) {
    const next = this.#inProgress();
    next.progress = percent;
    if (message !== undefined) next.message = message;
    if (detail !== undefined) next.detail = detail;
    return this.#send(next);
  }

  /** Counted work; also sets progress to current/total when total > 0. */
  counter(current, total, message) {
    const next = this.#inProgress();
    next.current = current;
    next.total = total;
    if (total > 0 && current >= 0) next.progress = Math.min(100, (100 * current) / total);
    if (message !== undefined) next.message = message;
    return this.#send(next);
  }

  /** Estimated milliseconds left; null clears it. */
  eta(remainingMs) {
    const next = this.#draft();
    next.etaMs = remainingMs ?? undefined;
    return this.#send(next);
  }

  complete(details = {}) {
    const next = this.#draft();
    next.status = 'completed';
    next.progress = 100;
    delete next.etaMs;
    // An empty object adds nothing; anything but an object is refused by validation.
    if (details !== null && details !== undefined && !(typeof details === 'object' && !Array.isArray(details) && Object.keys(details).length === 0)) {
      next.details = details;
    }
    return this.#send(next);
  }

  /** fail(message, code?) or fail({message, code}) */
  fail(error, code) {
    const next = this.#draft();
    next.status = 'failed';
    delete next.etaMs;
    next.error = typeof error === 'object' && error !== null ? withoutUndefined({ message: error.message, code: error.code }) : withoutUndefined({ message: error, code });
    return this.#send(next);
  }

  cancel(message) {
    const next = this.#draft();
    next.status = 'cancelled';
    delete next.etaMs;
    if (message !== undefined) next.message = message;
    return this.#send(next);
  }

  /** Clears the retained state (an empty retained payload); the handle is finished afterwards. */
  remove() {
    if (this.#removed) throw refuse('invalid_value', '', `job ${this.#key.jobId} was already removed`);
    this.#removed = true;
    this.#follow(false);
    return this.#core.submit(this.#slot, '', true);
  }

  /**
   * Publishes `next` (wire format) as the job's whole state. userId and jobId must match
   * the handle or be absent; seq, attempt, workerId, timestamp and stallAfterMs are filled in
   * when absent.
   */
  update(next) {
    return this.#send(withoutUndefined({ ...next }));
  }

  #draft() {
    const next = structuredClone(this.#state);
    // Stamped afresh by #send().
    delete next.seq;
    delete next.timestamp;
    return next;
  }

  #inProgress() {
    const next = this.#draft();
    next.status = 'in_progress';
    return next;
  }

  #send(next) {
    if (this.#removed) throw refuse('invalid_value', '', `job ${this.#key.jobId} was removed`);
    withoutUndefined(next);
    next.userId ??= this.#key.userId;
    next.jobId ??= this.#key.jobId;
    next.workerId ??= this.#core.options.workerId;
    next.attempt ??= this.#state.attempt;
    if (this.#state.stallAfterMs !== undefined) next.stallAfterMs ??= this.#state.stallAfterMs;
    const newAttempt = this.#sentAny && next.attempt > this.#state.attempt;
    if (this.#sentAny && !newAttempt) {
      if (next.attempt < this.#state.attempt) throw refuse('out_of_range', 'attempt', 'attempt must not go back');
      if (isTerminal(this.#state.status)) {
        throw refuse(
          'invalid_value',
          'status',
          `job ${this.#key.jobId} is already ${this.#state.status}; nothing may follow a terminal state within one attempt`,
        );
      }
    }
    if (next.seq !== undefined) {
      if (this.#sentAny && !newAttempt && next.seq < this.#nextSeq) {
        throw refuse('out_of_range', 'seq', `seq must exceed the last seq sent (${this.#nextSeq - 1})`);
      }
    } else {
      next.seq = this.#nextSeq;
    }
    next.timestamp ??= this.#core.clock.unixMs();

    checkEncodable(next);
    const problem = validateState(next, this.#key);
    if (problem) throw refuse(problem.reason, problem.field, problem.message);
    const payload = serialize(next);
    // The bridge's own rules are the final judge (size, nesting depth, ...).
    const parsed = parseUpdate(this.#key, payload);
    if (!parsed.ok) throw refuse(parsed.error.reason, parsed.error.field, parsed.error.message);

    const urgent = isUrgent(this.#state, next, !this.#sentAny);
    this.#nextSeq = next.seq + 1;
    this.#state = next;
    this.#sentAny = true;
    // Requests matter while the job runs; a new attempt runs it again.
    this.#follow(this.#followControl && !isTerminal(next.status));
    return this.#core.submit(this.#slot, payload, urgent);
  }
}
