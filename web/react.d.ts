// Types for react.js: `import { useJobs } from 'progress-bridge-client/react'`.
import type { ReactElement, ReactNode } from 'react';

import type { ProgressClient } from './progress-client.js';
import type { JobView, JobsView, ViewOptions } from './view-types.js';

export type { JobView, JobsView, ViewError, ViewOptions, ViewStatus } from './view-types.js';

export interface ProgressProviderProps extends ViewOptions {
  children?: ReactNode;
}

/** Shares one ProgressClient (one connection) with every hook below it. */
export function ProgressProvider(props: ProgressProviderProps): ReactElement;

/** The client of the nearest ProgressProvider; null outside one and before it connected. */
export function useProgressClient(): ProgressClient | null;

/** Live jobs of the provider's client, of `options.client`, or of a connection of its own. */
export function useJobs(options?: ViewOptions): JobsView;

/** One job, live; status `idle` while `jobId` is null, undefined or ''. */
export function useJob(jobId: string | null | undefined, options?: Omit<ViewOptions, 'jobIds'>): JobView;
