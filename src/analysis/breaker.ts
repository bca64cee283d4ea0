/**
 * A circuit breaker per engine, shared by every instance through the store. Consecutive
 * failures are counted (`breaker:<engine>:failures`, an atomic counter); at `ai.breaker.failures`
 * the breaker opens (`breaker:<engine>:open` holds when it may be tried again) and the engine is
 * skipped. After the cool-off one caller — whoever takes the `probe` key — tries it: success
 * closes the breaker, failure opens it for another cool-off. Times come from the injected clock.
 */
import type { Store } from "../store/store.ts";

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failures: number;
  /** How long an open breaker skips its engine. */
  cooloffMs: number;
  now: () => number;
}

interface OpenRecord {
  until: number;
  opened_at: number;
  reason: string;
}

export type Admission =
  /** `halfOpen`: past its cool-off; the caller takes the trial (`trial`) only when it gets to the engine. */
  | { ok: true; probe: boolean; failures: number; halfOpen?: boolean }
  /** `reason`: why the breaker opened (the failure that opened it), for the attempts and /health. */
  | { ok: false; retryAfterS: number; until: number; reason?: string };

const FAILURE_TTL_MS = 10 * 60_000;

export class Breakers {
  constructor(
    private readonly store: Store,
    private readonly opts: BreakerOptions,
  ) {}

  private key(engine: string, part: "open" | "failures" | "probe"): string {
    return `breaker:${engine}:${part}`;
  }

  /**
   * Reads every engine's state in one round trip and says which may be called now. A half-open
   * engine is admitted without its trial: a job that an earlier engine answers must not hold the
   * trial and keep a recovered engine skipped (take it with `trial` when the chain reaches it).
   */
  async admit(engines: string[]): Promise<Map<string, Admission>> {
    const keys = engines.flatMap((e) => [this.key(e, "open"), this.key(e, "failures")]);
    const values = keys.length ? await this.store.mget<unknown>(keys) : [];
    const out = new Map<string, Admission>();
    const now = this.opts.now();
    for (const [i, engine] of engines.entries()) {
      const open = values[2 * i] as OpenRecord | null;
      const failures = Number(values[2 * i + 1] ?? 0) || 0;
      if (!open) {
        out.set(engine, { ok: true, probe: false, failures });
      } else if (open.until > now) {
        out.set(engine, {
          ok: false,
          until: open.until,
          retryAfterS: Math.ceil((open.until - now) / 1000),
          reason: open.reason,
        });
      } else {
        out.set(engine, { ok: true, probe: false, failures, halfOpen: true });
      }
    }
    return out;
  }

  /** Half-open: one caller across all instances tries the engine; the others keep skipping it. */
  async trial(engine: string, failures: number, ttlMs: number): Promise<Admission> {
    const now = this.opts.now();
    const won = await this.store.set(this.key(engine, "probe"), now, { nx: true, ttlMs });
    return won
      ? { ok: true, probe: true, failures }
      : { ok: false, until: now, retryAfterS: 1, reason: "another caller is trying it after its cool-off" };
  }

  /** The engine answered: a probe closes the breaker; a closed one forgets its failures. */
  async success(engine: string, admission: Admission): Promise<void> {
    if (!admission.ok) return;
    if (admission.probe) {
      await Promise.all([
        this.store.del(this.key(engine, "open")),
        this.store.del(this.key(engine, "probe")),
        this.store.del(this.key(engine, "failures")),
      ]);
    } else if (admission.failures > 0) {
      await this.store.del(this.key(engine, "failures"));
    }
  }

  /** Neither answer nor failure (the job's time ran out first): a probe lets another caller try. */
  async release(engine: string, admission: Admission): Promise<void> {
    if (admission.ok && admission.probe) await this.store.del(this.key(engine, "probe"));
  }

  /** The engine failed: count it; open the breaker at the threshold, or again after a failed probe. Returns true when it opened. */
  async failure(engine: string, admission: Admission | undefined, reason: string): Promise<boolean> {
    const n = await this.store.incr(this.key(engine, "failures"), 1, FAILURE_TTL_MS);
    const probe = admission?.ok === true && admission.probe;
    if (!probe && n < this.opts.failures) return false;
    const now = this.opts.now();
    // The reason is shown with every skip and on /health: its start is enough.
    const rec: OpenRecord = {
      until: now + this.opts.cooloffMs,
      opened_at: now,
      reason: reason.slice(0, 200),
    };
    // Kept well past the cool-off so a half-open breaker is still known as one.
    await this.store.set(this.key(engine, "open"), rec, { ttlMs: this.opts.cooloffMs * 10 + FAILURE_TTL_MS });
    if (probe) await this.store.del(this.key(engine, "probe"));
    return true;
  }

  /** Each engine's breaker as people read it: "closed", "open until <time> (<why>)" or "half-open" (one round trip). */
  async describe(engines: string[]): Promise<Record<string, string>> {
    const open = engines.length
      ? await this.store.mget<OpenRecord>(engines.map((e) => this.key(e, "open")))
      : [];
    const now = this.opts.now();
    return Object.fromEntries(
      engines.map((e, i) => {
        const o = open[i];
        return [
          e,
          !o
            ? "closed"
            : o.until > now
              ? `open until ${new Date(o.until).toISOString()}${o.reason ? ` (${o.reason})` : ""}`
              : "half-open",
        ];
      }),
    );
  }

  /** True while the engine's breaker is open (embedding calls check this before trying Ollama). */
  async isOpen(engine: string): Promise<boolean> {
    const open = await this.store.get<OpenRecord>(this.key(engine, "open"));
    return !!open && open.until > this.opts.now();
  }
}
