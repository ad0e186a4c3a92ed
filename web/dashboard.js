// The dashboard: a token, then the user's jobs live (an admin sees everyone's, grouped by user).
// Plain DOM, no framework: every job is one <article data-job-id data-user-id data-status
// [data-stalled]> updated in place, so progress bars animate instead of being re-created.
// Unfinished jobs have a Cancel button that asks for a confirmation first.
import { ProgressClient, decodeToken, isTerminal, jobKey } from './progress-client.js';

const TOKEN_KEY = 'progress-bridge.token';
// Timeline entries shown per job; the bridge bounds its history too.
const MAX_TIMELINE_ROWS = 200;
const TIMELINE_REFRESH_MS = 1000;

const STATUS_LABEL = {
  queued: 'Queued',
  started: 'Started',
  in_progress: 'In progress',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

// What the board says when the bridge refuses the token (401) or the scope (403): the codes
// of docs/api.md, in words a person can act on.
const REFUSALS = {
  token_missing: 'No token was sent.',
  token_malformed: 'This is not a token the bridge can read.',
  token_unsupported_algorithm: 'Your token was signed with an algorithm this bridge does not accept.',
  token_bad_signature: 'Your token was signed with a different key than this bridge uses.',
  token_expired: 'Your token expired.',
  token_not_yet_valid: 'Your token is not valid yet: check the clocks of its issuer and of the bridge.',
  token_missing_claim: 'Your token lacks a claim the bridge needs (sub or exp).',
  token_invalid_subject: 'Your token names a user id the bridge does not accept.',
  forbidden: 'Your token may not see these jobs.',
};

// --- formatting (pure, exported for tests) -----------------------------------------------

/** Why the bridge refused, for people, with what to do next. */
export function refusalText(code) {
  const why = REFUSALS[code] ?? `The bridge refused the token (${code}).`;
  return `${why} Change the token to continue.`;
}

/** "about 2 h 5 min" style remaining time; '' for absent or invalid values. */
export function formatEta(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return '';
  const s = Math.round(ms / 1000);
  if (s < 1) return 'almost done';
  if (s < 60) return `${s} s left`;
  const m = Math.round(s / 60);
  if (m < 60) return `about ${m} min left`;
  const h = Math.floor(m / 60);
  const rest = m % 60;
  if (h < 48) return rest ? `about ${h} h ${rest} min left` : `about ${h} h left`;
  return `about ${Math.round(h / 24)} days left`;
}

/** Percent shown for a job, or null when unknown (the bar is then indeterminate). */
export function percentOf(job) {
  if (typeof job.progress === 'number' && Number.isFinite(job.progress)) {
    return Math.min(100, Math.max(0, job.progress));
  }
  if (job.status === 'completed') return 100;
  if (Number.isInteger(job.current) && Number.isInteger(job.total) && job.total > 0) {
    return Math.min(100, (job.current / job.total) * 100);
  }
  return null;
}

/** "Phase 3/6 — Deploying contract", or just the title, or ''. */
export function formatPhase(job) {
  const title = typeof job.phaseTitle === 'string' ? job.phaseTitle : '';
  if (Number.isInteger(job.phase) && Number.isInteger(job.totalPhases) && job.totalPhases > 0) {
    return `Phase ${job.phase}/${job.totalPhases}${title ? ` — ${title}` : ''}`;
  }
  return title;
}

/** "6,200 / 10,000", "6,200" or ''. */
export function formatCounters(job) {
  const n = (v) => v.toLocaleString('en-US');
  if (Number.isInteger(job.current) && Number.isInteger(job.total)) return `${n(job.current)} / ${n(job.total)}`;
  if (Number.isInteger(job.current)) return n(job.current);
  return '';
}

export function formatTime(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
}

/** What the card says of a stalled job (docs/protocol.md, "Stalled jobs"); '' when it is not. */
export function stallText(job) {
  const stalled = job.stalled;
  if (typeof stalled !== 'object' || stalled === null || isTerminal(job.status)) return '';
  if (stalled.reason === 'worker_offline') {
    const worker = typeof job.workerId === 'string' ? `its worker ${job.workerId}` : 'its worker';
    const at = formatTime(stalled.since);
    return `Stalled: ${worker} went offline${at ? ` at ${at}` : ''}. It goes on only if a worker picks it up again.`;
  }
  const last = formatTime(job.updatedAt ?? job.timestamp);
  return `Stalled: no news from this job${last ? ` since ${last}` : ' for a long time'}.`;
}

/** What the card says of a pending cancel request; '' when there is none or the job ended. */
export function cancelText(job) {
  const request = job.cancelRequested;
  if (typeof request !== 'object' || request === null || isTerminal(job.status)) return '';
  const by = typeof request.requestedBy === 'string' ? ` by ${request.requestedBy}` : '';
  const at = formatTime(request.at);
  return `Cancel requested${by}${at ? ` at ${at}` : ''}; waiting for the worker to stop it.`;
}

/** Case-insensitive match of a filter text against what a job shows. */
export function matchesFilter(job, text) {
  if (!text) return true;
  const hay = [job.userId, job.jobId, job.type, job.status, job.phaseTitle, job.message, job.workerId, job.stalled && 'stalled']
    .filter((v) => typeof v === 'string')
    .join(' ')
    .toLowerCase();
  return text
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => hay.includes(word));
}

