/**
 * A soft memory limit, like Go's GOMEMLIMIT, for runtimes whose collector lets garbage pile up
 * under load: Bun's JSC counts the strings a busy worker makes and drops (JSON of ledger
 * entries, log lines, rendered messages) only lazily, so RSS under sustained load grew to
 * ~160–190 MB with ~40 MB live. When RSS passes `worker.memory_limit`, one full collection
 * runs — at most every `minGapMs`, and never more than `maxShare` of the time (a collection
 * that took 100 ms waits 500 ms before the next), so a worker whose live data is above the
 * limit is not collected in a loop. Pure decision over injected rss/collect/clock.
 */
export interface MemoryProbe {
  /** Resident set size in bytes. */
  rss(): number;
  /** A full, synchronous collection. */
  collect(): void;
}

export class MemoryLimit {
  private nextAt = 0;
  /** Collections run so far (reported in the shutdown log line). */
  collections = 0;
  /** Time spent in those collections, in ms. */
  collectedMs = 0;

  constructor(
    readonly limit: number,
    private readonly probe: MemoryProbe,
    private readonly now: () => number = Date.now,
    private readonly opts = { minGapMs: 100, maxShare: 0.2 },
  ) {}

  /** Called on a timer; collects when over the limit and allowed to. True when it collected. */
  check(): boolean {
    const t = this.now();
    if (this.limit <= 0 || t < this.nextAt || this.probe.rss() <= this.limit) return false;
    this.probe.collect();
    const end = this.now();
    this.collections++;
    this.collectedMs += end - t;
    this.nextAt = end + Math.max(this.opts.minGapMs, (end - t) / this.opts.maxShare);
    return true;
  }
}
