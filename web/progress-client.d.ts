// Types for progress-client.js (an ES module without a build step).

export type JobStatus = 'queued' | 'started' | 'in_progress' | 'completed' | 'failed' | 'cancelled';

/** Why the bridge takes a job for abandoned (docs/protocol.md, "Stalled jobs"). */
export type StallReason = 'worker_offline' | 'silent';

/**
 * A job as the bridge serves it: the worker's protocol v1 fields plus userId, jobId, updatedAt,
 * and the bridge's annotations `stalled` and `cancelRequested` while they hold.
 */
export interface Job {
  userId: string;
  jobId: string;
  status: JobStatus;
  /** Bridge receive time of this state, ms since the Unix epoch. */
  updatedAt?: number;
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
  error?: { message: string; code?: string };
  details?: Record<string, unknown>;
  seq?: number;
  attempt?: number;
  workerId?: string;
  timestamp?: number;
  /** How long the job may send nothing before the bridge marks it stalled, in ms. */
  stallAfterMs?: number;
  /** Set while the job looks abandoned; the job's next update clears it. `since`: ms since the Unix epoch. */
  stalled?: { reason: StallReason; since: number };
  /** Set from a cancel request until the job ends. `at`: ms since the Unix epoch. */
  cancelRequested?: { requestId: string; requestedBy: string; at: number };
}

/** What ProgressClient#cancel rejects with: the bridge's error code and the HTTP status (0: no answer). */
export interface CancelError extends Error {
  code: 'forbidden' | 'not_found' | 'job_finished' | 'broker_unavailable' | 'rate_limited' | 'timeout' | 'network_error' | string;
  status: number;
}

export type Transport = 'websocket' | 'sse' | 'poll';
/**
 * `unauthorized` (the bridge refused the token: 401) and `forbidden` (it refused what was
 * asked for: 403) are final until connect() is called again.
 */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'closed' | 'fallback' | 'unauthorized' | 'forbidden';

/** Why the bridge refuses a token (docs/api.md), or `forbidden` for a scope it refuses. */
export type RefusalCode =
  | 'token_missing'
  | 'token_malformed'
  | 'token_unsupported_algorithm'
  | 'token_bad_signature'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_missing_claim'
  | 'token_invalid_subject'
  | 'forbidden';

export interface BackoffOptions {
  /** First reconnect delay. Default 500. */
  initialMs?: number;
  /** Largest delay. Default 30000. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Fraction (0–1) by which a delay is lowered at random. Default 0.3. */
  jitter?: number;
}

export interface ProgressClientOptions {
  /** Origin of the bridge, e.g. "https://progress.example.com". Default: location.origin. */
  baseUrl?: string;
  /** A fixed token. */
  token?: string;
  /**
   * Called on every (re)connect; wins over `token`. After the bridge refused a token as
   * expired it is called once more and should give a fresh one.
   */
  getToken?: () => string | Promise<string>;
  /** Whose jobs to follow. Default: the token's `sub`. */
  userId?: string;
  /** Tried in this order. Default ['websocket', 'sse', 'poll']. */
  transports?: Transport[];
  /** Poll period of the `poll` transport. Default 2000. */
  pollIntervalMs?: number;
  /** Page size asked for while polling. Default 200. */
  pollPageLimit?: number;
  /** Pages followed per poll. Default 20. */
  maxPollPages?: number;
  /** Consecutive failures to open a transport before the next one is used. Default 3. */
  fallbackAfter?: number;
  /** How often a fallback transport probes the preferred one again. Default 60000. */
  upgradeAfterMs?: number;
  /** A connection that neither opens nor fails within this time counts as failed. Default 10000. */
  connectTimeoutMs?: number;
  /** Most jobs kept in the view. Default 10000. */
  maxJobs?: number;
  /**
   * Reconnect over WebSocket with the versions of the jobs held (`?resume=state`), so a bridge
   * replica that cannot resume the cursor sends only what changed. Default true.
   */
  stateResume?: boolean;
  backoff?: BackoffOptions;
  /** Connect on the next microtask. Default true; otherwise call connect(). */
  autoConnect?: boolean;
  /** Injectable for tests and non-browser runtimes. */
  WebSocket?: typeof WebSocket;
  EventSource?: typeof EventSource;
  fetch?: typeof fetch;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
  random?: () => number;
}

