// The dashboard in headless Chromium against the fake bridge (tests/e2e/fake-bridge.mjs):
// checks the page and the client in a real browser over WebSocket and over SSE, and the admin
// view, without MQTT or the C++ bridge.
//   node dashboard-fake.e2e.mjs WEB_DIR SCREENSHOT_DIR
import { join } from 'node:path';

import { fakeToken, startFakeBridge } from './fake-bridge.mjs';

// playwright-core comes from tests/e2e/node_modules (npm ci); say so plainly when it is missing.
let checks;
try {
  checks = await import('./dashboard-checks.mjs');
} catch (e) {
  console.error(`FAIL: cannot load playwright-core (${e.message}); run: npm ci --prefix tests/e2e`);
  process.exit(1);
}
const { checkDashboard, launchBrowser, log, waitFor } = checks;

const [webDir, shots] = process.argv.slice(2);
if (!webDir || !shots) {
  console.error('usage: dashboard-fake.e2e.mjs WEB_DIR SCREENSHOT_DIR');
  process.exit(2);
}

const cleanups = [];
const watchdog = setTimeout(() => {
  console.error('FAIL: the whole test took longer than 240 s');
  process.exit(1);
}, 240000);

async function run() {
  for (const transport of ['websocket', 'sse']) {
    const bridge = await startFakeBridge({ webDir, tickMs: 300 });
    cleanups.push(() => bridge.stop());
    const chrome = await launchBrowser();
    cleanups.push(() => chrome.close());
    const page = await chrome.newPage({ viewport: { width: 1200, height: 800 } });
    const token = `${fakeToken('alice')}&transports=${transport}`;
    await checkDashboard(page, { baseUrl: bridge.url, token, user: 'alice', screenshot: join(shots, `dashboard-fake-${transport}.png`) });
    const used = await page.getAttribute('#connection', 'data-transport');
    if (used !== transport) throw new Error(`expected transport ${transport}, the page used ${used}`);
    await chrome.close();
    await bridge.stop();
    cleanups.length = 0;
  }

  // Admin: every user's jobs, grouped by user, with a working filter.
  const bridge = await startFakeBridge({ webDir, tickMs: 300 });
  cleanups.push(() => bridge.stop());
  const chrome = await launchBrowser();
  cleanups.push(() => chrome.close());
  const page = await chrome.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${bridge.url}/#token=${fakeToken('ops', { role: 'admin' })}`, { timeout: 30000 });
  const groups = await waitFor(
    'groups for alice, bob and carol',
    async () => {
      const users = await page.$$eval('section.group:not([hidden])', (els) => els.map((el) => el.dataset.userId));
      return ['alice', 'bob', 'carol'].every((u) => users.includes(u)) && users;
    },
    { ms: 30000 },
  );
  log(`admin sees groups: ${groups.join(', ')}`);
  await page.fill('#filter', 'bob');
  await waitFor('the filter to leave only bob', async () => {
    const users = await page.$$eval('article.job:not([hidden])', (els) => [...new Set(els.map((el) => el.dataset.userId))]);
    return users.length === 1 && users[0] === 'bob';
  }, { ms: 10000 });
  await page.fill('#filter', '');
  await page.screenshot({ path: join(shots, 'dashboard-fake-admin.png'), fullPage: true });
}

try {
  await run();
  log('PASS');
} catch (e) {
  console.error(`FAIL: ${e.message}`);
  process.exitCode = 1;
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  clearTimeout(watchdog);
}
