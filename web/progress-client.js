// ProgressClient: live job progress from a Progress Bridge, in the browser or in Node.
//
// One connection at a time, tried in the order of `transports`:
//   websocket  GET /api/v1/ws                        (subscribe/unsubscribe/ping ops)
//   sse        GET /api/v1/users/{userId}/stream     (EventSource)
//   poll       GET /api/v1/users/{userId}/jobs       (fetch, diffed into job/removed events)
// A transport that fails to open `fallbackAfter` times in a row hands over to the
// next one; while polling, the client probes the first transport again now and then.
// Every reconnect asks getToken() for a fresh token and resumes with the last cursor; over
// WebSocket it also sends the versions of the jobs it holds (?resume=state), so that a
// bridge replica that cannot resume the cursor sends only what changed.
// Browsers hide why a WebSocket or EventSource was refused, so after a failed open the client
// asks GET /api/v1/session: a refused token (401) or scope (403) stops the client with a
// reason instead of retrying forever; an expired token is replaced through getToken().
//
// This module is the package's entry point and holds the client itself: options, events, the
// job view and its cache, resume by cursor and by state, token refresh and the choice of
// transport. Each transport is a class of its own (websocket-transport.js, sse-transport.js,
// polling-transport.js) that only moves data; the rules of jobs and tokens are in
// job-rules.js, the bridge's URLs and errors in bridge-api.js.
//
// No dependencies, no build step: ES modules that run as they are (relative imports with
// their .js extension, so that a browser loads them without a bundler). Types:
// progress-client.d.ts.
import { API, apiUrl, refusalError, requestError } from './bridge-api.js';
import { backoffDelay, decodeToken, heldVersion, isId, isObject, isValidJob, jobKey, sameJob } from './job-rules.js';
import { PollingTransport } from './polling-transport.js';
import { SseTransport } from './sse-transport.js';
import { WebSocketTransport } from './websocket-transport.js';

// The public helpers, part of the package's API (progress-client.d.ts).
export { backoffDelay, decodeToken, isTerminal, isValidJob, jobKey } from './job-rules.js';

const EVENT_TYPES = new Set(['snapshot', 'resume', 'job', 'removed', 'status', 'error', 'pong']);
// Final states: the bridge refused the token (401) or what it asked for (403).
const REFUSED_STATES = new Set(['unauthorized', 'forbidden']);

const DEFAULTS = {
  transports: ['websocket', 'sse', 'poll'],
  pollIntervalMs: 2000,
  pollPageLimit: 200,
  // A user with more jobs than this is shown the first pages only while polling.
  maxPollPages: 20,
  // Consecutive failures to open a transport before falling back to the next one.
  fallbackAfter: 3,
  // While polling as a fallback, try the preferred transport again this often.
  upgradeAfterMs: 60000,
  // A connection that neither opens nor fails within this time counts as failed.
  connectTimeoutMs: 10000,
  // Upper bound on the jobs kept in the view; further new jobs are ignored (with one
  // `error` event) until some are removed. The bridge bounds its store as well.
  maxJobs: 10000,
  // Reconnect over WebSocket by the job versions held (the bridge's state resume).
  stateResume: true,
  backoff: { initialMs: 500, maxMs: 30000, factor: 2, jitter: 0.3 },
};

// The bridge's bounds on a `resume` op (docs/protocol.md "State resume"); beyond them the
// client reconnects without it and receives a full snapshot.
const MAX_RESUME_BYTES = 512 * 1024;
const MAX_RESUME_JOBS = 10000;

