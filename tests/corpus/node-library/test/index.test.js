import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deepFreeze } from '../src/index.js';

test('nested objects are frozen', () => {
  const o = deepFreeze({ a: { b: [1] } });
  assert.ok(Object.isFrozen(o.a.b));
});
