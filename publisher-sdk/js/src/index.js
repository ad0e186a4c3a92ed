// progress-publisher: report the progress of background jobs (protocol v1) over MQTT v5.
export { connect, Publisher, DEFAULTS, MAX_QUEUED_ERRORS } from './publisher.js';
export { Job } from './job.js';
export { PublishError, ValidationError, PUBLISH_ERROR_CODES } from './errors.js';
export { describeReasonCode } from './reason-codes.js';
export {
  isValidId, jobTopic, parseJobTopic, workerStatusTopic, controlTopic, parseControlTopic,
  JOB_TOPIC_FILTER, WORKER_STATUS_FILTER, CONTROL_TOPIC_FILTER, MAX_ID_LENGTH,
} from './topic.js';
export { parseControl, isValidRequestId, CANCEL_ACTION, MAX_CONTROL_PAYLOAD_BYTES, MAX_REMEMBERED_REQUESTS } from './control.js';
export { parseUpdate, validateState, isTerminal, STATUSES, REJECT_REASONS, MAX_PAYLOAD_BYTES } from './validation.js';
