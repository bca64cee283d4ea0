/**
 * ISO-8601 timestamps for records and log lines. Every job stamps several (its ledger entry,
 * its log lines, what it stores), so the last one made is reused while the millisecond is the
 * same: under load most stamps share a millisecond with the one before.
 */
let lastMs = Number.NaN;
let lastIso = "";

/** `new Date(ms).toISOString()`, cached for the latest millisecond. */
export function isoAt(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}
