// Requests to the worker of a job, on users/<userId>/jobs/<jobId>/control
// (docs/protocol.md, "Control topic"): the same rules as the C++
// progress::parse_control, checked by protocol/testdata/control.json.

import { isPlainObject, parseJsonPayload, rejection } from './json-payload.js';
import { isValidId } from './topic.js';

export const MAX_CONTROL_PAYLOAD_BYTES = 4096;
export const MAX_REQUEST_ID_LENGTH = 64;
export const CANCEL_ACTION = 'cancel';

/** [A-Za-z0-9_.-]{1,64}, not only dots: the rule for requestId and action. */
export function isValidRequestId(text) {
  return typeof text === 'string' && text.length <= MAX_REQUEST_ID_LENGTH && isValidId(text);
}

const SHORT_RULE = '[A-Za-z0-9_.-]{1,64} and not be only dots';

/**
 * Parses a non-empty control payload; never throws on bad input. All four fields are
 * required for every action; unknown fields are ignored.
 * @returns {{ok: true, message: {action: string, requestId: string, requestedBy: string, timestamp: number}}
 *         | {ok: false, error: {reason: string, field: string, message: string}}}
 */
export function parseControl(payload) {
  const parsed = parseJsonPayload(payload, MAX_CONTROL_PAYLOAD_BYTES);
  if (!parsed.ok) return parsed;
  const document = parsed.value;
  const fail = (reason, field, message) => ({ ok: false, error: rejection(reason, field, message) });
  if (!isPlainObject(document)) return fail('not_an_object', '', 'payload must be a JSON object');
  const message = {};
  const texts = [
    ['action', isValidRequestId, SHORT_RULE],
    ['requestId', isValidRequestId, SHORT_RULE],
    ['requestedBy', isValidId, '[A-Za-z0-9_.-]{1,128} and not be only dots'],
  ];
  for (const [name, valid, rule] of texts) {
    const value = Object.hasOwn(document, name) ? document[name] : null;
    if (value === null) return fail('missing_field', name, `${name} is required`);
    if (typeof value !== 'string') return fail('wrong_type', name, `${name} must be a string`);
    if (!valid(value)) return fail('invalid_value', name, `${name} must match ${rule}`);
    message[name] = value;
  }
  const timestamp = Object.hasOwn(document, 'timestamp') ? document.timestamp : null;
  if (timestamp === null) return fail('missing_field', 'timestamp', 'timestamp is required');
  if (typeof timestamp !== 'number' || !Number.isInteger(timestamp)) return fail('wrong_type', 'timestamp', 'timestamp must be an integer');
  if (!Number.isSafeInteger(timestamp)) return fail('out_of_range', 'timestamp', 'timestamp is out of range');
  if (timestamp < 0) return fail('out_of_range', 'timestamp', 'timestamp must not be negative');
  message.timestamp = timestamp + 0;
  return { ok: true, message };
}

// Requests remembered per job, so that one delivered again (the retained message,
// after a reconnect) reaches the handler once; older ids are forgotten first.
export const MAX_REMEMBERED_REQUESTS = 16;

/** The control side of one job handle: the cancellation requests that reached it. */
export class JobControl {
  #seen = [];
  #undelivered = [];
  #handler = null;
  last = null;

  constructor(topic) {
    this.topic = topic;
  }

  get requested() {
    return this.last !== null;
  }

  receive(request) {
    if (this.#seen.includes(request.requestId)) return;
    this.#seen.push(request.requestId);
    if (this.#seen.length > MAX_REMEMBERED_REQUESTS) this.#seen.shift();
    this.last = request;
    if (!this.#handler) {
      this.#undelivered.push(request);
      if (this.#undelivered.length > MAX_REMEMBERED_REQUESTS) this.#undelivered.shift();
      return;
    }
    this.#call(request);
  }

  setHandler(handler) {
    this.#handler = handler ?? null;
    if (!this.#handler) return;
    const waiting = this.#undelivered;
    this.#undelivered = [];
    for (const request of waiting) this.#call(request);
  }

  #call(request) {
    try {
      this.#handler({ ...request });
    } catch {
      // The application's handler must not break the MQTT client's message loop.
    }
  }
}
