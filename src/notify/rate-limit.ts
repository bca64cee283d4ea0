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

/** What one try at a send came to; `counters` are what it counted (nothing when it has to wait). */
export interface Take {
  waitMs: number;
  throttled: boolean;
  counters: { key: string; ttl: number }[];
  /** When the sub-window the send was counted in ends (the shortest budget's). */
  until: number;
}

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
   * `first` is a take already started (`take`), answered in place of the first try.
   */
  async acquire(
    robot: string,
    rates: readonly Rate[],
    channel: string,
    remaining = 1,
    first?: Promise<Take>,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let t = await (attempt === 0 && first ? first : this.take(robot, rates));
      // A send is counted in the sub-window it was taken in: one taken ahead and sent after that
      // sub-window ended would count as earlier than the robot saw it, so it is taken again now
      // (one more round trip: the old count given back beside the new take). A stale "wait" is
      // asked again too.
      if (attempt === 0 && first && this.now() >= t.until)
        [, t] = await Promise.all([this.giveBack(t).catch(() => {}), this.take(robot, rates)]);
      const { waitMs, throttled } = t;
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

  /**
   * One try at a send from every budget: waitMs 0 when taken, else how long until a slot frees up
   * (throttled when the robot said "too fast"), with nothing kept. Every count and read is asked at
   * once, so a store that pipelines answers them in one round trip (docs/architecture.md, "Store
   * round trips"); an over budget costs one more, to give the counts back.
   */
  async take(robot: string, rates: readonly Rate[]): Promise<Take> {
    const now = this.now();
    const budgets = rates.map((r) => {
      const slice = Math.max(1, Math.floor(r.periodMs / SLICES));
      const idx = Math.floor(now / slice);
      const key = (i: number) => `notify:rate:${robot}:${r.periodMs}:${i}`;
      return {
        r,
        slice,
        idx,
        key: key(idx),
        ttl: r.periodMs + 2 * slice,
        before: Array.from({ length: SLICES }, (_, k) => key(idx - SLICES + k)),
      };
    });
    const counts = budgets.map((b) => this.store.incr(b.key, 1, b.ttl));
    const reads = Promise.all([
      this.store.pttl(this.blockedKey(robot)),
      Promise.all(budgets.map((b) => this.store.mget<number>(b.before))),
    ]);
    const settled = await Promise.allSettled(counts);
    let blocked: number;
    let before: (number | null)[][];
    try {
      const failed = settled.find((c) => c.status === "rejected");
      if (failed) throw failed.reason;
      [blocked, before] = await reads;
    } catch (e) {
      // The store failed part-way: what was counted goes back (if it can), then the error.
      reads.catch(() => {});
      await this.giveBack({ counters: budgets.filter((_, i) => settled[i].status === "fulfilled") }).catch(
        () => {},
      );
      throw e;
    }
    const mine = settled.map((c) => (c as PromiseFulfilledResult<number>).value);
    let waitMs = Math.max(blocked, 0);
    if (!waitMs)
      for (const [i, b] of budgets.entries()) {
        const counts = before[i].map((c) => Number(c ?? 0));
        let excess = mine[i] + counts.reduce((x, y) => x + y, 0) - b.r.limit;
        if (excess <= 0) continue;
        // Over: say when enough of the period drains away.
        let at = (b.idx + 1) * b.slice + b.r.periodMs;
        for (let k = 0; k < SLICES; k++) {
          excess -= counts[k];
          if (excess <= 0) {
            at = (b.idx - SLICES + k + 1) * b.slice + b.r.periodMs;
            break;
          }
        }
        waitMs = Math.max(waitMs, at - now, 1);
      }
    const counters = budgets.map((b) => ({ key: b.key, ttl: b.ttl }));
    const until = Math.min(...budgets.map((b) => (b.idx + 1) * b.slice));
    if (!waitMs) return { waitMs, throttled: false, counters, until };
    await this.giveBack({ counters });
    return { waitMs, throttled: blocked > 0, counters: [], until };
  }

  /** Gives back what a take counted, for a send that was not made (a lost claim, a failed delivery). */
  async giveBack({ counters }: Pick<Take, "counters">): Promise<void> {
    await Promise.all(counters.map((c) => this.store.incr(c.key, -1, c.ttl)));
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
