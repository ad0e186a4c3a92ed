// Reads an untrusted JSON payload the way the C++ validator does (nlohmann::json
// behind a size, UTF-8 and depth check), so that every verdict matches
// protocol/testdata: JSON.parse alone would accept lone surrogate escapes and
// numbers beyond the double range, which the C++ parser refuses.

export const MAX_JSON_DEPTH = 16;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function toBytes(payload) {
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  if (payload instanceof Uint8Array) return payload;
  throw new TypeError('payload must be a string or a Uint8Array');
}

export function rejection(reason, field, message) {
  return { reason, field, message };
}

/** True when `text` holds no unpaired UTF-16 surrogate (which UTF-8 cannot encode). */
export function isWellFormed(text) {
  return !LONE_SURROGATE.test(text);
}

// Nesting depth counted before parsing, strings skipped, as the C++ json_depth().
function jsonDepth(text) {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 0x5c) escaped = true;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return deepest;
}

class RefusedJson extends Error {}

function strictValue(key, value) {
  if (!isWellFormed(key)) throw new RefusedJson('unpaired surrogate');
  if (typeof value === 'number' && !Number.isFinite(value)) throw new RefusedJson('number out of range');
  if (typeof value === 'string' && !isWellFormed(value)) throw new RefusedJson('unpaired surrogate');
  return value;
}

/**
 * Parses `payload` (string or bytes) of at most `maxBytes`.
 * @returns {{ok: true, value: unknown} | {ok: false, error: {reason: string, field: string, message: string}}}
 */
export function parseJsonPayload(payload, maxBytes) {
  const bytes = toBytes(payload);
  const fail = (reason, message) => ({ ok: false, error: rejection(reason, '', message) });
  if (bytes.length > maxBytes) return fail('oversize', `payload exceeds ${maxBytes} bytes`);
  let text;
  try {
    text = utf8.decode(bytes); // also drops a leading byte order mark, as nlohmann::json does
  } catch {
    return fail('invalid_utf8', 'payload is not valid UTF-8');
  }
  if (jsonDepth(text) > MAX_JSON_DEPTH) return fail('too_deep', `payload nests deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return { ok: true, value: JSON.parse(text, strictValue) };
  } catch {
    return fail('invalid_json', 'payload is not valid JSON');
  }
}

export function isPlainObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
