// End to end: a real Mosquitto with the project's broker-config, the real progress-bridge
// serving the dashboard, the demo worker publishing jobs for alice, bob and carol, and the
// dashboard in headless Chromium, once logged in as alice, once as bob and once with a wrongly
// signed token. Then a second demo worker: alice cancels her job with the Cancel button, and
// the worker is killed with SIGKILL, which leaves bob's job stalled on his board. Everything on
// 127.0.0.1; every wait is bounded; every child process is killed at the end.
//
//   node dashboard.e2e.mjs --bridge PATH --demo-worker PATH --broker-config DIR --web-root DIR
//                          --screenshot FILE [--mosquitto PATH]
import { parseArgs } from 'node:util';

import { ProgressSystem } from '../support/progress-system.mjs';

const { values: opt } = parseArgs({
  options: {
    bridge: { type: 'string' },
    'demo-worker': { type: 'string' },
    'broker-config': { type: 'string' },
    'web-root': { type: 'string' },
    screenshot: { type: 'string' },
    mosquitto: { type: 'string', default: '/usr/sbin/mosquitto' },
    'keep-dir': { type: 'boolean', default: false },
  },
});
for (const name of ['bridge', 'demo-worker', 'broker-config', 'web-root', 'screenshot']) {
  if (!opt[name]) {
    console.error(`usage: dashboard.e2e.mjs --bridge PATH --demo-worker PATH --broker-config DIR --web-root DIR --screenshot FILE (missing --${name})`);
    process.exit(2);
  }
}

// playwright-core comes from tests/e2e/node_modules (npm ci); say so plainly when it is missing.
let checks;
try {
  checks = await import('./dashboard-checks.mjs');
} catch (e) {
  console.error(`FAIL: cannot load playwright-core (${e.message}); run: npm ci --prefix tests/e2e`);
  process.exit(1);
}
const { checkDashboard, launchBrowser, log, waitFor } = checks;

const TEST_TIMEOUT_MS = 240000;
const system = new ProgressSystem({
  bridge: opt.bridge,
  brokerConfig: opt['broker-config'],
  mosquitto: opt.mosquitto,
  webRoot: opt['web-root'],
  users: ['alice', 'bob'],
  keepDir: opt['keep-dir'],
});
let closeBrowser = null;

// A token the bridge refuses shows why on the board, not an endless "reconnecting": the
// browser cannot see the 401 of the WebSocket, the client asks /api/v1/session.
async function checkRefusedToken(chrome) {
  const page = await chrome.newPage({ viewport: { width: 1280, height: 600 } });
  const forged = await system.token('alice', { secret: 'a-different-secret-of-at-least-32-bytes!' });
  await page.goto(`${system.baseUrl}/#token=${forged}`, { waitUntil: 'load', timeout: 30000 });
  await waitFor('the board to say the token is refused', async () => (await page.getAttribute('#connection', 'data-state')) === 'unauthorized', { ms: 20000 });
  const notice = await page.textContent('#notice');
  if (!notice.includes('signed with a different key')) throw new Error(`the board says "${notice}" for a wrongly signed token`);
  log(`a wrongly signed token shows: ${notice}`);
  await page.screenshot({ path: opt.screenshot.replace(/(\.png)?$/, '-refused.png') });
  await page.close();
}

// The unfinished jobs of `userId` on `page` whose Cancel button shows.
function cancellableJobs(page, userId) {
  return page.$$eval(
    'article.job',
    (els, user) => els.filter((el) => el.dataset.userId === user && ['started', 'in_progress'].includes(el.dataset.status) && !el.querySelector('.cancel-job').hidden).map((el) => el.dataset.jobId),
    userId,
  );
}