export class ProgressClient {
  /** @param {import('./progress-client').ProgressClientOptions} options */
  constructor(options = {}) {
    // An option given as undefined keeps its default.
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    const o = { ...DEFAULTS, ...given, backoff: { ...DEFAULTS.backoff, ...(given.backoff || {}) } };
    const g = globalThis;
    this.baseUrl_ = String(o.baseUrl ?? (g.location ? g.location.origin : '')).replace(/\/+$/, '');
    if (!this.baseUrl_) throw new TypeError('ProgressClient: baseUrl is required outside a browser');
    if (o.getToken !== undefined && typeof o.getToken !== 'function') {
      throw new TypeError('ProgressClient: getToken must be a function');
    }
    this.getToken_ = o.getToken ?? (() => o.token);
    // Only an application that hands out tokens through getToken can replace an expired one.
    this.refreshable_ = typeof o.getToken === 'function';
    this.fixedUserId_ = o.userId;
    this.transports_ = o.transports.filter((t) => t === 'websocket' || t === 'sse' || t === 'poll');
    if (this.transports_.length === 0) throw new TypeError('ProgressClient: no usable transport');
    this.o_ = o;
    this.WebSocket_ = o.WebSocket ?? g.WebSocket;
    this.EventSource_ = o.EventSource ?? g.EventSource;
    this.fetch_ = o.fetch ?? (g.fetch ? g.fetch.bind(g) : undefined);
    this.setTimeout_ = o.setTimeout ?? g.setTimeout.bind(g);
    this.clearTimeout_ = o.clearTimeout ?? g.clearTimeout.bind(g);
    this.random_ = o.random ?? Math.random;

    /** The current view: job key (see jobKey) -> job object. */
    this.jobs = new Map();
    /** Last cursor processed; resumes the stream after a reconnect. */
    this.cursor = null;
    /** 'idle' | 'connecting' | 'open' | 'closed' | 'fallback' | 'unauthorized' | 'forbidden' */
    this.state = 'idle';
    /** The transport in use or being tried. */
    this.transport = null;
    /** The user whose jobs are shown ('*' for an admin following everyone), once known. */
    this.userId = null;
    /** The token's payload (unverified), once known. */
    this.claims = null;

    this.listeners_ = new Map();
    this.scope_ = {}; // {jobIds?, types?, userId?}
    this.transportIndex_ = 0;
    this.openFailures_ = 0; // consecutive failures to open the current transport
    this.attempt_ = 0; // consecutive reconnects without a healthy stream, drives backoff
    this.conn_ = null; // {close()} of the live connection
    this.generation_ = 0; // bumps on every connect; stale callbacks compare and bail out
    this.timer_ = null;
    this.upgradeTimer_ = null;
    this.closed_ = false;
    this.started_ = false;
    this.overflowReported_ = false;
    this.pingId_ = 0;
    this.probeReturn_ = undefined; // transport index to go back to when a probe fails
    this.missedOnce_ = new Set(); // polling: keys missing from the last multi-page listing
    this.expiredToken_ = null; // the last token refused as expired: never retried

    // Let the caller attach listeners in the same tick before anything happens.
    if (o.autoConnect !== false) queueMicrotask(() => this.connect());
  }

  // --- events -------------------------------------------------------------------------

  /** Adds a listener; returns a function that removes it. */
  on(type, fn) {
    if (!EVENT_TYPES.has(type)) throw new TypeError(`ProgressClient: unknown event '${type}'`);
    if (!this.listeners_.has(type)) this.listeners_.set(type, new Set());
    this.listeners_.get(type).add(fn);
    return () => this.off(type, fn);
  }

  off(type, fn) {
    this.listeners_.get(type)?.delete(fn);
  }

  emit_(type, detail) {
    for (const fn of [...(this.listeners_.get(type) ?? [])]) {
      try {
        fn(detail);
      } catch (e) {
        // A broken listener must not break the stream for the others.
        console.error('ProgressClient listener failed:', e);
      }
    }
  }

  // --- public operations ----------------------------------------------------------------

  /**
   * Starts connecting (done automatically unless autoConnect is false). Idempotent, except
   * after the bridge refused the client ('unauthorized', 'forbidden'): then it tries again,
   * for instance once getToken() has a new token to give.
   */
  connect() {
    if (this.closed_ || (this.started_ && !REFUSED_STATES.has(this.state))) return;
    this.started_ = true;
    this.attempt_ = 0;
    this.openFailures_ = 0;
    this.open_();
  }

