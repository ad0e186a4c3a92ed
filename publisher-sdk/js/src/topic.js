// Topic layout and the id rule of protocol v1 (docs/protocol.md), as the C++
// progress::protocol library has them.

export const MAX_ID_LENGTH = 128;
export const JOB_TOPIC_FILTER = 'users/+/jobs/+';
export const WORKER_STATUS_FILTER = 'workers/+/status';
export const CONTROL_TOPIC_FILTER = 'users/+/jobs/+/control';

const ID_RE = /^[A-Za-z0-9_.-]{1,128}$/;
const DOTS_RE = /^\.+$/;

/** True when `id` matches [A-Za-z0-9_.-]{1,128} and is not made only of dots. */
export function isValidId(id) {
  return typeof id === 'string' && ID_RE.test(id) && !DOTS_RE.test(id);
}

export function requireValidId(id, what) {
  if (!isValidId(id)) {
    throw new TypeError(`${what} must match [A-Za-z0-9_.-]{1,128} and not be only dots: '${String(id).slice(0, 160)}'`);
  }
}

/** "users/<userId>/jobs/<jobId>"; throws TypeError on a bad id. */
export function jobTopic(userId, jobId) {
  requireValidId(userId, 'userId');
  requireValidId(jobId, 'jobId');
  return `users/${userId}/jobs/${jobId}`;
}

/** The ids of a job topic, or null when `topic` is not one. */
export function parseJobTopic(topic) {
  const match = /^users\/([^/]*)\/jobs\/([^/]*)$/.exec(topic);
  if (!match || !isValidId(match[1]) || !isValidId(match[2])) return null;
  return { userId: match[1], jobId: match[2] };
}

/** "workers/<workerId>/status"; throws TypeError on a bad id. */
export function workerStatusTopic(workerId) {
  requireValidId(workerId, 'workerId');
  return `workers/${workerId}/status`;
}

/** "users/<userId>/jobs/<jobId>/control", where requests to the job's worker are retained. */
export function controlTopic(userId, jobId) {
  return `${jobTopic(userId, jobId)}/control`;
}

/** The ids of a control topic, or null when `topic` is not one. */
export function parseControlTopic(topic) {
  return topic.endsWith('/control') ? parseJobTopic(topic.slice(0, -'/control'.length)) : null;
}
