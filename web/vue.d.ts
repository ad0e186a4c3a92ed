// Types for vue.js: `import { useJobs } from 'progress-bridge-client/vue'`.
import type { MaybeRefOrGetter, Ref, ShallowRef } from 'vue';

import type { Job, ProgressClient } from './progress-client.js';
import type { ViewError, ViewOptions, ViewStatus } from './view-types.js';

export type { JobView, JobsView, ViewError, ViewOptions, ViewStatus } from './view-types.js';

export interface JobsRefs {
  jobs: Readonly<ShallowRef<Job[]>>;
  status: Readonly<Ref<ViewStatus>>;
  error: Readonly<ShallowRef<ViewError>>;
}

export interface JobRefs {
  job: Readonly<ShallowRef<Job | null>>;
  status: Readonly<Ref<ViewStatus>>;
  error: Readonly<ShallowRef<ViewError>>;
}

/** Shares one ProgressClient (one connection) with the components below; a ref to it. */
export function provideProgressClient(options?: MaybeRefOrGetter<ViewOptions>): Readonly<ShallowRef<ProgressClient | null>>;

/** A ref to the client of the nearest provideProgressClient (null outside one or before it mounted). */
export function useProgressClient(): Readonly<ShallowRef<ProgressClient | null>>;

/** Live jobs of the provided client, of `options.client`, or of a connection of its own. */
export function useJobs(options?: MaybeRefOrGetter<ViewOptions>): JobsRefs;

/** One job, live; status `idle` while `jobId` is null, undefined or ''. */
export function useJob(
  jobId: MaybeRefOrGetter<string | null | undefined>,
  options?: MaybeRefOrGetter<Omit<ViewOptions, 'jobIds'>>,
): JobRefs;