  /**
   * Narrows (or, for admins, widens) what the stream covers; `{}` is the default scope.
   * The view is replaced by the snapshot that follows.
   */
  subscribe(scope = {}) {
    const next = {};
    if (Array.isArray(scope.jobIds)) next.jobIds = scope.jobIds.filter(isId);
    if (Array.isArray(scope.types)) next.types = scope.types.filter((t) => typeof t === 'string');
    if (scope.userId === '*' || isId(scope.userId)) next.userId = scope.userId;
    const userChanged = (next.userId ?? null) !== (this.scope_.userId ?? null);
    this.scope_ = next;
    if (!this.started_ || this.closed_) return;
    if (this.transport === 'websocket' && this.conn_?.send && this.state === 'open' && !userChanged) {
      this.conn_.send(this.subscribeOp_());
    } else {
      // SSE and polling carry the scope in the URL: start over with a fresh snapshot.
      this.cursor = null;
      this.restart_();
    }
  }

  /** Back to the default scope: all of the token's own jobs. */
  unsubscribe() {
    this.subscribe({});
  }

  /** Sends a ping over WebSocket (answered by a `pong` event); false on other transports. */
  ping(id = String(++this.pingId_)) {
    if (this.transport !== 'websocket' || this.state !== 'open' || !this.conn_?.send) return false;
    this.conn_.send(JSON.stringify({ op: 'ping', id }));
    return true;
  }

  /**
   * Asks the bridge to cancel a job (POST /api/v1/users/{userId}/jobs/{jobId}/cancel, the token
   * in the Authorization header): resolves to `{requestId}` once the bridge took the request
   * (202; the job then shows `cancelRequested` until it ends). Rejects with an Error carrying
   * the bridge's `code` and the HTTP `status`: 403 `forbidden`, 404 `not_found`, 409
   * `job_finished`, 503 `broker_unavailable`, 429 `rate_limited`...; `network_error` or
   * `timeout` (status 0) when no answer came within `connectTimeoutMs`. `userId` defaults to
   * the user followed (the token's own); an admin following everyone names it.
   */
  async cancel(jobId, userId) {
    if (typeof this.fetch_ !== 'function') throw requestError('fetch is not available', 'fetch_unavailable', 0);
    const token = await this.getToken_();
    const followed = this.userId && this.userId !== '*' ? this.userId : null;
    const owner = userId ?? followed ?? this.fixedUserId_ ?? decodeToken(token)?.sub;
    if (!isId(jobId)) throw new TypeError('ProgressClient.cancel: jobId is not a valid id');
    if (!isId(owner)) throw new TypeError('ProgressClient.cancel: name the userId whose job to cancel');
    const path = `${API}/users/${encodeURIComponent(owner)}/jobs/${encodeURIComponent(jobId)}/cancel`;
    const abort = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = this.setTimeout_(() => abort?.abort(), this.o_.connectTimeoutMs);
    let res;
    let body = null;
    try {
      res = await this.fetch_(apiUrl(this.baseUrl_, path, {}).toString(), {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
        signal: abort?.signal,
      });
      body = await res.json().catch(() => null);
    } catch (e) {
      const timedOut = abort?.signal.aborted === true;
      throw requestError(timedOut ? 'the bridge did not answer in time' : String(e?.message ?? e), timedOut ? 'timeout' : 'network_error', 0);
    } finally {
      this.clearTimeout_(timer);
    }
    if (res.status === 202 && isObject(body) && typeof body.requestId === 'string') return { requestId: body.requestId };
    throw refusalError(res, body);
  }

