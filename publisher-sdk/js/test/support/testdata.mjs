// Reads the shared protocol vectors (protocol/testdata, see its README.md).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TESTDATA = fileURLToPath(new URL('../../../../protocol/testdata/', import.meta.url));

export function loadVectors(name) {
  return JSON.parse(readFileSync(TESTDATA + name, 'utf8'));
}

/** The bytes of a byte spec: text, {hex}, {repeat, times} or {concat}. */
export function bytesOf(spec) {
  if (typeof spec === 'string') return Buffer.from(spec, 'utf8');
  if ('hex' in spec) return Buffer.from(spec.hex, 'hex');
  if ('repeat' in spec) return Buffer.concat(Array(spec.times).fill(bytesOf(spec.repeat)));
  return Buffer.concat(spec.concat.map(bytesOf));
}

/** A byte spec that holds text (ids, topics), as a string. */
export function textOf(spec) {
  return bytesOf(spec).toString('utf8');
}
