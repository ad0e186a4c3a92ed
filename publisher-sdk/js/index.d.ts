// Types of progress-publisher (src/ is plain JavaScript; these are kept by hand and
// checked by test/types/example.ts with `tsc --noEmit`).

export type JobStatus = 'queued' | 'started' | 'in_progress' | 'completed' | 'failed' | 'cancelled';

export type RejectReason =
  | 'oversize' | 'invalid_utf8' | 'invalid_json' | 'too_deep' | 'not_an_object'
  | 'missing_field' | 'wrong_type' | 'out_of_range' | 'invalid_value' | 'id_mismatch';

export type PublishErrorCode = 'rejected' | 'buffer_full' | 'disconnected' | 'closed' | 'timed_out' | 'client_error' | 'invalid_control';

export interface JobKey {
  readonly userId: string;
  readonly jobId: string;
}

export interface JobErrorInfo {
  message: string;
  code?: string;
}

/** A job's full state in the wire format of protocol v1 (docs/protocol.md). */
export interface JobState {
  status: JobStatus;
  progress?: number;
  phase?: number;
  totalPhases?: number;
  phaseTitle?: string;
  message?: string;
  detail?: string;
  current?: number;
  total?: number;
  type?: string;
  etaMs?: number;
  /** How long the job may send nothing before the bridge marks it stalled: 1000 to 604800000 (7 days). */
  stallAfterMs?: number;
  error?: JobErrorInfo;
  details?: Record<string, unknown>;
  seq?: number;
  attempt?: number;
  workerId?: string;
  timestamp?: number;
  userId?: string;
  jobId?: string;
}

export interface Rejection {
  reason: RejectReason;
  /** The offending field ("error.message" for a nested one), "" when the payload as a whole is bad. */
  field: string;
  message: string;
}

/** Thrown before anything is sent when an update breaks protocol v1. */
export class ValidationError extends TypeError {
  readonly reason: RejectReason;
  readonly field: string;
}

/** Why an update did not reach the broker. Only `rejected` comes from the broker. */
export class PublishError extends Error {
  constructor(code: PublishErrorCode, message: string, reasonCode?: number);
  readonly code: PublishErrorCode;
  /** The MQTT v5 reason code the broker answered with (0x87 Not authorized, ...); 0 when it said nothing. */
  readonly reasonCode: number;
  /** "Not authorized"; null when the broker said nothing. */
  readonly reasonName: string | null;
  static rejected(reasonCode: number, what?: string): PublishError;
}

/** The outcome of one update; a delivery promise never rejects. */
export type Delivery = { ok: true } | { ok: false; error: PublishError };

export interface PublisherOptions {
  /** Broker URL: mqtt://, mqtts://, ws://, wss:// (tcp:// and ssl:// too). Default mqtt://127.0.0.1:1883. */
  url?: string;
  username?: string;
  password?: string;
  /** Names this worker in every update and in workers/<workerId>/status. Default "worker". */
  workerId?: string;
  /** MQTT client id; empty means "<workerId>-<random>". */
  clientId?: string;
  /** Non-terminal updates of one job are coalesced to at most one message per interval; 0 sends each. Default 100. */
  throttleMs?: number;
  /** Messages that may await their acknowledgement at once; beyond, a publish fails with buffer_full. Default 10000. */
  maxBuffered?: number;
  /** Bounds the first connect and the clean disconnect. Default 10000. */
  connectTimeoutMs?: number;
  /** Told about every failed publish, later (never inside the MQTT client's callbacks). */
  onError?: ((topic: string, error: PublishError) => void) | null;
}

/** A request to cancel a job, from its control topic. */
export interface CancelRequest {
  requestId: string;
  /** The user who asked. */
  requestedBy: string;
  /** When, ms since the Unix epoch. */
  timestamp: number;
}

/** Called once per request id, from the MQTT client's message event: it must not block. */
export type CancelHandler = (request: CancelRequest) => void;

/** A message of a control topic (users/<userId>/jobs/<jobId>/control). */
export interface ControlMessage extends CancelRequest {
  /** "cancel", or an action this SDK does not know (then ignored). */
  action: string;
}

export interface JobOptions {
  /** The job's `type` field, [A-Za-z0-9_.-]{1,64}. */
  type?: string;
  /** Retry number; a higher attempt makes consumers start the job over. Default 1. */
  attempt?: number;
  /** seq of the first message; a resumed job continues above its last seq. Default 1. */
  firstSeq?: number;
  /**
   * How long the job may send nothing before the bridge marks it stalled, in ms (1000 to
   * 604800000); sent as `stallAfterMs` with every update. Default: the bridge's --stall-after.
   */
  stallAfterMs?: number;
  /** Follow the job's control topic (cancellation requests) while it is not finished. Default true. */
  followControl?: boolean;
  /** See Job#onCancel. */
  onCancel?: CancelHandler | null;
}

