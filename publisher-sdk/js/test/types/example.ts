// A typed worker: `tsc --noEmit -p test/types` proves that index.d.ts describes the
// API the way the docs use it (run by test/types.test.mjs).
import { connect, PublishError, ValidationError, type Delivery, type JobState } from 'progress-publisher';

declare function log(...values: unknown[]): void;

async function importPrices(userId: string, jobId: string): Promise<number> {
  const publisher = await connect({
    url: 'mqtt://127.0.0.1:1883',
    username: 'worker',
    password: 'secret',
    workerId: 'importer-1',
    onError: (topic: string, error: PublishError) => log(topic, error.code, error.reasonCode),
  });
  let stop = false;
  const job = publisher.job(userId, jobId, {
    type: 'import',
    attempt: 1,
    onCancel: (request) => {
      stop = true;
      log(request.requestId, request.requestedBy, request.timestamp);
    },
  });
  if (stop || job.cancelRequested) await job.cancel(`Cancelled by ${job.lastCancelRequest?.requestedBy}`);
  await job.start('Importing prices.csv');
  job.phase(1, 2, 'Download', 'Fetching 30 files');
  job.progress(40, '12 of 30 files');
  job.counter(1500, 5000, 'Parsing rows');
  job.eta(20_000);
  job.eta(null);
  try {
    job.progress(140);
  } catch (e) {
    if (e instanceof ValidationError) log(e.reason, e.field);
  }
  const outcome: Delivery = await job.complete({ rows: 5000 });
  if (!outcome.ok) log(outcome.error.code, outcome.error.reasonName);
  const state: JobState = job.state;
  // Misuse the types must catch (an unused directive is itself an error).
  // @ts-expect-error percent is a number
  job.progress('forty');
  // @ts-expect-error a delivery is a result, not a boolean
  const wrong: boolean = await job.cancel();
  // @ts-expect-error not a status
  job.update({ status: 'done' });
  void wrong;
  await publisher.close();
  return state.seq ?? 0;
}

void importPrices('alice', 'import-42');
