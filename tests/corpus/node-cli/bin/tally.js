#!/usr/bin/env node
'use strict';

const { tally } = require('../lib/tally');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  for (const [word, count] of tally(input)) console.log(`${count}\t${word}`);
});