  /** Stops for good: closes the connection and cancels every timer. */
  close() {
    if (this.closed_) return;
    this.closed_ = true;
    this.generation_++;
    this.clearTimers_();
    this.conn_?.close();
    this.conn_ = null;
    this.setState_('closed', { final: true });
  }

  // --- connection lifecycle ---------------------------------------------------------

  clearTimers_() {
    if (this.timer_ !== null) this.clearTimeout_(this.timer_);
    if (this.upgradeTimer_ !== null) this.clearTimeout_(this.upgradeTimer_);
    this.timer_ = null;
    this.upgradeTimer_ = null;
  }

  restart_() {
    this.generation_++;
    this.clearTimers_();
    this.conn_?.close();
    this.conn_ = null;
    this.open_();
  }

  setState_(state, extra = {}) {
    this.state = state;
    this.emit_('status', { state, transport: this.transport, ...extra });
  }

  async open_() {
    const generation = ++this.generation_;
    this.transport = this.transports_[this.transportIndex_];
    this.setState_('connecting', { attempt: this.attempt_ });
    let token;
    try {
      token = await this.getToken_();
    } catch (e) {
      if (generation !== this.generation_) return;
      this.emit_('error', { code: 'token_unavailable', message: String(e?.message ?? e) });
      this.scheduleReconnect_(generation, { opened: true });
      return;
    }
    if (generation !== this.generation_) return;
    this.claims = decodeToken(token);
    const own = this.fixedUserId_ ?? this.claims?.sub;
    this.userId = this.scope_.userId ?? own ?? null;
    if (this.transport !== 'websocket' && !this.userId) {
      this.emit_('error', { code: 'no_user', message: 'no userId given and the token has no sub' });
      this.scheduleReconnect_(generation, { opened: true });
      return;
    }
    const ctx = { generation, token, opened: false };
    try {
      if (this.transport === 'websocket') this.openWebSocket_(ctx);
      else if (this.transport === 'sse') this.openEventSource_(ctx);
      else this.openPoll_(ctx);
    } catch (e) {
      // A constructor that throws (bad URL, transport missing) counts as a failure to open.
      this.emit_('error', { code: 'transport_unavailable', message: String(e?.message ?? e) });
      this.connectionLost_(ctx, { explained: true });
    }
  }

  subscribeOp_() {
    const { jobIds, types, userId } = this.scope_;
    if (!jobIds && !types && !userId) return JSON.stringify({ op: 'unsubscribe' });
    const op = { op: 'subscribe' };
    if (jobIds) op.jobIds = jobIds;
    if (types) op.types = types;
    if (userId) op.userId = userId;
    return JSON.stringify(op);
  }

  armConnectTimeout_(ctx, onTimeout) {
    this.timer_ = this.setTimeout_(() => {
      this.timer_ = null;
      if (ctx.generation === this.generation_ && !ctx.opened) onTimeout();
    }, this.o_.connectTimeoutMs);
  }

  // False once `ctx` is stale: a listener of the `open` status may close the client or move
  // it to another connection, and the caller must then leave this one alone.
  markOpen_(ctx) {
    if (ctx.opened) return this.current_(ctx);
    ctx.opened = true;
    if (this.timer_ !== null) this.clearTimeout_(this.timer_);
    this.timer_ = null;
    this.openFailures_ = 0;
    this.setState_('open');
    if (!this.current_(ctx)) return false;
    if (this.transportIndex_ > 0) this.scheduleUpgrade_(ctx.generation);
    return true;
  }

  // Whether `ctx` is still the client's connection (neither close() nor a newer one replaced it).
  current_(ctx) {
    return ctx.generation === this.generation_;
  }

  // The `resume` op for the jobs held, or null when there is nothing to resume, the scope is
  // not the default one (a subscribe answers with a full snapshot anyway) or it is too big.
  resumeOp_() {
    const { jobIds, types, userId } = this.scope_;
    if (!this.o_.stateResume || jobIds || types || userId) return null;
    if (this.jobs.size === 0 || this.jobs.size > MAX_RESUME_JOBS) return null;
    const op = JSON.stringify({ op: 'resume', jobs: [...this.jobs.values()].map(heldVersion) });
    return op.length <= MAX_RESUME_BYTES ? op : null;
  }

