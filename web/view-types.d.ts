// Types shared by the React hooks (react.d.ts) and the Vue composables (vue.d.ts).
import type { ConnectionState, ErrorEvent, Job, ProgressClient, ProgressClientOptions } from './progress-client.js';

/**
 * Options of useJobs / useJob and of a provider: ProgressClient options, plus what to select.
 * Without a provider or a `client`, a hook opens a connection of its own whose scope is
 * userId / jobIds / types; with one, they filter what that client receives.
 */
export interface ViewOptions extends Omit<ProgressClientOptions, 'userId' | 'autoConnect'> {
  /** Use this client (not connected or closed by the hook). */
  client?: ProgressClient;
  /** Whose jobs: a user id, or (admins) '*' for everyone. Default: the token's user. */
  userId?: string;
  /** Only these jobs. */
  jobIds?: string[];
  /** Only jobs of these types. */
  types?: string[];
}

/** `connecting` before the client exists (server rendering, first render); `idle` for useJob without an id. */
export type ViewStatus = ConnectionState;

/** The last `error` event since the stream last opened, or null. */
export type ViewError = Pick<ErrorEvent, 'code' | 'message'> | null;

export interface JobsView {
  /** The selected jobs, in the order the client learned of them. */
  jobs: Job[];
  status: ViewStatus;
  error: ViewError;
}

export interface JobView {
  /** The job, or null until the bridge knows it. */
  job: Job | null;
  status: ViewStatus;
  error: ViewError;
}
