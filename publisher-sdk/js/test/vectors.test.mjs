// The shared protocol vectors through the Node SDK's validator: the same
// verdicts, reasons and fields as the C++ library (tests/protocol/test_vectors.cpp).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  controlTopic, isValidId, jobTopic, parseControl, parseControlTopic, parseJobTopic, parseUpdate, workerStatusTopic,
} from '../src/index.js';
import { bytesOf, loadVectors, textOf } from './support/testdata.mjs';

test('ids follow the shared id rule', () => {
  const { vectors } = loadVectors('ids.json');
  assert.ok(vectors.length > 10);
  for (const v of vectors) assert.equal(isValidId(textOf(v.id)), v.valid, JSON.stringify(v.id));
});

for (const [kind, build, parse] of [['jobTopic', jobTopic, parseJobTopic], ['controlTopic', controlTopic, parseControlTopic]]) {
  test(`${kind}: built and parsed as the vectors say`, () => {
    const vectors = loadVectors('topics.json')[kind];
    for (const v of vectors.build) {
      if (v.error) assert.throws(() => build(v.userId, v.jobId), TypeError, JSON.stringify(v));
      else assert.equal(build(v.userId, v.jobId), v.topic);
    }
    for (const v of vectors.parse) assert.deepEqual(parse(v.topic), v.valid ? { userId: v.userId, jobId: v.jobId } : null, v.topic);
  });
}

test('worker status topics are built as the vectors say', () => {
  for (const v of loadVectors('topics.json').workerStatusTopic.build) {
    if (v.error) assert.throws(() => workerStatusTopic(v.workerId), TypeError);
    else assert.equal(workerStatusTopic(v.workerId), v.topic);
  }
});

// A payload vector against what a parser made of it: the rejection it expects, or an
// accepted value holding the fields it expects.
function checkPayloadVector(v, result, accepted) {
  if (!v.valid) {
    assert.equal(result.ok, false, v.name);
    assert.deepEqual([result.error.reason, result.error.field], [v.reason, v.field], v.name);
    return;
  }
  assert.equal(result.ok, true, `${v.name}: ${result.error?.message}`);
  for (const [name, expected] of Object.entries(v.expect)) assert.deepEqual(accepted[name], expected, `${v.name}: ${name}`);
  for (const name of v.absent ?? []) assert.equal(name in accepted, false, `${v.name}: ${name}`);
}

test('job-state payloads get the verdict, reason and field of the vectors', () => {
  const { vectors } = loadVectors('updates.json');
  assert.ok(vectors.length > 50);
  for (const v of vectors) {
    const result = parseUpdate({ userId: v.userId, jobId: v.jobId }, bytesOf(v.payload));
    checkPayloadVector(v, result, result.state);
  }
});

test('control payloads get the verdict, reason and field of the vectors', () => {
  const { vectors } = loadVectors('control.json');
  assert.ok(vectors.length > 20);
  for (const v of vectors) {
    const result = parseControl(bytesOf(v.payload));
    checkPayloadVector(v, result, result.message);
  }
});