// Alice cancels a running job from her board and sees it end `cancelled`; then the worker dies
// without a goodbye and bob's board shows his unfinished job stalled.
async function checkCancelAndStall(alice, bob) {
  const worker = system.spawn('progress-demo-worker-2', opt['demo-worker'], ['--rounds', '1', '--speed', '0.5', '--worker-id', 'e2e-doomed'], {
    PROGRESS_MQTT_URL: system.mqttUrl,
    PROGRESS_MQTT_USERNAME: 'worker',
    PROGRESS_MQTT_PASSWORD: system.accounts.worker,
  });
  const [jobId] = await waitFor("alice's new job with a Cancel button", () => cancellableJobs(alice.page, 'alice').then((ids) => ids.length > 0 && ids), { ms: 60000 });
  const card = alice.page.locator(`article.job[data-job-id="${jobId}"]`);
  await card.locator('.cancel-job').click({ timeout: 10000 });
  await waitFor('the confirmation', () => card.locator('.cancel-confirm').isVisible(), { ms: 10000 });
  if (await card.locator('.cancel-job').isVisible()) throw new Error('the Cancel button still shows next to its confirmation');
  await card.locator('.confirm-cancel').click({ timeout: 10000 });
  await waitFor(`${jobId} to end cancelled`, async () => (await card.getAttribute('data-status')) === 'cancelled', { ms: 60000 });
  const message = await card.locator('.message').textContent();
  if (!message.includes('Cancelled by alice')) throw new Error(`the cancelled job says "${message}"`);
  if (await card.locator('.cancel-job').isVisible()) throw new Error('a cancelled job still offers Cancel');
  log(`[alice] cancelled ${jobId} from the dashboard: "${message}"`);

  const [bobsJob] = await waitFor("bob's running job of the second worker", () => cancellableJobs(bob.page, 'bob').then((ids) => ids.length > 0 && ids), { ms: 60000 });
  worker.child.kill('SIGKILL');
  const bobsCard = bob.page.locator(`article.job[data-job-id="${bobsJob}"]`);
  await waitFor(`${bobsJob} to show stalled on bob's board`, async () => (await bobsCard.getAttribute('data-stalled')) === 'worker_offline', { ms: 30000 });
  const note = await bobsCard.locator('.job-note').textContent();
  if (!note.startsWith('Stalled: its worker e2e-doomed went offline')) throw new Error(`the stalled job says "${note}"`);
  if (!(await bobsCard.locator('.stall-flag').isVisible())) throw new Error('the stalled job shows no Stalled flag');
  log(`[bob] ${bobsJob} after kill -9 of its worker: ${note}`);
  await bob.page.bringToFront();
  await bob.page.screenshot({ path: opt.screenshot.replace(/(\.png)?$/, '-stalled.png'), fullPage: true });
}

async function main() {
  await system.start();
  const baseUrl = system.baseUrl;

  // The page is served before any job exists, so a static-file problem shows as such.
  const index = await fetch(`${baseUrl}/`, { signal: AbortSignal.timeout(10000) });
  const html = await index.text();
  if (!index.ok || !html.includes('dashboard.js')) throw new Error(`GET / did not serve the dashboard (HTTP ${index.status})`);

  const chrome = await launchBrowser();
  closeBrowser = chrome.close;
  await checkRefusedToken(chrome);
  // Alice and Bob watch side by side. The demo worker's failing job is Bob's, so each sees
  // only their own jobs, Alice's complete, and Bob's failed import shows its error.
  const viewers = [
    { user: 'alice', expectFailed: false, screenshot: opt.screenshot },
    { user: 'bob', expectFailed: true, screenshot: opt.screenshot.replace(/(\.png)?$/, '-bob.png') },
  ];
  for (const viewer of viewers) {
    viewer.token = await system.token(viewer.user);
    viewer.page = await chrome.newPage({ viewport: { width: 1280, height: 900 } });
  }

  // Open the pages first, then start the worker: the test sees jobs appear and move live.
  const watching = Promise.all(
    viewers.map((v) => checkDashboard(v.page, { baseUrl, token: v.token, user: v.user, expectFailed: v.expectFailed, screenshot: v.screenshot, timeoutMs: 150000 })),
  );
  for (const { page, user } of viewers) {
    await waitFor(`${user}'s dashboard to connect`, async () => (await page.getAttribute('#connection', 'data-state').catch(() => null)) === 'open', { ms: 30000 }).catch(() => {});
  }
  // One round (four jobs: alice's launch, bob's sell and failing import, carol's scan), sped up.
  const worker = system.spawn('progress-demo-worker', opt['demo-worker'], ['--rounds', '1', '--speed', '2'], {
    PROGRESS_MQTT_URL: system.mqttUrl,
    PROGRESS_MQTT_USERNAME: 'worker',
    PROGRESS_MQTT_PASSWORD: system.accounts.worker,
  });
  // A worker that exits 0 has simply run all its jobs; one that fails ends the test.
  let finished = false;
  const crashed = waitFor(
    'the test to finish',
    () => {
      if (worker.exited && worker.exited.code !== 0) system.alive(worker);
      system.alive(system.bridge);
      system.alive(system.mosquitto);
      return finished;
    },
    { ms: TEST_TIMEOUT_MS, everyMs: 250 },
  );
  try {
    await Promise.race([watching, crashed]);
  } finally {
    finished = true;
  }
  await crashed;
  await checkCancelAndStall(viewers[0], viewers[1]);
}

const watchdog = setTimeout(async () => {
  console.error(`FAIL: the test took longer than ${TEST_TIMEOUT_MS / 1000} s`);
  await system.stop();
  process.exit(1);
}, TEST_TIMEOUT_MS + 30000);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await system.stop();
    process.exit(1);
  });
}

try {
  await main();
  log('PASS');
} catch (e) {
  console.error(`FAIL: ${e.message}`);
  console.error(await system.logs());
  process.exitCode = 1;
} finally {
  if (closeBrowser) await closeBrowser().catch(() => {});
  await system.stop();
  clearTimeout(watchdog);
}
