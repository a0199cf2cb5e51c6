'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { adler32 } = require('..');

test('adler32 of "Wikipedia"', () => {
  assert.equal(adler32('Wikipedia'), 0x11e60398);
});
