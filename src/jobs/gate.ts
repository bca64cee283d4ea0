/**
 * The per-process concurrency gate: at most `limit` jobs at once; the next one is told to
 * come back (429 + Retry-After) instead of queueing inside the process, because QStash
 * keeps the queue. Also counts what is in flight so shutdown can wait for it.
 */
export class ConcurrencyGate {
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(public limit: number) {}

  get inFlight(): number {
    return this.active;
  }

  tryEnter(): boolean {
    if (this.active >= this.limit) return false;
    this.active++;
    return true;
  }

  leave(): void {
    this.active = Math.max(0, this.active - 1);
    if (this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when nothing is in flight, or after `timeoutMs`; true when it drained. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.active === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }
}
