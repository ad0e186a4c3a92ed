// WebSocketTransport: one WebSocket to the bridge (GET /api/v1/ws) for ProgressClient.
//
// A pipe for text frames and nothing more: the client decides what to send once it opens
// (resume, subscribe) and what the bridge's messages mean. The token, the cursor and the
// state-resume flag travel in the URL, since browsers cannot set headers on a WebSocket.
import { API, apiUrl } from './bridge-api.js';

export class WebSocketTransport {
  /**
   * Opens the socket. Throws when there is no WebSocket class or the URL is invalid.
   * @param {object} o
   * @param {new (url: string) => WebSocket} o.WebSocket  the WebSocket class
   * @param {string} o.baseUrl      the bridge's origin (http: or https:)
   * @param {string} o.token        access token
   * @param {?string} o.cursor      resume the stream after this cursor
   * @param {boolean} o.stateResume the client sends a `resume` op first (?resume=state)
   * @param {() => boolean} o.current  false once the client moved on to another connection
   * @param {() => void} o.onOpen
   * @param {(text: string) => void} o.onMessage
   * @param {(info: {code?: number, reason?: string}) => void} o.onLost  reported at most once
   */
  constructor({ WebSocket, baseUrl, token, cursor, stateResume, current, onOpen, onMessage, onLost }) {
    if (typeof WebSocket !== 'function') throw new Error('WebSocket is not available');
    const url = apiUrl(baseUrl, `${API}/ws`, {
      access_token: token,
      cursor,
      resume: stateResume ? 'state' : undefined,
    });
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.ws_ = new WebSocket(url.toString());
    this.done_ = false;
    this.onLost_ = onLost;
    const ws = this.ws_;
    ws.onopen = () => {
      if (current()) onOpen();
    };
    ws.onmessage = (ev) => {
      if (current() && typeof ev.data === 'string') onMessage(ev.data);
    };
    ws.onclose = (ev) => this.fail({ code: ev?.code, reason: ev?.reason });
    // An error is always followed by a close event; only a stuck socket needs the client's
    // connect timeout.
    ws.onerror = () => {};
  }

  send(text) {
    try {
      this.ws_.send(text);
    } catch {
      // The close event that follows reconnects.
    }
  }

  /** Closes the socket without reporting anything. */
  close() {
    const ws = this.ws_;
    this.done_ = true;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(1000);
    } catch {
      // Already closing.
    }
  }

  /** Closes the socket and reports it lost with `info`, unless it already ended. */
  fail(info) {
    if (this.done_) return;
    this.close();
    this.onLost_(info);
  }
}
