// The bridge's HTTP API as ProgressClient and its transports call it: the path prefix, the
// URLs, and the Errors its refusals become. Pure functions; not an entry point of the package.
import { isObject } from './job-rules.js';

export const API = '/api/v1';

/** `baseUrl` + `path` with the query `params` that have a value (undefined, null, '' are left out). */
export function apiUrl(baseUrl, path, params) {
  const url = new URL(baseUrl + path);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  return url;
}

// An Error of a request to the bridge: its error `code` and the HTTP `status` (0: no answer).
export function requestError(message, code, status) {
  const error = new Error(message);
  error.code = code;
  if (status !== undefined) error.status = status;
  return error;
}

// The error a bridge's answer carries ({"error":{"code","message"}}), or one named after its status.
export function refusalError(res, body) {
  const err = isObject(body) && isObject(body.error) ? body.error : {};
  return requestError(
    typeof err.message === 'string' ? err.message : `HTTP ${res.status}`,
    typeof err.code === 'string' ? err.code : `http_${res.status}`,
    res.status,
  );
}
