// A browser's globals in Node for the hook tests: jsdom's window and document (React and Vue
// render into them), jsdom's WebSocket (a refused upgrade looks as it does in a browser: an
// error, then close 1006, no status) and an EventSource from the `eventsource` package.
// Install them before React DOM or Vue's runtime is imported: both look for `document` once.
// Node's own Event and EventTarget stay: the `eventsource` package dispatches Node events.
import { EventSource } from 'eventsource';
import { JSDOM } from 'jsdom';

const FROM_WINDOW = [
  'window',
  'document',
  'navigator',
  'Node',
  'Element',
  'HTMLElement',
  'SVGElement',
  'getComputedStyle',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'WebSocket',
];

/** Makes `url` the page's origin and installs the globals; returns the jsdom window. */
export function installBrowserGlobals(url) {
  const dom = new JSDOM('<!doctype html><html><body></body></html>', { url, pretendToBeVisual: true });
  for (const name of FROM_WINDOW) {
    const value = name === 'window' ? dom.window : dom.window[name];
    Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  Object.defineProperty(globalThis, 'EventSource', { value: EventSource, configurable: true, writable: true });
  return dom.window;
}
