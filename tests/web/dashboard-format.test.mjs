// Unit tests of the dashboard's pure formatting helpers (web/dashboard.js does nothing else
// when loaded outside a browser).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  cancelText,
  formatCounters,
  formatEta,
  formatPhase,
  formatTime,
  matchesFilter,
  percentOf,
  refusalText,
  stallText,
} from '../../web/dashboard.js';

test('formatEta speaks in seconds, minutes, hours and days', () => {
  assert.equal(formatEta(undefined), '');
  assert.equal(formatEta(-5), '');
  assert.equal(formatEta(Number.NaN), '');
  assert.equal(formatEta(200), 'almost done');
  assert.equal(formatEta(12000), '12 s left');
  assert.equal(formatEta(90000), 'about 2 min left');
  assert.equal(formatEta(3600000), 'about 1 h left');
  assert.equal(formatEta(7500000), 'about 2 h 5 min left');
  assert.equal(formatEta(5 * 86400000), 'about 5 days left');
});

test('percentOf uses progress, then counters, and knows completed jobs are done', () => {
  assert.equal(percentOf({ status: 'in_progress', progress: 45.5 }), 45.5);
  assert.equal(percentOf({ status: 'in_progress', progress: 140 }), 100);
  assert.equal(percentOf({ status: 'in_progress', current: 25, total: 200 }), 12.5);
  assert.equal(percentOf({ status: 'in_progress', current: 5, total: 0 }), null);
  assert.equal(percentOf({ status: 'completed' }), 100);
  assert.equal(percentOf({ status: 'queued' }), null);
});

test('formatPhase and formatCounters', () => {
  assert.equal(formatPhase({ phase: 3, totalPhases: 6, phaseTitle: 'Deploying contract' }), 'Phase 3/6 — Deploying contract');
  assert.equal(formatPhase({ phase: 3, totalPhases: 6 }), 'Phase 3/6');
  assert.equal(formatPhase({ phaseTitle: 'Warming up' }), 'Warming up');
  assert.equal(formatPhase({}), '');
  assert.equal(formatCounters({ current: 6200, total: 10000 }), '6,200 / 10,000');
  assert.equal(formatCounters({ current: 12 }), '12');
  assert.equal(formatCounters({ total: 12 }), '');
});

test('matchesFilter matches every word against user, job, type, status and message', () => {
  const job = { userId: 'bob', jobId: 'import-7', type: 'data_import', status: 'failed', message: 'Import stopped' };
  assert.equal(matchesFilter(job, ''), true);
  assert.equal(matchesFilter(job, 'BOB'), true);
  assert.equal(matchesFilter(job, 'bob failed'), true);
  assert.equal(matchesFilter(job, 'bob completed'), false);
  assert.equal(matchesFilter(job, 'stopped'), true);
  assert.equal(matchesFilter(job, 'alice'), false);
});

test('refusalText explains each refusal code of the bridge and says what to do', () => {
  assert.equal(refusalText('token_bad_signature'), 'Your token was signed with a different key than this bridge uses. Change the token to continue.');
  assert.equal(refusalText('token_expired'), 'Your token expired. Change the token to continue.');
  for (const code of ['token_missing', 'token_malformed', 'token_unsupported_algorithm', 'token_not_yet_valid', 'token_missing_claim', 'token_invalid_subject', 'forbidden']) {
    assert.ok(!refusalText(code).includes(code), `${code} has its own words`);
  }
  assert.equal(refusalText('token_from_the_future'), 'The bridge refused the token (token_from_the_future). Change the token to continue.');
});

test('stallText says why a job looks abandoned, and nothing once it ended', () => {
  const since = Date.UTC(2026, 0, 2, 3, 4, 5);
  const offline = { status: 'in_progress', workerId: 'importer-1', stalled: { reason: 'worker_offline', since } };
  assert.match(stallText(offline), /^Stalled: its worker importer-1 went offline at /);
  assert.ok(stallText(offline).includes(formatTime(since)));
  const silent = { status: 'queued', updatedAt: since, stalled: { reason: 'silent', since: since + 600000 } };
  assert.equal(stallText(silent), `Stalled: no news from this job since ${formatTime(since)}.`);
  assert.equal(stallText({ status: 'in_progress' }), '');
  assert.equal(stallText({ status: 'completed', stalled: { reason: 'silent', since } }), '');
  assert.equal(matchesFilter(silent, 'stalled'), true);
  assert.equal(matchesFilter({ status: 'queued' }, 'stalled'), false);
});

test('cancelText tells who asked to cancel, until the job ends', () => {
  const at = Date.UTC(2026, 0, 2, 3, 4, 5);
  const job = { status: 'in_progress', cancelRequested: { requestId: 'c-1', requestedBy: 'alice', at } };
  assert.equal(cancelText(job), `Cancel requested by alice at ${formatTime(at)}; waiting for the worker to stop it.`);
  assert.equal(cancelText({ ...job, status: 'cancelled' }), '');
  assert.equal(cancelText({ status: 'in_progress' }), '');
});
