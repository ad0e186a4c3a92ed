// Validation of protocol v1 job states, the same rules in the same order as
// protocol/src/validation.cpp; protocol/testdata holds the cases all
// implementations must agree on.

import { isPlainObject, isWellFormed, parseJsonPayload, rejection } from './json-payload.js';
import { isValidId } from './topic.js';

export const MAX_PAYLOAD_BYTES = 64 * 1024;
export const MAX_TEXT_LENGTH = 4096;
export const MAX_TYPE_LENGTH = 64;
export const MAX_ERROR_CODE_LENGTH = 128;
export const MAX_TOTAL_PHASES = 1000;
// Bounds of a job's stallAfterMs: a second to a week.
export const MIN_STALL_AFTER_MS = 1000;
export const MAX_STALL_AFTER_MS = 7 * 24 * 60 * 60 * 1000;
export const STATUSES = Object.freeze(['queued', 'started', 'in_progress', 'completed', 'failed', 'cancelled']);
export const REJECT_REASONS = Object.freeze([
  'oversize', 'invalid_utf8', 'invalid_json', 'too_deep', 'not_an_object',
  'missing_field', 'wrong_type', 'out_of_range', 'invalid_value', 'id_mismatch',
]);

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const byteLength = (text) => Buffer.byteLength(text, 'utf8');

export function isTerminal(status) {
  return TERMINAL.has(status);
}

// Reads the optional fields of a payload object; the first type error wins.
class FieldReader {
  constructor(object) {
    this.source = object;
    this.state = {};
    this.error = null;
  }

  find(name) {
    if (this.error || !Object.hasOwn(this.source, name)) return undefined;
    const value = this.source[name];
    return value === null ? undefined : value;
  }

  wrongType(name, expected) {
    this.error = rejection('wrong_type', name, `${name} must be ${expected}`);
  }

  text(name) {
    const value = this.find(name);
    if (value === undefined) return;
    if (typeof value !== 'string') return this.wrongType(name, 'a string');
    this.state[name] = value;
  }

  number(name) {
    const value = this.find(name);
    if (value === undefined) return;
    if (typeof value !== 'number') return this.wrongType(name, 'a number');
    this.state[name] = value;
  }

  integer(name) {
    const value = this.find(name);
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isInteger(value)) return this.wrongType(name, 'an integer');
    if (!Number.isSafeInteger(value)) {
      this.error = rejection('out_of_range', name, `${name} is out of range`);
      return;
    }
    this.state[name] = value + 0; // -0 is 0
  }

  errorObject(name) {
    const value = this.find(name);
    if (value === undefined) return;
    if (!isPlainObject(value)) return this.wrongType(name, 'an object {message, code}');
    if (typeof value.message !== 'string') {
      this.error = rejection('missing_field', 'error.message', 'error.message must be a string');
      return;
    }
    const result = { message: value.message };
    const code = value.code;
    if (code !== undefined && code !== null) {
      if (typeof code === 'string') result.code = code;
      else if (Number.isInteger(code)) result.code = String(code); // numeric codes are kept as decimal text
      else return this.wrongType('error.code', 'a string');
    }
    this.state[name] = result;
  }

  object(name) {
    const value = this.find(name);
    if (value === undefined) return;
    if (!isPlainObject(value)) return this.wrongType(name, 'an object');
    this.state[name] = value;
  }
}

function checkText(value, name, limit = MAX_TEXT_LENGTH) {
  if (value === undefined) return null;
  if (byteLength(value) > limit) return rejection('out_of_range', name, `${name} is longer than ${limit} bytes`);
  if (!isWellFormed(value)) return rejection('invalid_utf8', name, `${name} is not valid UTF-8`);
  return null;
}

function checkRange(value, name, low, high = Number.MAX_SAFE_INTEGER) {
  if (value !== undefined && (value < low || value > high)) {
    return rejection('out_of_range', name, `${name} must be between ${low} and ${high}`);
  }
  return null;
}

function checkId(value, name) {
  if (value !== undefined && !isValidId(value)) {
    return rejection('invalid_value', name, `${name} must match [A-Za-z0-9_.-]{1,128} and not be only dots`);
  }
  return null;
}

/**
 * Checks a state object in the wire format (value ranges, id rules, lengths) and,
 * when `key` is given, that optional userId/jobId agree with it. Returns the
 * rejection, or null. The C++ progress::validate().
 */
