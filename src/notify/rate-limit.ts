/**
 * Per-robot rate limits shared by every instance through the store (docs/notifications.md: DingTalk and
 * WeCom allow 20 messages a minute per robot). Each budget (`limit` per `period`) is counted
 * in six sub-windows; a send is allowed when this sub-window plus the six before it hold fewer
 * than `limit` — any sliding period then holds at most `limit` sends, as the robot counts.
 * The count is taken first (atomic INCR) and given back when over, so two instances can never
 * both take the last slot. A robot that answered "too fast" (130101/45009/11232) is marked
 * blocked for the time it told us. Waits of a couple of seconds happen in-process; longer
 * ones answer 429 with Retry-After.
 */
import type { Rate } from "../config/units.ts";
import { rateLimited } from "../errors.ts";
import type { Store } from "../store/store.ts";

const SLICES = 6;
/** Wait in-process instead of answering 429 when the next slot is this close. */
export const MAX_WAIT_MS = 2000;

export class RateLimiter {
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  private blockedKey(robot: string): string {
    return `notify:rate:${robot}:blocked`;
  }

  /**
   * Takes one send from every budget of the robot, waiting briefly or throwing 429. `remaining`
   * counts this send and the parts after it: the 429's Retry-After then covers them all (a whole
   * period frees the whole budget), so a long message needs one retry per budget, not per slot.
   */
  async acquire(robot: string, rates: readonly Rate[], channel: string, remaining = 1): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { waitMs, throttled } = await this.tryAcquire(robot, rates);
      if (waitMs === 0) return;
      if (waitMs > MAX_WAIT_MS || attempt >= 3) {
        const slot = Math.max(1, Math.ceil(waitMs / 1000));
        if (throttled)
          throw rateLimited(
            "channel_throttled",
            `channel ${channel}: the robot is throttling this webhook (it answered "too fast"); it accepts messages again in ${slot} s`,
            slot,
            { channel },
          );
        const period = Math.max(...rates.map((r) => r.periodMs)) / 1000;
        const after = remaining > 1 ? Math.max(slot, Math.ceil(period)) : slot;
        throw rateLimited(
          "channel_rate_limited",
          `channel ${channel}: the robot's rate budget (${rates.map(describe).join(", ")}) is spent with ${remaining} part(s) to send; retry in ${after} s`,
          after,
          { channel },
        );
      }
      await this.sleep(waitMs);
    }
  }

  /** waitMs 0 when taken, else how long until a slot frees up; throttled when the robot said "too fast". */
  private async tryAcquire(
    robot: string,
    rates: readonly Rate[],
  ): Promise<{ waitMs: number; throttled: boolean }> {
    const blocked = await this.store.pttl(this.blockedKey(robot));
    if (blocked > 0) return { waitMs: blocked, throttled: true };
    const waitMs = await this.take(robot, rates);
    return { waitMs, throttled: false };
  }

  /** 0 when a send was taken from every budget, else how long until a slot frees up (ms). */
  private async take(robot: string, rates: readonly Rate[]): Promise<number> {
    const taken: [string, number][] = [];
    for (const r of rates) {
      const slice = Math.max(1, Math.floor(r.periodMs / SLICES));
      const now = this.now();
      const idx = Math.floor(now / slice);
      const key = (i: number) => `notify:rate:${robot}:${r.periodMs}:${i}`;
      const ttl = r.periodMs + 2 * slice;
      const mine = await this.store.incr(key(idx), 1, ttl);
      const before = Array.from({ length: SLICES }, (_, k) => key(idx - SLICES + k));
      const counts = (await this.store.mget<number>(before)).map((c) => Number(c ?? 0));
      const total = mine + counts.reduce((a, b) => a + b, 0);
      if (total <= r.limit) {
        taken.push([key(idx), ttl]);
        continue;
      }
      // Over: give ours back (and the other budgets' too), and say when enough drains away.
      await Promise.all([[key(idx), ttl] as const, ...taken].map(([k, t]) => this.store.incr(k, -1, t)));
      let excess = total - r.limit;
      for (let k = 0; k < SLICES; k++) {
        excess -= counts[k];
        if (excess <= 0) return Math.max(1, (idx - SLICES + k + 1) * slice + r.periodMs - now);
      }
      return Math.max(1, (idx + 1) * slice + r.periodMs - now);
    }
    return 0;
  }

  /** The robot said "too fast": no instance sends to it for `seconds`. */
  async block(robot: string, seconds: number): Promise<void> {
    await this.store.set(this.blockedKey(robot), 1, { ttlMs: seconds * 1000 });
  }
}

function describe(r: Rate): string {
  const p = r.periodMs % 60_000 === 0 ? `${r.periodMs / 60_000}min` : `${r.periodMs / 1000}s`;
  return `${r.limit}/${p.replace(/^1(min|s)$/, "$1")}`;
}