// Active jobs first, then finished ones; newest first within each.
function compareJobs(a, b) {
  const ta = isTerminal(a.status) ? 1 : 0;
  const tb = isTerminal(b.status) ? 1 : 0;
  if (ta !== tb) return ta - tb;
  return (b.firstSeen ?? 0) - (a.firstSeen ?? 0) || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);
}

// --- the page ------------------------------------------------------------------------------

class Dashboard {
  constructor(doc) {
    this.doc = doc;
    this.$ = (id) => doc.getElementById(id);
    this.client = null;
    this.token = null;
    this.admin = false;
    this.cards = new Map(); // job key -> {el, job, firstSeen, cancel: {confirming, pending, asked, error}}
    this.groups = new Map(); // user id -> section element
    this.dirty = new Set();
    this.frame = 0;
    this.filterText = '';
    this.transports = undefined; // the client's default order

    this.$('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.signIn(this.$('token-input').value.trim());
    });
    this.$('sign-out').addEventListener('click', () => this.signOut());
    this.$('filter').addEventListener('input', (ev) => {
      this.filterText = ev.target.value.trim();
      for (const key of this.cards.keys()) this.dirty.add(key);
      this.schedule();
    });
    // The buttons of every card: one listener.
    this.$('groups').addEventListener('click', (ev) => {
      const button = ev.target.closest('button');
      const el = button?.closest('.job');
      if (!el) return;
      if (button.classList.contains('timeline-toggle')) this.toggleTimeline(el);
      else if (button.classList.contains('cancel-job')) this.confirmCancel(el, true);
      else if (button.classList.contains('keep-job')) this.confirmCancel(el, false);
      else if (button.classList.contains('confirm-cancel')) this.cancelJob(el);
    });
  }

  start() {
    // A link with #token=... opened in a tab that already shows the page.
    addEventListener('hashchange', () => {
      if (new URLSearchParams(location.hash.slice(1)).has('token')) this.fromLocation();
    });
    this.fromLocation();
  }

  fromLocation() {
    const hash = new URLSearchParams(location.hash.slice(1));
    const fromHash = hash.get('token');
    // `#transports=sse,poll` pins the transports (for diagnosing proxies that break WebSockets).
    const transports = (hash.get('transports') ?? '').split(',').filter(Boolean);
    if (transports.length > 0) this.transports = transports;
    if (fromHash) {
      // Keep the token out of the address bar and history.
      history.replaceState(null, '', location.pathname + location.search);
      this.signIn(fromHash);
      return;
    }
    const stored = sessionStorage.getItem(TOKEN_KEY);
    if (stored) this.signIn(stored);
    else this.showLogin();
  }

  showLogin(error) {
    this.$('login').hidden = false;
    this.$('board').hidden = true;
    this.$('account').hidden = true;
    const err = this.$('token-error');
    err.hidden = !error;
    err.textContent = error ?? '';
    this.$('token-input').focus();
  }

  signIn(token) {
    const claims = decodeToken(token);
    if (!claims || typeof claims.sub !== 'string') {
      this.showLogin('That does not look like an access token (a JWT with a "sub" claim).');
      return;
    }
    if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) {
      this.showLogin('This token has expired. Ask for a new one.');
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    this.token = token;
    this.admin = claims.role === 'admin';
    this.$('login').hidden = true;
    this.$('board').hidden = false;
    this.$('account').hidden = false;
    this.$('who').textContent = this.admin ? `${claims.sub} · admin, all users` : claims.sub;
    this.$('board-title').textContent = this.admin ? 'Jobs of all users' : 'Your jobs';
    this.doc.body.dataset.admin = String(this.admin);
    this.connect();
  }

  signOut() {
    this.client?.close();
    this.client = null;
    sessionStorage.removeItem(TOKEN_KEY);
    this.clear();
    this.$('token-input').value = '';
    this.showLogin();
  }

  connect() {
    this.client?.close();
    this.clear();
    const client = new ProgressClient({ token: this.token, transports: this.transports, autoConnect: false });
    this.client = client;
    client.on('status', (s) => this.showConnection(s));
    client.on('snapshot', ({ jobs }) => {
      for (const key of [...this.cards.keys()]) {
        if (!jobs.has(key)) this.removeCard(key);
      }
      for (const job of jobs.values()) this.put(job);
    });
    client.on('job', ({ job }) => this.put(job));
    client.on('removed', ({ userId, jobId }) => this.removeCard(jobKey(userId, jobId)));
    if (this.admin) client.subscribe({ userId: '*' });
    client.connect();
  }

  notice(text) {
    const el = this.$('notice');
    el.hidden = !text;
    el.textContent = text ?? '';
  }

  showConnection({ state, transport, reconnectInMs, error }) {
    const el = this.$('connection');
    el.dataset.state = state;
    el.dataset.transport = transport ?? '';
    const via = { websocket: 'WebSocket', sse: 'SSE', poll: 'polling' }[transport] ?? '';
    let text = state;
    if (state === 'open') text = `live · ${via}`;
    else if (state === 'connecting') text = `connecting · ${via}`;
    else if (state === 'fallback') text = `switching to ${via}`;
    else if (state === 'closed') {
      text = reconnectInMs !== undefined ? `reconnecting in ${Math.ceil(reconnectInMs / 1000)} s` : 'closed';
    } else if (state === 'unauthorized') text = 'token refused';
    else if (state === 'forbidden') text = 'not allowed';
    this.$('connection-text').textContent = text;
    if (state === 'open') this.notice('');
    if (error) this.notice(refusalText(error.code));
  }

  clear() {
    this.cards.clear();
    this.groups.clear();
    this.dirty.clear();
    this.$('groups').replaceChildren();
    this.renderSummary();
  }

  put(job) {
    const key = jobKey(job.userId, job.jobId);
    const card = this.cards.get(key);
    if (card) {
      card.job = job;
    } else {
      this.cards.set(key, { el: null, job, firstSeen: job.timestamp ?? job.updatedAt ?? Date.now(), cancel: {} });
    }
    this.refresh(key);
  }

  refresh(key) {
    this.dirty.add(key);
    this.schedule();
  }

  removeCard(key) {
    const card = this.cards.get(key);
    if (!card) return;
    card.el?.remove();
    this.cards.delete(key);
    this.schedule();
  }

  // One render per frame however many updates arrive. A hidden tab gets no frames, so it
  // renders on a (browser-throttled) timer instead and is current when shown again.
  schedule() {
    if (this.frame) return;
    const run = () => {
      this.frame = 0;
      this.render();
    };
    this.frame = this.doc.hidden ? setTimeout(run, 250) : requestAnimationFrame(run);
  }

  group(userId) {
    let section = this.groups.get(userId);
    if (!section) {
      section = this.doc.createElement('section');
      section.className = 'group';
      section.dataset.userId = userId;
      const head = this.doc.createElement('h3');
      head.className = 'group-head';
      const name = this.doc.createElement('span');
      name.className = 'group-user';
      name.textContent = userId;
      const count = this.doc.createElement('span');
      count.className = 'group-count muted';
      head.append(name, count);
      const list = this.doc.createElement('div');
      list.className = 'jobs';
      section.append(head, list);
      this.groups.set(userId, section);
    }
    return section;
  }

  render() {
    for (const key of this.dirty) {
      const card = this.cards.get(key);
      if (!card) continue;
      if (!card.el) card.el = this.createCard();
      this.fill(card.el, card.job, card.cancel);
      card.el.hidden = !matchesFilter(card.job, this.filterText);
    }
    this.dirty.clear();

    // Order groups by user id and cards within a group; move only what is out of place.
    const byUser = new Map();
    for (const card of this.cards.values()) {
      const list = byUser.get(card.job.userId) ?? [];
      list.push({ ...card.job, firstSeen: card.firstSeen, el: card.el });
      byUser.set(card.job.userId, list);
    }
    const container = this.$('groups');
    const users = [...byUser.keys()].sort();
    for (const [userId, section] of [...this.groups]) {
      if (!byUser.has(userId)) {
        section.remove();
        this.groups.delete(userId);
      }
    }
    let anchor = null;
    for (const userId of users) {
      const section = this.group(userId);
      const expected = anchor ? anchor.nextSibling : container.firstChild;
      if (section !== expected) container.insertBefore(section, expected);
      anchor = section;
      const list = section.querySelector('.jobs');
      const entries = byUser.get(userId).sort(compareJobs);
      entries.forEach((entry, i) => {
        if (list.children[i] !== entry.el) list.insertBefore(entry.el, list.children[i] ?? null);
      });
      const visible = entries.filter((e) => !e.el.hidden).length;
      section.hidden = visible === 0;
      const active = entries.filter((e) => !isTerminal(e.status)).length;
      section.querySelector('.group-count').textContent = `${entries.length} job${entries.length === 1 ? '' : 's'} · ${active} active`;
    }
    // A single user's board needs no per-user heading.
    container.classList.toggle('single-user', !this.admin);
    this.$('empty').hidden = this.cards.size > 0;
    this.renderSummary();
  }

  renderSummary() {
    const counts = { active: 0, stalled: 0, completed: 0, failed: 0, cancelled: 0 };
    for (const { job } of this.cards.values()) {
      if (isTerminal(job.status)) counts[job.status]++;
      else counts.active++;
      if (stallText(job)) counts.stalled++;
    }
    const el = this.$('summary');
    el.replaceChildren();
    for (const [name, n] of Object.entries(counts)) {
      const chip = this.doc.createElement('span');
      chip.className = `chip chip-${name}`;
      chip.dataset.count = String(n);
      chip.textContent = `${n} ${name}`;
      el.append(chip);
    }
  }

  createCard() {
    return this.$('job-template').content.firstElementChild.cloneNode(true);
  }

  fill(el, job, cancel = {}) {
    const text = (sel, value) => {
      const node = el.querySelector(sel);
      node.textContent = value;
      node.hidden = !value;
    };
    el.dataset.jobId = job.jobId;
    el.dataset.userId = job.userId;
    el.dataset.status = job.status;
    text('.job-type', typeof job.type === 'string' ? job.type.replace(/_/g, ' ') : 'job');
    el.querySelector('.job-id').textContent = job.jobId;
    el.querySelector('.status-badge').textContent = STATUS_LABEL[job.status] ?? job.status;

    const bar = el.querySelector('.bar');
    const pct = percentOf(job);
    bar.setAttribute('aria-label', `Progress of ${job.jobId}`);
    if (pct === null) {
      bar.removeAttribute('aria-valuenow');
      bar.removeAttribute('aria-valuetext');
      bar.classList.add('indeterminate');
      el.querySelector('.bar-fill').style.width = '';
    } else {
      const rounded = Math.round(pct);
      bar.setAttribute('aria-valuenow', String(rounded));
      bar.setAttribute('aria-valuetext', `${rounded} percent`);
      bar.classList.remove('indeterminate');
      el.querySelector('.bar-fill').style.width = `${pct}%`;
    }
    text('.phase', formatPhase(job));
    text('.percent', pct === null ? '' : `${Math.round(pct)}%`);
    text('.message', typeof job.message === 'string' ? job.message : '');
    text('.detail', typeof job.detail === 'string' ? job.detail : '');
    const err = job.error && typeof job.error.message === 'string' ? job.error : null;
    text('.error-text', err ? (err.code ? `${err.message} (${err.code})` : err.message) : '');
    text('.counters', formatCounters(job));
    text('.eta', isTerminal(job.status) ? '' : formatEta(job.etaMs));
    const meta = [];
    if (Number.isInteger(job.attempt) && job.attempt > 0) meta.push(`attempt ${job.attempt}`);
    if (typeof job.workerId === 'string') meta.push(job.workerId);
    const at = formatTime(job.updatedAt ?? job.timestamp);
    if (at) meta.push(`updated ${at}`);
    text('.meta', meta.join(' · '));

    const stalled = stallText(job);
    if (stalled) el.dataset.stalled = job.stalled.reason;
    else delete el.dataset.stalled;
    el.querySelector('.stall-flag').hidden = !stalled;
    const asked = cancel.asked && !job.cancelRequested ? 'Cancel requested; waiting for the worker to stop it.' : '';
    text('.job-note', [stalled, cancelText(job) || asked, cancel.error].filter(Boolean).join(' '));
    const cancellable = !isTerminal(job.status) && !job.cancelRequested && !cancel.asked;
    el.querySelector('.cancel-job').hidden = !cancellable || cancel.confirming;
    el.querySelector('.cancel-confirm').hidden = !cancellable || !cancel.confirming;
    el.querySelector('.confirm-cancel').disabled = Boolean(cancel.pending);

    // An open timeline follows the job: reload it when the state changed.
    const timeline = el.querySelector('.timeline');
    if (!timeline.hidden && timeline.dataset.loadedAt !== String(job.updatedAt)) this.loadTimelineSoon(el);
  }

  cardOf(el) {
    return this.cards.get(jobKey(el.dataset.userId, el.dataset.jobId));
  }

  confirmCancel(el, confirming) {
    const card = this.cardOf(el);
    if (!card || card.cancel.pending) return;
    card.cancel = { confirming };
    this.refresh(jobKey(el.dataset.userId, el.dataset.jobId));
  }

  // The bridge answers at once; the job shows `cancelRequested` through the stream, and ends
  // `cancelled` when its worker has stopped it.
  async cancelJob(el) {
    const key = jobKey(el.dataset.userId, el.dataset.jobId);
    const card = this.cards.get(key);
    if (!card || card.cancel.pending || !this.client) return;
    card.cancel = { confirming: true, pending: true };
    this.refresh(key);
    try {
      await this.client.cancel(el.dataset.jobId, el.dataset.userId);
      card.cancel = { asked: true };
    } catch (e) {
      card.cancel = { error: `Could not cancel: ${e.message}` };
    }
    this.refresh(key);
  }

  toggleTimeline(el) {
    const button = el.querySelector('.timeline-toggle');
    const timeline = el.querySelector('.timeline');
    const open = timeline.hidden;
    timeline.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    if (open) {
      const card = this.cardOf(el);
      if (card) this.loadTimeline(el, card.job);
    }
  }

  // At most one timeline request per card per TIMELINE_REFRESH_MS while a job moves fast.
  loadTimelineSoon(el) {
    if (el.timelineTimer) return;
    el.timelineTimer = setTimeout(() => {
      el.timelineTimer = null;
      const card = this.cards.get(jobKey(el.dataset.userId, el.dataset.jobId));
      if (card && !el.querySelector('.timeline').hidden) this.loadTimeline(el, card.job);
    }, TIMELINE_REFRESH_MS);
  }

  async loadTimeline(el, job) {
    const timeline = el.querySelector('.timeline');
    timeline.dataset.loadedAt = String(job.updatedAt);
    const url = `/api/v1/users/${encodeURIComponent(job.userId)}/jobs/${encodeURIComponent(job.jobId)}/events`;
    let events;
    try {
      const res = await fetch(url, { headers: { Authorization: `Bearer ${this.token}`, Accept: 'application/json' } });
      const body = await res.json().catch(() => null);
      if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
      if (!body || !Array.isArray(body.events)) throw new Error('unexpected answer');
      events = body.events;
    } catch (e) {
      const row = this.doc.createElement('li');
      row.className = 'timeline-error';
      row.textContent = `Could not load the timeline: ${e.message}`;
      timeline.replaceChildren(row);
      return;
    }
    // Newest first: the end of a job (its failure, say) is what one expands a timeline for.
    const rows = events
      .slice(-MAX_TIMELINE_ROWS)
      .reverse()
      .map((ev) => this.timelineRow(ev));
    if (rows.length === 0) {
      const row = this.doc.createElement('li');
      row.className = 'muted';
      row.textContent = 'No history kept for this job.';
      rows.push(row);
    }
    timeline.replaceChildren(...rows);
  }

  timelineRow(ev) {
    // An event is a job state, possibly wrapped as {state, receivedAt}.
    const s = ev && typeof ev.state === 'object' && ev.state !== null ? ev.state : (ev ?? {});
    const row = this.doc.createElement('li');
    row.dataset.status = typeof s.status === 'string' ? s.status : '';
    const time = this.doc.createElement('time');
    const at = ev?.receivedAt ?? s.updatedAt ?? s.timestamp;
    time.textContent = formatTime(at);
    if (typeof at === 'number') time.dateTime = new Date(at).toISOString();
    const what = this.doc.createElement('span');
    const pct = percentOf(s);
    const parts = [STATUS_LABEL[s.status] ?? String(s.status ?? '?')];
    if (pct !== null) parts.push(`${Math.round(pct)}%`);
    const phase = formatPhase(s);
    if (phase) parts.push(phase);
    if (typeof s.message === 'string' && s.message) parts.push(s.message);
    if (s.error && typeof s.error.message === 'string') parts.push(s.error.message);
    what.textContent = parts.join(' · ');
    row.append(time, what);
    return row;
  }
}

if (typeof document !== 'undefined') {
  const start = () => new Dashboard(document).start();
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}