  connectionLost_(ctx, info) {
    if (ctx.generation !== this.generation_ || this.closed_) return;
    this.conn_ = null;
    this.clearTimers_();
    if (ctx.opened || info.explained || typeof this.fetch_ !== 'function') {
      this.scheduleReconnect_(ctx.generation, { opened: ctx.opened, ...info });
      return;
    }
    this.checkSession_(ctx, info);
  }

  // A WebSocket or EventSource that fails to open does not say why (a browser hides the
  // HTTP status), so ask the bridge what it makes of the token before trying again.
  async checkSession_(ctx, info) {
    const answer = await this.fetchSession_(ctx.token);
    if (ctx.generation !== this.generation_ || this.closed_) return;
    const refusal = answer && this.refusalIn_(answer);
    if (refusal) this.refused_(ctx, refusal);
    else this.scheduleReconnect_(ctx.generation, { opened: false, ...info });
  }

  // {status, body} of GET /api/v1/session, or null when the bridge could not be asked.
  async fetchSession_(token) {
    const abort = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = this.setTimeout_(() => abort?.abort(), this.o_.connectTimeoutMs);
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    try {
      const res = await this.fetch_(apiUrl(this.baseUrl_, `${API}/session`, {}).toString(), { headers, signal: abort?.signal });
      const body = await res.json().catch(() => null);
      return { status: res.status, body };
    } catch {
      return null; // the network failed too: retry as usual
    } finally {
      this.clearTimeout_(timer);
    }
  }

  // The refusal a session answer explains, or null when the token is fine. A bridge without
  // the endpoint (404) or a busy one (429, 5xx) explains nothing.
  refusalIn_({ status, body }) {
    if (status === 401) {
      const err = isObject(body) && isObject(body.error) ? body.error : {};
      return {
        status,
        code: typeof err.code === 'string' ? err.code : 'unauthorized',
        message: typeof err.message === 'string' ? err.message : 'the bridge refused the token',
      };
    }
    // A valid token, but an SSE stream of someone else's jobs is answered 403.
    const other = isObject(body) && typeof body.userId === 'string' && body.admin !== true && body.userId !== this.userId;
    if (status === 200 && this.transport === 'sse' && other) {
      return { status: 403, code: 'forbidden', message: `${body.userId} may not follow the jobs of ${this.userId}` };
    }
    return null;
  }

  // The bridge refused the token (401) or the scope (403). Retrying the same request cannot
  // help: stop and say why. Only an expired token is worth one retry, with a new token from
  // getToken(); a token already refused as expired is never tried twice.
  refused_(ctx, { status, code, message, reported = false }) {
    if (ctx.generation !== this.generation_ || this.closed_) return;
    if (!reported) this.emit_('error', { code, message, status });
    if (!this.current_(ctx)) return; // the listener closed the client
    const expired = status === 401 && code === 'token_expired';
    const refresh = expired && this.refreshable_ && ctx.token !== this.expiredToken_;
    if (expired) this.expiredToken_ = ctx.token;
    this.conn_?.close();
    this.conn_ = null;
    if (refresh) {
      this.scheduleReconnect_(ctx.generation, { opened: true, reason: code });
      return;
    }
    this.generation_++;
    this.clearTimers_();
    this.setState_(status === 403 ? 'forbidden' : 'unauthorized', { final: true, error: { code, message } });
  }

