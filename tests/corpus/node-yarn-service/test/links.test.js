'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { shortCode } = require('../lib/links');

test('short codes are base 36', () => {
  assert.equal(shortCode(35), 'z');
  assert.equal(shortCode(36), '10');
});
