'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { quoteFor } = require('../src/quotes');

test('wraps around the list', () => {
  assert.strictEqual(quoteFor(3), quoteFor(0));
  assert.strictEqual(quoteFor(-1), quoteFor(2));
});
