'use strict';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Encodes a positive integer id as a short base-36 code. */
function shortCode(id) {
  let code = '';
  do {
    code = ALPHABET[id % 36] + code;
    id = Math.floor(id / 36);
  } while (id > 0);
  return code;
}

module.exports = { shortCode };