  scheduleReconnect_(generation, { opened, code, reason }) {
    if (generation !== this.generation_ || this.closed_) return;
    this.clearTimers_();
    const probing = this.probeReturn_ !== undefined;
    if (!opened && this.transports_.length > 1) {
      this.openFailures_++;
      if (probing || (this.openFailures_ >= this.o_.fallbackAfter && this.transportIndex_ < this.transports_.length - 1)) {
        const from = this.transports_[this.transportIndex_];
        this.transportIndex_ = probing ? this.probeReturn_ : this.transportIndex_ + 1;
        this.probeReturn_ = undefined;
        this.openFailures_ = 0;
        this.attempt_ = 0;
        this.transport = this.transports_[this.transportIndex_];
        this.setState_('fallback', { from, to: this.transport });
        if (generation !== this.generation_) return; // a listener closed or restarted the client
        this.timer_ = this.setTimeout_(() => {
          this.timer_ = null;
          if (generation === this.generation_) this.open_();
        }, 0);
        return;
      }
    }
    let delay;
    if (code === 4029) {
      delay = backoffDelay(Infinity, this.o_.backoff, this.random_); // told to slow down
    } else {
      delay = backoffDelay(this.attempt_, this.o_.backoff, this.random_);
    }
    this.attempt_++;
    if (code === 1009) this.emit_('error', { code: 'frame_too_large', message: 'the bridge refused a client frame' });
    // Tell the application, which may have to obtain a new token before getToken() is called.
    if (code === 4001 && this.transport === 'websocket') {
      this.emit_('error', { code: 'token_expired', message: 'the token expired; reconnecting with a fresh one' });
    }
    // Listeners of these events may have closed the client or restarted it already.
    if (generation !== this.generation_) return;
    this.setState_('closed', { code, reason, reconnectInMs: delay, final: false });
    if (generation !== this.generation_) return;
    this.timer_ = this.setTimeout_(() => {
      this.timer_ = null;
      if (generation === this.generation_) this.open_();
    }, delay);
  }

  // While on a fallback transport, go back to the preferred one now and then: one failure
  // there returns to the fallback at once.
  scheduleUpgrade_(generation) {
    if (this.upgradeTimer_ !== null) this.clearTimeout_(this.upgradeTimer_);
    this.upgradeTimer_ = this.setTimeout_(() => {
      this.upgradeTimer_ = null;
      if (generation !== this.generation_ || this.closed_) return;
      this.probeReturn_ = this.transportIndex_;
      this.transportIndex_ = 0;
      this.openFailures_ = 0;
      this.restart_();
    }, this.o_.upgradeAfterMs);
  }

  // --- transports ---------------------------------------------------------------------------

  // A transport only moves data: what to send when a WebSocket opens and what the bridge's
  // messages mean is decided here. Its callbacks belong to one connection (`ctx`); `current`
  // turns false once a newer connection or close() made that one stale.
  openWebSocket_(ctx) {
    const resumeOp = this.resumeOp_();
    const socket = new WebSocketTransport({
      WebSocket: this.WebSocket_,
      baseUrl: this.baseUrl_,
      token: ctx.token,
      cursor: this.cursor,
      stateResume: resumeOp !== null,
      current: () => this.current_(ctx),
      onOpen: () => {
        // Sent before the `open` status, whose listeners may close the client or subscribe
        // themselves: the resume op must be the first message (the bridge holds its own first
        // message back for it and refuses it later).
        if (resumeOp) socket.send(resumeOp);
        const { jobIds, types, userId } = this.scope_;
        if (jobIds || types || userId) socket.send(this.subscribeOp_());
        this.markOpen_(ctx);
      },
      onMessage: (text) => {
        const msg = this.handleText_(text, ctx);
        // The bridge refused a subscribe to another user's jobs: asking again cannot help.
        if (msg?.type === 'error' && msg.code === 'forbidden') {
          this.refused_(ctx, { status: 403, code: msg.code, message: msg.message ?? '', reported: true });
        }
      },
      onLost: (info) => this.connectionLost_(ctx, info),
    });
    this.conn_ = socket;
    this.armConnectTimeout_(ctx, () => socket.fail({ reason: 'timeout' }));
  }

