'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { tally } = require('../lib/tally');

test('most frequent first', () => {
  assert.deepEqual(tally('b a b'), [['b', 2], ['a', 1]]);
});

test('the bin runs', () => {
  const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'bin', 'tally.js')], { input: 'x x y' });
  assert.equal(out.toString(), '2\tx\n1\ty\n');
});
