// The two errors of the SDK: ValidationError is thrown before anything is sent;
// PublishError is what a delivery holds when an update did not reach the broker.

import { describeReasonCode, reasonName } from './reason-codes.js';

/** An update that breaks protocol v1; `reason` and `field` are those the bridge would record. */
export class ValidationError extends TypeError {
  constructor({ reason, field, message }) {
    super(`invalid update (${reason}): ${message}`);
    this.name = 'ValidationError';
    this.reason = reason;
    this.field = field;
  }
}

/**
 * Why a publish failed. `code` is one of PUBLISH_ERROR_CODES; only `rejected` comes
 * from the broker, with its MQTT v5 `reasonCode` (0 otherwise).
 */
export const PUBLISH_ERROR_CODES = Object.freeze([
  'rejected', 'buffer_full', 'disconnected', 'closed', 'timed_out', 'client_error',
  // A message on a job's control topic that is not a valid control message; ignored, told only to onError.
  'invalid_control',
]);

export class PublishError extends Error {
  constructor(code, message, reasonCode = 0) {
    super(message);
    this.name = 'PublishError';
    this.code = code;
    this.reasonCode = reasonCode;
  }

  /** The name of the MQTT v5 reason code, e.g. "Not authorized"; null when the broker said nothing. */
  get reasonName() {
    return this.reasonCode ? reasonName(this.reasonCode) : null;
  }

  static rejected(reasonCode, what = '') {
    return new PublishError('rejected', `${what}${describeReasonCode(reasonCode)}`, reasonCode);
  }
}

export function refuse(reason, field, message) {
  return new ValidationError({ reason, field, message });
}