  openEventSource_(ctx) {
    const stream = new SseTransport({
      EventSource: this.EventSource_,
      baseUrl: this.baseUrl_,
      userId: this.userId,
      token: ctx.token,
      cursor: this.cursor,
      current: () => this.current_(ctx),
      onOpen: () => this.markOpen_(ctx),
      onMessage: (text) => this.handleText_(text, ctx),
      onLost: (info) => this.connectionLost_(ctx, info),
    });
    this.conn_ = stream;
    this.armConnectTimeout_(ctx, () => stream.fail({ reason: 'timeout' }));
  }

  openPoll_(ctx) {
    const poller = new PollingTransport({
      fetch: this.fetch_,
      setTimeout: this.setTimeout_,
      clearTimeout: this.clearTimeout_,
      baseUrl: this.baseUrl_,
      userId: this.userId, // another user takes another connection (subscribe restarts)
      token: ctx.token,
      intervalMs: this.o_.pollIntervalMs,
      pageLimit: this.o_.pollPageLimit,
      maxPages: this.o_.maxPollPages,
      current: () => this.current_(ctx),
      onListing: (listing) => {
        const first = !ctx.opened;
        if (!this.markOpen_(ctx)) return;
        this.attempt_ = 0;
        this.applyPolled_(listing, first, ctx);
      },
      onFailure: (e) => {
        this.conn_ = null;
        // Polling reads the bridge's answer itself: a refusal needs no session check.
        if (e.status === 401 || e.status === 403) {
          this.refused_(ctx, { status: e.status, code: e.code, message: String(e.message) });
          return;
        }
        this.emit_('error', { code: e.code ?? 'network_error', message: String(e?.message ?? e) });
        this.connectionLost_(ctx, { explained: true });
      },
    });
    this.conn_ = poller;
    poller.start();
  }

  // --- messages ---------------------------------------------------------------------------

  // A poll's listing diffed into the view: the first of a connection replaces it like a
  // snapshot, later ones become `job` and `removed` events for what changed. A listener that
  // closes the client or subscribes anew ends the diff: the rest belongs to the old connection.
  applyPolled_({ jobs: list, pages }, first, ctx) {
    const fresh = new Map();
    for (const job of list) {
      if (isValidJob(job) && this.inScope_(job)) fresh.set(jobKey(job.userId, job.jobId), job);
    }
    if (first) {
      this.replaceView_(fresh, { recovered: false, cursor: null });
      return;
    }
    for (const [key, job] of fresh) {
      if (!this.current_(ctx)) return;
      const previous = this.jobs.get(key);
      if (!previous || !sameJob(previous, job)) this.putJob_(job);
    }
    // Pages are fetched one after the other, so a job updated meanwhile can move to a page
    // already read and be missed once: with several pages a job is removed only when two
    // polls in a row miss it.
    const missing = new Set();
    for (const [key, job] of [...this.jobs]) {
      if (!this.current_(ctx)) return;
      if (fresh.has(key)) continue;
      if (pages <= 1 || this.missedOnce_.has(key)) this.removeJob_(job.userId, job.jobId);
      else missing.add(key);
    }
    this.missedOnce_ = missing;
  }

