'use strict';

const QUOTES = ['Ship small.', 'Measure twice.', 'Leave it better.'];

function quoteFor(day) {
  return QUOTES[((day % QUOTES.length) + QUOTES.length) % QUOTES.length];
}

module.exports = { quoteFor };
