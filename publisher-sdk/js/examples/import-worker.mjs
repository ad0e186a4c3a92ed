// A worker that imports 5000 rows in three phases, reports its progress through the SDK
// and stops when the user cancels the job.
//
//   PROGRESS_MQTT_URL=mqtt://127.0.0.1:1883 PROGRESS_MQTT_USERNAME=worker PROGRESS_MQTT_PASSWORD=... \
//     node examples/import-worker.mjs alice import-42
import { connect } from 'progress-publisher';

const [userId = 'alice', jobId = `import-${Date.now()}`] = process.argv.slice(2);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const publisher = await connect({
  url: process.env.PROGRESS_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
  username: process.env.PROGRESS_MQTT_USERNAME ?? 'worker',
  password: process.env.PROGRESS_MQTT_PASSWORD,
  workerId: 'import-worker',
  onError: (topic, error) => console.error(`${topic}: ${error.message}`),
});
const job = publisher.job(userId, jobId, { type: 'data_import' });

await job.start('Importing prices.csv');
job.phase(1, 3, 'Download', 'Fetching prices.csv');
await sleep(100);
job.phase(2, 3, 'Parse', 'Parsing rows');
const rows = 5000;
for (let row = 500; row <= rows && !job.cancelRequested; row += 500) {
  job.counter(row, rows, `Parsed ${row} of ${rows} rows`);
  job.eta((rows - row) / 10); // milliseconds
  await sleep(20);
}
let outcome;
if (job.cancelRequested) {
  outcome = await job.cancel(`Cancelled by ${job.lastCancelRequest.requestedBy}`);
} else {
  job.phase(3, 3, 'Write');
  outcome = await job.complete({ rows });
}
await publisher.close();
if (!outcome.ok) {
  console.error(`the broker did not take the last update: ${outcome.error.message}`);
  process.exit(1);
}
console.log(`${userId}/${jobId}: ${job.state.status}`);
