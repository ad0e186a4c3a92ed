// Shared by the end-to-end tests: the system's headless Chromium and the checks run on the
// dashboard. Every wait is bounded.
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';

import { log, waitFor } from '../support/progress-system.mjs';

export { log, waitFor };

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * Starts Chromium on a fresh profile (Playwright passes it as --user-data-dir); returns
 * {newPage(options), close()}.
 */
export async function launchBrowser() {
  const profile = await mkdtemp(join(tmpdir(), 'progress-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60000,
    viewport: { width: 1200, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
  return {
    context,
    async newPage({ viewport } = {}) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

// What the page shows for every job card.
async function readCards(page) {
  return page.$$eval('article.job', (els) =>
    els.map((el) => ({
      jobId: el.dataset.jobId,
      userId: el.dataset.userId,
      status: el.dataset.status,
      value: el.querySelector('[role=progressbar]')?.getAttribute('aria-valuenow'),
      error: el.querySelector('.error-text')?.hidden ? '' : (el.querySelector('.error-text')?.textContent ?? ''),
    })),
  );
}

/**
 * Loads the dashboard with `token` and checks that it shows `user`'s jobs live:
 * a progress bar moves, every job reaches a final state, a failed job shows its error, and no
 * job of another user is ever rendered (checked on every sample). Saves a screenshot.
 */
export async function checkDashboard(page, { baseUrl, token, user, screenshot, timeoutMs = 90000, expectFailed = true }) {
  const say = (text) => log(`[${user}] ${text}`);
  const foreign = new Set();
  const consoleErrors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(String(err)));

  // Look at every render, not only at the samples: a foreign job shown for one frame is a leak.
  await page.exposeFunction('reportForeignJob', (who) => foreign.add(who));
  await page.addInitScript((own) => {
    new MutationObserver(() => {
      for (const el of document.querySelectorAll('article.job[data-user-id]')) {
        if (el.dataset.userId !== own) window.reportForeignJob(`${el.dataset.userId}/${el.dataset.jobId}`);
      }
    }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-user-id'] });
  }, user);

  say(`opening ${baseUrl}/ as ${user}`);
  await page.goto(`${baseUrl}/#token=${token}`, { waitUntil: 'load', timeout: 30000 });
  await waitFor('the board to show', () => page.isVisible('#board'), { ms: 15000 });
  await waitFor('the live connection', async () => (await page.getAttribute('#connection', 'data-state')) === 'open', { ms: 30000 });
  say(`connected over ${await page.getAttribute('#connection', 'data-transport')}`);

  // A bar that moves: remember the highest value seen per job and wait for one to grow.
  const seen = new Map();
  let moved = null;
  await waitFor(
    'a progress bar to move (aria-valuenow increasing)',
    async () => {
      for (const card of await readCards(page)) {
        if (card.userId !== user) foreign.add(`${card.userId}/${card.jobId}`);
        if (card.value === null || card.value === undefined) continue;
        const value = Number(card.value);
        const before = seen.get(card.jobId);
        if (before !== undefined && value > before) moved = { jobId: card.jobId, from: before, to: value };
        seen.set(card.jobId, Math.max(before ?? -1, value));
      }
      return moved;
    },
    { ms: timeoutMs, everyMs: 100 },
  );
  say(`progress moved: ${moved.jobId} ${moved.from} -> ${moved.to}`);

  let cards;
  await waitFor(
    `every job of ${user} to reach a final state${expectFailed ? ' (one of them failed)' : ''}`,
    async () => {
      cards = await readCards(page);
      for (const card of cards) if (card.userId !== user) foreign.add(`${card.userId}/${card.jobId}`);
      // The jobs on screen when progress moved must finish (a worker may start more later).
      const mine = cards.filter((c) => c.userId === user);
      const tracked = mine.filter((c) => seen.has(c.jobId));
      const final = tracked.length > 0 && tracked.every((c) => ['completed', 'failed', 'cancelled'].includes(c.status));
      return final && (!expectFailed || mine.some((c) => c.status === 'failed'));
    },
    { ms: timeoutMs, everyMs: 250 },
  );
  say(`final states: ${cards.map((c) => `${c.jobId}=${c.status}`).join(', ')}`);

  const failed = cards.filter((c) => c.status === 'failed');
  for (const card of failed) {
    if (!card.error.trim()) throw new Error(`failed job ${card.jobId} shows no error text`);
    say(`failed job ${card.jobId} shows: ${card.error}`);
  }
  for (const card of cards.filter((c) => c.status === 'completed')) {
    if (card.value !== '100') throw new Error(`completed job ${card.jobId} shows ${card.value}% instead of 100%`);
  }

  // The timeline of the failed (or any) job loads from the events endpoint.
  const target = failed[0] ?? cards[0];
  const card = page.locator(`article.job[data-job-id="${target.jobId}"]`);
  await card.locator('.timeline-toggle').click({ timeout: 10000 });
  await waitFor(`the timeline of ${target.jobId}`, async () => (await card.locator('.timeline li').count()) > 0, { ms: 15000 });
  const rows = await card.locator('.timeline li').allTextContents();
  if (rows.some((r) => r.startsWith('Could not load'))) throw new Error(`timeline failed: ${rows.join(' | ')}`);
  say(`timeline of ${target.jobId}: ${rows.length} entries`);

  if (screenshot) {
    await mkdir(dirname(screenshot), { recursive: true });
    await page.bringToFront(); // a background tab paints no frames to capture
    await page.screenshot({ path: screenshot, fullPage: true });
    say(`screenshot: ${screenshot}`);
  }

  if (foreign.size > 0) throw new Error(`jobs of other users were shown to ${user}: ${[...foreign].join(', ')}`);
  if (consoleErrors.length > 0) throw new Error(`the page logged errors: ${consoleErrors.join(' | ')}`);
  return cards;
}
