// Type check of the package as a Next.js (React) application uses it: compiled by
// package-shape.test.mjs with `tsc`, never run.
'use client';

import { useCallback } from 'react';

import { ProgressClient, isTerminal, jobKey, type ConnectionState, type ErrorEvent, type Job } from 'progress-bridge-client';
import { ProgressProvider, useJob, useJobs, useProgressClient, type JobsView } from 'progress-bridge-client/react';

export function BuildProgress({ jobId }: { jobId: string | null }) {
  const getToken = useCallback(async () => (await fetch('/api/progress-token')).text(), []);
  const { job, status, error } = useJob(jobId, { baseUrl: 'https://progress.example.com', getToken });
  const state: ConnectionState = status;
  if (error) return <p role="alert">{error.code}: {error.message}</p>;
  if (!job) return <p>{state === 'unauthorized' ? 'Sign in again' : 'Waiting…'}</p>;
  const done: boolean = isTerminal(job.status);
  return <progress max={100} value={job.progress ?? undefined} data-done={done} />;
}

export function AdminBoard() {
  const view: JobsView = useJobs({ userId: '*', types: ['data_import'] });
  const client: ProgressClient | null = useProgressClient();
  const failed: Job[] = view.jobs.filter((j) => j.status === 'failed');
  return (
    <ul data-transport={client?.transport ?? ''}>
      {failed.map((j) => (
        <li key={jobKey(j.userId, j.jobId)}>{j.error?.message}</li>
      ))}
    </ul>
  );
}

export function App() {
  const client = new ProgressClient({ baseUrl: 'https://progress.example.com', token: 'jwt', autoConnect: false });
  client.on('error', (e: ErrorEvent) => console.warn(e.code, e.status));
  client.on('status', (s) => s.error?.code);
  return (
    <>
      <ProgressProvider baseUrl="https://progress.example.com" getToken={() => 'jwt'} userId="*">
        <AdminBoard />
      </ProgressProvider>
      <ProgressProvider client={client}>
        <BuildProgress jobId="build-7" />
      </ProgressProvider>
    </>
  );
}

// The types are not `any`: each of these must be an error.
// @ts-expect-error a job id is a string
useJob(42);
// @ts-expect-error useJobs returns jobs, not job
useJobs().job;
// @ts-expect-error no such state
const wrong: ConnectionState = 'reconnecting';