  // Parses and applies one server message; returns it when it was well-formed.
  handleText_(text, ctx) {
    if (text.length > 4 * 1024 * 1024) return null;
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return null;
    }
    if (!isObject(msg) || typeof msg.type !== 'string') return null;
    if (msg.cursor !== undefined && typeof msg.cursor !== 'string') return null;
    switch (msg.type) {
      case 'snapshot': {
        if (!Array.isArray(msg.jobs)) return null;
        if (msg.recovery === 'state') {
          if (!Array.isArray(msg.removed)) return null;
          this.healthy_(ctx);
          this.applyStateResume_(msg, ctx);
          break;
        }
        const fresh = new Map();
        for (const job of msg.jobs) {
          if (isValidJob(job) && this.inScope_(job) && fresh.size < this.o_.maxJobs) {
            fresh.set(jobKey(job.userId, job.jobId), job);
          }
        }
        this.healthy_(ctx);
        this.replaceView_(fresh, { recovered: msg.recovered === true, cursor: msg.cursor ?? null });
        break;
      }
      case 'resume':
        this.healthy_(ctx);
        if (msg.cursor !== undefined) this.cursor = msg.cursor;
        this.emit_('resume', { cursor: this.cursor, recovered: true, recovery: 'cursor' });
        break;
      case 'job':
        if (!isValidJob(msg.job)) return null;
        if (msg.cursor !== undefined) this.cursor = msg.cursor;
        if (this.inScope_(msg.job)) this.putJob_(msg.job);
        break;
      case 'job_removed':
        if (!isId(msg.userId) || !isId(msg.jobId)) return null;
        if (msg.cursor !== undefined) this.cursor = msg.cursor;
        this.removeJob_(msg.userId, msg.jobId);
        break;
      case 'pong':
        this.emit_('pong', { id: typeof msg.id === 'string' || typeof msg.id === 'number' ? msg.id : null });
        break;
      case 'error':
        if (typeof msg.code !== 'string') return null;
        this.emit_('error', { code: msg.code, message: typeof msg.message === 'string' ? msg.message : '' });
        break;
      default:
        return null; // a newer bridge's message: ignore
    }
    return msg;
  }

  // The stream delivered its first message: the connection is good, reset the backoff and
  // forget a pending probe of a better transport.
  healthy_(ctx) {
    this.markOpen_(ctx);
    this.attempt_ = 0;
    this.openFailures_ = 0;
    this.probeReturn_ = undefined;
  }

  // Defence in depth and client-side filtering for SSE and polling: the bridge already
  // restricts what a token sees, but a job outside the requested scope never enters the view.
  inScope_(job) {
    const { jobIds, types } = this.scope_;
    if (this.userId && this.userId !== '*' && job.userId !== this.userId) return false;
    if (jobIds && !jobIds.includes(job.jobId)) return false;
    if (types && !types.includes(job.type)) return false;
    return true;
  }

  // A state resume: the bridge sent only the jobs that changed or are new, and those gone.
  // A listener may close or restart the client between any two of its events.
  applyStateResume_(msg, ctx) {
    this.cursor = msg.cursor ?? null;
    this.emit_('resume', { cursor: this.cursor, recovered: false, recovery: 'state' });
    for (const gone of msg.removed) {
      if (!this.current_(ctx)) return;
      if (isObject(gone) && isId(gone.userId) && isId(gone.jobId)) this.removeJob_(gone.userId, gone.jobId);
    }
    for (const job of msg.jobs) {
      if (!this.current_(ctx)) return;
      if (isValidJob(job) && this.inScope_(job)) this.putJob_(job);
    }
  }

  replaceView_(fresh, { recovered, cursor }) {
    this.jobs = fresh;
    this.cursor = cursor;
    this.overflowReported_ = false;
    this.emit_('snapshot', { jobs: this.jobs, recovered, cursor });
  }

  putJob_(job) {
    const key = jobKey(job.userId, job.jobId);
    const previous = this.jobs.get(key);
    if (!previous && this.jobs.size >= this.o_.maxJobs) {
      if (!this.overflowReported_) {
        this.overflowReported_ = true;
        this.emit_('error', { code: 'too_many_jobs', message: `more than ${this.o_.maxJobs} jobs; new ones are ignored` });
      }
      return;
    }
    this.jobs.set(key, job);
    this.emit_('job', { job, previous: previous ?? null });
  }

  removeJob_(userId, jobId) {
    const key = jobKey(userId, jobId);
    const previous = this.jobs.get(key);
    if (!previous) return;
    this.jobs.delete(key);
    this.emit_('removed', { userId, jobId, job: previous });
  }
}