export function validateState(state, key = null) {
  const s = state;
  if (s.progress !== undefined && !(Number.isFinite(s.progress) && s.progress >= 0 && s.progress <= 100)) {
    return rejection('out_of_range', 'progress', 'progress must be a number from 0 to 100');
  }
  let problem =
    checkRange(s.totalPhases, 'totalPhases', 1, MAX_TOTAL_PHASES) ?? checkRange(s.phase, 'phase', 0, MAX_TOTAL_PHASES);
  if (problem) return problem;
  if (s.phase !== undefined && s.totalPhases !== undefined && s.phase > s.totalPhases) {
    return rejection('out_of_range', 'phase', 'phase must not exceed totalPhases');
  }
  problem =
    checkText(s.phaseTitle, 'phaseTitle') ??
    checkText(s.message, 'message') ??
    checkText(s.detail, 'detail') ??
    checkRange(s.current, 'current', 0) ??
    checkRange(s.total, 'total', 0);
  if (problem) return problem;
  if (s.type !== undefined && (byteLength(s.type) > MAX_TYPE_LENGTH || !isValidId(s.type))) {
    return rejection('invalid_value', 'type', 'type must match [A-Za-z0-9_.-]{1,64} and not be only dots');
  }
  problem = checkRange(s.etaMs, 'etaMs', 0) ?? checkRange(s.stallAfterMs, 'stallAfterMs', MIN_STALL_AFTER_MS, MAX_STALL_AFTER_MS);
  if (problem) return problem;
  if (s.error !== undefined) {
    if (s.error.message === '') return rejection('invalid_value', 'error.message', 'error.message must not be empty');
    problem = checkText(s.error.message, 'error.message') ?? checkText(s.error.code, 'error.code', MAX_ERROR_CODE_LENGTH);
    if (problem) return problem;
  }
  if (s.details !== undefined && !isPlainObject(s.details)) {
    return rejection('wrong_type', 'details', 'details must be an object');
  }
  problem =
    checkRange(s.seq, 'seq', 0) ??
    checkRange(s.attempt, 'attempt', 0) ??
    checkRange(s.timestamp, 'timestamp', 0) ??
    checkId(s.workerId, 'workerId') ??
    checkId(s.userId, 'userId') ??
    checkId(s.jobId, 'jobId');
  if (problem) return problem;
  if (key) {
    if (s.userId !== undefined && s.userId !== key.userId) {
      return rejection('id_mismatch', 'userId', "userId differs from the topic's user id");
    }
    if (s.jobId !== undefined && s.jobId !== key.jobId) {
      return rejection('id_mismatch', 'jobId', "jobId differs from the topic's job id");
    }
  }
  return null;
}

/**
 * Parses a non-empty payload received on the topic of `key` ({userId, jobId}).
 * Never throws on bad input; unknown fields are ignored.
 * @returns {{ok: true, state: object} | {ok: false, error: {reason: string, field: string, message: string}}}
 */
export function parseUpdate(key, payload) {
  const parsed = parseJsonPayload(payload, MAX_PAYLOAD_BYTES);
  if (!parsed.ok) return parsed;
  const document = parsed.value;
  const fail = (reason, field, message) => ({ ok: false, error: rejection(reason, field, message) });
  if (!isPlainObject(document)) return fail('not_an_object', '', 'payload must be a JSON object');
  const status = Object.hasOwn(document, 'status') ? document.status : null;
  if (status === null) return fail('missing_field', 'status', 'status is required');
  if (typeof status !== 'string') return fail('wrong_type', 'status', 'status must be a string');
  if (!STATUSES.includes(status)) {
    return fail('invalid_value', 'status', `status must be one of ${STATUSES.join(', ')}`);
  }

  const read = new FieldReader(document);
  read.state.status = status;
  read.number('progress');
  read.integer('phase');
  read.integer('totalPhases');
  read.text('phaseTitle');
  read.text('message');
  read.text('detail');
  read.integer('current');
  read.integer('total');
  read.text('type');
  read.integer('etaMs');
  read.integer('stallAfterMs');
  read.errorObject('error');
  read.object('details');
  read.integer('seq');
  read.integer('attempt');
  read.text('workerId');
  read.integer('timestamp');
  read.text('userId');
  read.text('jobId');
  if (read.error) return { ok: false, error: read.error };

  const problem = validateState(read.state, key);
  if (problem) return { ok: false, error: problem };
  return { ok: true, state: read.state };
}
