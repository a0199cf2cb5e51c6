'use strict';

const UNITS = { d: 86400, h: 3600, m: 60, s: 1 };

/** Parses "1h30m" into 5400; throws on anything else. */
function parseDuration(text) {
  const parts = String(text).match(/\d+[dhms]/g);
  if (!parts || parts.join('') !== text) throw new Error(`bad duration: ${text}`);
  return parts.reduce((sum, p) => sum + Number(p.slice(0, -1)) * UNITS[p.slice(-1)], 0);
}

module.exports = { parseDuration };