export interface Clock {
  /** Milliseconds on a monotonic clock (throttling). */
  now(): number;
  /** Milliseconds since the Unix epoch (timestamps). */
  unixMs(): number;
}

/** What the publisher sends through; MQTT.js by default, a fake in tests. */
export interface Transport {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  publish(topic: string, payload: string, options: { qos: 0 | 1 | 2; retain: boolean }, done: (error: PublishError | null) => void): void;
  /** Set once, before connect(). Without it (and subscribe) no cancellation request can arrive. */
  onMessage?(handler: (topic: string, payload: Uint8Array | string) => void): void;
  subscribe?(filter: string, done: (error: PublishError | null) => void): void;
  unsubscribe?(filter: string): void;
}

export class Job {
  readonly key: JobKey;
  /** The state last accepted by this handle (what the broker will retain). */
  readonly state: JobState;
  start(message?: string): Promise<Delivery>;
  /** Enters phase `index` of `total` (1-based); sent at once. */
  phase(index: number, total: number, title: string, description?: string): Promise<Delivery>;
  progress(percent: number, message?: string, detail?: string): Promise<Delivery>;
  counter(current: number, total: number, message?: string): Promise<Delivery>;
  /** Estimated milliseconds left; null clears it. */
  eta(remainingMs: number | null): Promise<Delivery>;
  complete(details?: Record<string, unknown>): Promise<Delivery>;
  fail(message: string, code?: string): Promise<Delivery>;
  fail(error: JobErrorInfo): Promise<Delivery>;
  cancel(message?: string): Promise<Delivery>;
  /** Clears the retained state; the handle is finished afterwards. */
  remove(): Promise<Delivery>;
  /** Publishes `next` as the whole state; ids, seq, attempt, workerId and timestamp are filled in when absent. */
  update(next: JobState): Promise<Delivery>;
  /**
   * Called once per cancellation request while the job runs (also for one made before the handle
   * existed: it is retained); requests that came before are handed to it at once. The SDK does not
   * stop the job: the worker calls cancel().
   */
  onCancel(handler: CancelHandler | null): void;
  /** True once a cancellation request arrived. */
  readonly cancelRequested: boolean;
  readonly lastCancelRequest: CancelRequest | null;
  /** Stops following the control topic (terminal states and remove() do it too). */
  release(): void;
}

export class Publisher {
  static connect(options?: PublisherOptions, seams?: { transport?: Transport; clock?: Clock }): Promise<Publisher>;
  readonly options: Readonly<Required<PublisherOptions>>;
  readonly clock: Clock;
  job(userId: string, jobId: string, options?: JobOptions): Job;
  /** Sends every update still waiting for its throttle interval. */
  flush(): void;
  /** Sends the waiting updates whose interval has passed (the timer does this by itself). */
  flushDue(): void;
  /** Flushes, publishes the offline status and disconnects. Idempotent. */
  close(): Promise<void>;
}

export function connect(options?: PublisherOptions, seams?: { transport?: Transport; clock?: Clock }): Promise<Publisher>;

export const DEFAULTS: Readonly<Required<PublisherOptions>>;
export const MAX_QUEUED_ERRORS: number;
export const PUBLISH_ERROR_CODES: readonly PublishErrorCode[];
export const STATUSES: readonly JobStatus[];
export const REJECT_REASONS: readonly RejectReason[];
export const MAX_PAYLOAD_BYTES: number;
export const MAX_ID_LENGTH: number;
export const JOB_TOPIC_FILTER: string;
export const WORKER_STATUS_FILTER: string;
export const CONTROL_TOPIC_FILTER: string;
export const CANCEL_ACTION: 'cancel';
export const MAX_CONTROL_PAYLOAD_BYTES: number;
export const MAX_REMEMBERED_REQUESTS: number;

export function describeReasonCode(code: number): string;
export function isValidId(id: unknown): id is string;
export function isTerminal(status: JobStatus): boolean;
export function jobTopic(userId: string, jobId: string): string;
export function parseJobTopic(topic: string): JobKey | null;
export function workerStatusTopic(workerId: string): string;
export function controlTopic(userId: string, jobId: string): string;
export function parseControlTopic(topic: string): JobKey | null;
export function isValidRequestId(text: unknown): text is string;
export function parseControl(payload: string | Uint8Array): { ok: true; message: ControlMessage } | { ok: false; error: Rejection };
export function parseUpdate(key: JobKey, payload: string | Uint8Array): { ok: true; state: JobState } | { ok: false; error: Rejection };
export function validateState(state: JobState, key?: JobKey | null): Rejection | null;
