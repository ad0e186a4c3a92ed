// PollingTransport: the job listing fetched again and again (GET /api/v1/users/{userId}/jobs,
// or GET /api/v1/jobs for an admin following everyone) for ProgressClient; the last resort
// when neither WebSocket nor SSE gets through.
//
// Each poll reads the listing's pages (up to `maxPages`) and hands the client all it read,
// which the client diffs into its view; the next poll starts `intervalMs` after that. A poll
// that fails ends the polling: the client decides whether to reconnect. Every request carries
// the token of this connection, so a fresh token needs a new transport (a 401 leads there).
import { API, apiUrl, refusalError, requestError } from './bridge-api.js';
import { isObject } from './job-rules.js';

export class PollingTransport {
  /**
   * Throws when there is no fetch. Polling begins with start().
   * @param {object} o
   * @param {Function} o.fetch
   * @param {Function} o.setTimeout
   * @param {Function} o.clearTimeout
   * @param {string} o.baseUrl
   * @param {string} o.userId       whose jobs, for as long as this connection lasts; '*' lists
   *   everyone's
   * @param {string} o.token        access token (Authorization header)
   * @param {number} o.intervalMs   between the end of a poll and the start of the next
   * @param {number} o.pageLimit    jobs asked for per page
   * @param {number} o.maxPages     pages read per poll at most
   * @param {() => boolean} o.current  false once the client moved on to another connection
   * @param {(listing: {jobs: object[], pages: number}) => void} o.onListing  after each poll
   * @param {(error: Error) => void} o.onFailure  a poll failed (carries `code`, and `status`
   *   when the bridge answered); no poll follows
   */
  constructor(o) {
    if (typeof o.fetch !== 'function') throw new Error('fetch is not available');
    this.fetch_ = o.fetch;
    this.setTimeout_ = o.setTimeout;
    this.clearTimeout_ = o.clearTimeout;
    this.baseUrl_ = o.baseUrl;
    this.userId_ = o.userId;
    this.token_ = o.token;
    this.intervalMs_ = o.intervalMs;
    this.pageLimit_ = o.pageLimit;
    this.maxPages_ = o.maxPages;
    this.current_ = o.current;
    this.onListing_ = o.onListing;
    this.onFailure_ = o.onFailure;
    this.abort_ = typeof AbortController === 'function' ? new AbortController() : null;
    this.stopped_ = false;
    this.timer_ = null;
  }

  /** The first poll, at once. */
  start() {
    this.poll_();
  }

  /** Stops polling: aborts the request under way and reports nothing more. */
  close() {
    this.stopped_ = true;
    this.abort_?.abort();
    if (this.timer_ !== null) this.clearTimeout_(this.timer_);
  }

  async poll_() {
    this.timer_ = null;
    let listing;
    try {
      listing = await this.fetchAllJobs_();
    } catch (e) {
      if (this.stopped_ || !this.current_()) return;
      this.onFailure_(e);
      return;
    }
    if (this.stopped_ || !this.current_()) return;
    this.onListing_(listing);
    // The client's listeners run inside onListing and may have closed it or moved it to
    // another connection: a poll scheduled now would still send its request.
    if (this.stopped_ || !this.current_()) return;
    this.timer_ = this.setTimeout_(() => this.poll_(), this.intervalMs_);
  }

  async fetchAllJobs_() {
    // Built at each poll, not once up front: a userId that cannot be encoded fails the poll
    // like any other failure to list.
    const userId = this.userId_;
    const path = userId === '*' ? `${API}/jobs` : `${API}/users/${encodeURIComponent(userId)}/jobs`;
    const jobs = [];
    let cursor;
    for (let page = 0; page < this.maxPages_; page++) {
      const url = apiUrl(this.baseUrl_, path, { limit: this.pageLimit_, cursor });
      const res = await this.fetch_(url.toString(), {
        headers: { Authorization: `Bearer ${this.token_}`, Accept: 'application/json' },
        signal: this.abort_?.signal,
      });
      let body = null;
      try {
        body = await res.json();
      } catch {
        body = null;
      }
      if (!res.ok) throw refusalError(res, body);
      if (!isObject(body) || !Array.isArray(body.jobs)) throw requestError('malformed job list', 'malformed_response');
      jobs.push(...body.jobs);
      if (typeof body.nextCursor !== 'string' || body.nextCursor === '') return { jobs, pages: page + 1 };
      cursor = body.nextCursor;
    }
    return { jobs, pages: this.maxPages_ };
  }
}
