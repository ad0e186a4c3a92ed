// SseTransport: one EventSource on a user's stream (GET /api/v1/users/{userId}/stream) for
// ProgressClient.
//
// It hands the client the data of the bridge's events. The bridge ends the stream after a
// `token_expired` message, which is reported as lost with code 4001, the WebSocket close code
// that says the same. EventSource's own retries are not relied on: it sends Last-Event-ID
// by itself only then, while the client closes and reopens to refresh the token, so the
// cursor travels in the URL.
import { API, apiUrl } from './bridge-api.js';

// Event names the bridge sends (its `error` message shares the name of EventSource's own
// connection-error event; the data field tells them apart).
const SSE_EVENTS = ['snapshot', 'resume', 'job', 'job_removed', 'error'];

export class SseTransport {
  /**
   * Opens the stream. Throws when there is no EventSource class or the URL is invalid.
   * @param {object} o
   * @param {new (url: string) => EventSource} o.EventSource  the EventSource class
   * @param {string} o.baseUrl        the bridge's origin
   * @param {string} o.userId         whose jobs to follow
   * @param {string} o.token          access token
   * @param {?string} o.cursor        resume the stream after this cursor
   * @param {() => boolean} o.current false once the client moved on to another connection
   * @param {() => void} o.onOpen     the stream opened or delivered data (may repeat)
   * @param {(text: string) => ?object} o.onMessage  an event's data; returns the message it
   *   parsed, or null
   * @param {(info: {code?: number, reason?: string}) => void} o.onLost  reported at most once
   */
  constructor({ EventSource, baseUrl, userId, token, cursor, current, onOpen, onMessage, onLost }) {
    if (typeof EventSource !== 'function') throw new Error('EventSource is not available');
    const path = `${API}/users/${encodeURIComponent(userId)}/stream`;
    this.es_ = new EventSource(apiUrl(baseUrl, path, { access_token: token, cursor }).toString());
    this.done_ = false;
    this.onLost_ = onLost;
    this.onEvent_ = (ev) => {
      if (!current() || this.done_) return;
      if (ev.type === 'error' && typeof ev.data !== 'string') {
        this.fail({}); // the connection failed or ended
        return;
      }
      if (typeof ev.data !== 'string') return;
      onOpen();
      // A listener of the `open` status may have closed the client.
      if (!current() || this.done_) return;
      const msg = onMessage(ev.data);
      // The bridge ends the stream after these; reconnect with a fresh token.
      if (msg?.type === 'error' && msg.code === 'token_expired') this.fail({ code: 4001 });
    };
    this.es_.onopen = () => {
      if (current() && !this.done_) onOpen();
    };
    for (const name of SSE_EVENTS) this.es_.addEventListener(name, this.onEvent_);
  }

  /** Closes the stream without reporting anything. */
  close() {
    const es = this.es_;
    this.done_ = true;
    for (const name of SSE_EVENTS) es.removeEventListener?.(name, this.onEvent_);
    es.onopen = es.onerror = null;
    es.close();
  }

  /** Closes the stream and reports it lost with `info`, unless it already ended. */
  fail(info) {
    if (this.done_) return;
    this.close();
    this.onLost_(info);
  }
}
