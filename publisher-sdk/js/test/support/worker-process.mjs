// A worker in a process of its own, for the Last Will test: connects with the SDK,
// starts a job, prints "ready" and waits to be killed.
//   PROGRESS_MQTT_URL=... PROGRESS_MQTT_PASSWORD=... node worker-process.mjs <workerId> <userId> <jobId>
import { connect } from '../../src/index.js';

const [workerId, userId, jobId] = process.argv.slice(2);
const publisher = await connect({
  url: process.env.PROGRESS_MQTT_URL,
  username: 'worker',
  password: process.env.PROGRESS_MQTT_PASSWORD,
  workerId,
});
const outcome = await publisher.job(userId, jobId).start('Working until killed');
console.log(outcome.ok ? 'ready' : `failed: ${outcome.error.message}`);
setInterval(() => {}, 1000); // stays until killed