export interface SnapshotEvent {
  jobs: Map<string, Job>;
  /** True when the view was rebuilt after a resume the bridge could not serve from its log. */
  recovered: boolean;
  cursor: string | null;
}
export interface ResumeEvent {
  cursor: string | null;
  /** True when every missed change follows (a cursor resume); false after a state resume. */
  recovered: boolean;
  /**
   * `cursor`: the missed changes follow as `job`/`removed` events. `state`: the bridge (possibly
   * another replica) compared the versions the client held and sends, as `job`/`removed`
   * events, only the jobs that changed, are new or are gone; the others are current.
   */
  recovery: 'cursor' | 'state';
}
export interface JobEvent {
  job: Job;
  previous: Job | null;
}
export interface RemovedEvent {
  userId: string;
  jobId: string;
  /** The job as it was last seen. */
  job: Job;
}
export interface StatusEvent {
  state: ConnectionState;
  transport: Transport | null;
  /** connecting: reconnects so far without a healthy stream. */
  attempt?: number;
  /** closed: WebSocket close code (4001 token expired, 4008 slow consumer, ...). */
  code?: number;
  reason?: string;
  /** closed: delay before the next attempt. */
  reconnectInMs?: number;
  /** closed: true after close(); unauthorized, forbidden: always true. */
  final?: boolean;
  /** unauthorized, forbidden: the bridge's reason. */
  error?: { code: RefusalCode | string; message: string };
  /** fallback: the transports involved. */
  from?: Transport;
  to?: Transport;
}
export interface ErrorEvent {
  /** A RefusalCode, an error code of the bridge, or one of the client's own (network_error, ...). */
  code: RefusalCode | string;
  message: string;
  /** The HTTP status when the bridge refused a request (401, 403). */
  status?: number;
}
export interface PongEvent {
  id: string | number | null;
}

export interface ProgressClientEvents {
  snapshot: SnapshotEvent;
  resume: ResumeEvent;
  job: JobEvent;
  removed: RemovedEvent;
  status: StatusEvent;
  error: ErrorEvent;
  pong: PongEvent;
}

export interface Scope {
  jobIds?: string[];
  types?: string[];
  /** Admins only: another user's id, or '*' for everyone. */
  userId?: string;
}

export class ProgressClient {
  constructor(options?: ProgressClientOptions);
  /** The current view, keyed by jobKey(userId, jobId). Replaced on every snapshot. */
  readonly jobs: Map<string, Job>;
  readonly cursor: string | null;
  readonly state: ConnectionState;
  readonly transport: Transport | null;
  readonly userId: string | null;
  /** The token's payload, unverified (sub, exp, role). */
  readonly claims: Record<string, unknown> | null;
  on<K extends keyof ProgressClientEvents>(type: K, fn: (event: ProgressClientEvents[K]) => void): () => void;
  off<K extends keyof ProgressClientEvents>(type: K, fn: (event: ProgressClientEvents[K]) => void): void;
  /** Starts connecting; after a refusal (unauthorized, forbidden), tries again. */
  connect(): void;
  subscribe(scope?: Scope): void;
  unsubscribe(): void;
  ping(id?: string): boolean;
  /**
   * Asks the bridge to cancel a job: resolves once it took the request (202), rejects with a
   * CancelError otherwise. `userId` defaults to the user followed; an admin following everyone
   * names it.
   */
  cancel(jobId: string, userId?: string): Promise<{ requestId: string }>;
  close(): void;
}

export function jobKey(userId: string, jobId: string): string;
export function isTerminal(status: string): boolean;
export function isValidJob(job: unknown): job is Job;
export function decodeToken(token: string): Record<string, unknown> | null;
export function backoffDelay(attempt: number, backoff: Required<BackoffOptions>, random?: () => number): number;
