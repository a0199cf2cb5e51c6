'use strict';

/** Counts words, most frequent first (ties in first-seen order). */
function tally(text) {
  const counts = new Map();
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []) {
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]);
}

module.exports = { tally };
