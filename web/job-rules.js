// The protocol's rules about jobs, ids and tokens, and the reconnect backoff: pure functions
// that ProgressClient and its transports share. The package re-exports the public ones from
// progress-client.js; this module is not an entry point of its own.

// The protocol's id rule: no ids made only of dots (".", ".." are URL path segments).
const ID_RE = /^(?!\.+$)[A-Za-z0-9_.-]{1,128}$/;
const STATUSES = new Set(['queued', 'started', 'in_progress', 'completed', 'failed', 'cancelled']);
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** Key of a job in {@link ProgressClient#jobs}: jobs of different users may share a jobId. */
export function jobKey(userId, jobId) {
  return `${userId}/${jobId}`;
}

/** True for `completed`, `failed` and `cancelled`. */
export function isTerminal(status) {
  return TERMINAL.has(status);
}

/**
 * Reads (does not verify) a JWT's payload: the bridge verifies, the client only needs
 * `sub` and `role` to choose its default scope. Returns null for anything malformed.
 */
export function decodeToken(token) {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1].length === 0 || parts[1].length > 8192) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
    const binary = atob(padded);
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes));
    return isObject(payload) ? payload : null;
  } catch {
    return null;
  }
}

/**
 * Delay before reconnect attempt `attempt` (0-based): initialMs * factor^attempt, capped at
 * maxMs, then lowered by up to `jitter` (a fraction) at random so that clients cut off
 * together do not all come back in the same instant.
 */
export function backoffDelay(attempt, backoff, random = Math.random) {
  const { initialMs, maxMs, factor, jitter } = backoff;
  const base = Math.min(maxMs, initialMs * Math.pow(factor, Math.max(0, attempt)));
  const j = Math.min(1, Math.max(0, jitter));
  return Math.max(0, Math.round(base * (1 - j * random())));
}

export function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isId(v) {
  return typeof v === 'string' && ID_RE.test(v);
}

/** A job object as the bridge sends it: at least a valid userId, jobId and status. */
export function isValidJob(job) {
  return isObject(job) && isId(job.userId) && isId(job.jobId) && STATUSES.has(job.status);
}

/** The version of a job the bridge compares in a state resume: the worker's ordering fields. */
export function heldVersion(job) {
  const version = { userId: job.userId, jobId: job.jobId, status: job.status };
  for (const field of ['attempt', 'seq', 'timestamp']) {
    if (Number.isSafeInteger(job[field]) && job[field] >= 0) version[field] = job[field];
  }
  if (isObject(job.stalled) || isObject(job.cancelRequested)) version.annotated = true;
  return version;
}

export function sameJob(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}
