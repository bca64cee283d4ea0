/**
 * The ledger: at-least-once deliveries made exactly-once in effect (README, "How a job is handled").
 *
 * Each message id has an entry (`job:<id>`, kept for `store.retention`) and, while a
 * delivery works on it, a lease (`lease:<id>`, SET NX with a TTL, renewed while the job
 * runs). Claim order matters: take the lease first, then read the entry — a delivery that
 * finished writes its entry before it lets the lease go, so whoever gets the lease next
 * sees the finished entry and replays it. The entry is written once per delivery, when it
 * ends: while it runs, the lease itself carries what `get` shows (family, retried, received
 * at), so a job costs the store one write fewer. `attempts` counts the deliveries that
 * recorded an outcome, plus the one running. Steps (`step:<id>:<name>`) record effects inside
 * one message, such as one channel's send, so a redelivery repeats only what did not succeed.
 */
import { transient } from "../errors.ts";
import { isoAt } from "../iso-time.ts";
import { acquireOrLetGo, type Store, type Write } from "./store.ts";

export type JobStatus = "processing" | "succeeded" | "failed";

export interface LedgerEntry {
  message_id: string;
  family: string;
  status: JobStatus;
  attempts: number;
  retried: number;
  received_at: string;
  updated_at: string;
  finished_at?: string;
  /** HTTP status the finished job answered with (200 or 489). */
  http_status?: number;
  result?: unknown;
  error?: { code: string; message: string; retryable: boolean; details?: unknown };
  schedule_id?: string;
}

/** The lease's value: unique to one delivery, and enough to show the job while it runs. */
export interface Lease {
  token: string;
  family: string;
  retried: number;
  received_at: string;
  schedule_id?: string;
}

/**
 * What one job reads with its claim and writes with its answer, so its store round trips do not
 * grow with what it touches (docs/architecture.md, "Store round trips"): `read` gives a value read
 * in the claim's step (undefined when it was not asked for: then ask the store), `defer` queues a
 * write made in the same step as the job's finish or release.
 */
export interface Batch {
  read<T>(key: string): T | null | undefined;
  defer(...writes: Write[]): void;
  /** Runs `fn` once the deferred writes are made (what must count only what was recorded). */
  afterWrite(fn: () => void): void;
}

/** `key`'s value as the claim read it when the batch has it (null included), else from the store. */
export function readThrough<T>(store: Store, key: string, batch?: Batch): Promise<T | null> {
  const read = batch?.read<T>(key);
  return read !== undefined ? Promise.resolve(read) : store.get<T>(key);
}

export type Claim =
  | {
      kind: "claimed";
      entry: LedgerEntry;
      lease: Lease;
      batch: Batch;
      deferred: Write[];
      written: (() => void)[];
    }
  | { kind: "replay"; entry: LedgerEntry }
  /** The id is another family's message: a message id belongs to the one route it was published to. */
  | { kind: "reused"; family: string }
  | { kind: "busy"; retryAfterS: number };

export interface StepRecord {
  status: "succeeded" | "failed";
  at: string;
  attempts: number;
  data?: unknown;
}

/** Key kinds that belong to one message: `<kind>:<messageId>[:…]` (the ledger's, and delivery records). */
const MESSAGE_KEYS = ["job:", "step:", "notification:"];

/**
 * Whether a stored ledger entry is still processing, without parsing it (eviction asks this of
 * every candidate). An entry is written as message_id, family, status, …: the first two values are
 * JSON strings, where a quote is always escaped, so the first `"status":` in the text is the
 * entry's own — not one nested in its result (a webhook answering `{"status":"processing"}`).
 */
export function isProcessing(entryJson: string): boolean {
  const at = entryJson.indexOf('"status":');
  return at >= 0 && entryJson.startsWith('"processing"', at + 9);
}

/**
 * What a bounded memory store must never evict: a held lease, and every key of a message that
 * is still open — leased, or with an entry not finished (a transient failure QStash will
 * retry), whose steps say what must not be sent again. Dropping them would run the message twice.
 */
export function openMessageKeys(key: string, peek: (key: string) => string | null): boolean {
  if (key.startsWith("lease:")) return true;
  const kind = MESSAGE_KEYS.find((k) => key.startsWith(k));
  if (!kind) return false;
  // The id runs to the end (`job:`), or to some later `:` — an Idempotency-Key may hold one, so
  // every cut is tried.
  const rest = key.slice(kind.length);
  for (let end = rest.indexOf(":"); ; end = rest.indexOf(":", end + 1)) {
    const id = end < 0 ? rest : rest.slice(0, end);
    if (peek(`lease:${id}`) !== null) return true;
    const entry = peek(`job:${id}`);
    if (entry !== null && isProcessing(entry)) return true;
    if (end < 0) return false;
  }
}

export class Ledger {
  /** Leases held by running jobs, renewed together by one timer (not one timer per job). */
  private readonly held = new Map<
    string,
    { lease: Lease; onError: (e: unknown) => void; renewing?: Promise<void> }
  >();
  private renewer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly store: Store,
    private readonly opts: {
      leaseMs: number;
      retentionMs: number;
      now?: () => number;
      /**
       * Whether the renewal timer may outlive the jobs it served (see keep). False on Workers,
       * where a timer belongs to the request that set it and ends with it, silently.
       */
      timerOutlivesJobs?: boolean;
    },
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** The job as an operator sees it: its entry, or, while a first delivery runs, its lease. */
  async get(messageId: string): Promise<LedgerEntry | null> {
    const entry = await this.entry(messageId);
    if (entry) return entry;
    const lease = await this.store.get<Lease>(this.leaseKey(messageId));
    if (!lease || typeof lease !== "object") return null;
    return {
      message_id: messageId,
      family: lease.family,
      status: "processing",
      attempts: 1,
      retried: lease.retried,
      received_at: lease.received_at,
      updated_at: lease.received_at,
      ...(lease.schedule_id ? { schedule_id: lease.schedule_id } : {}),
    };
  }

  private entry(messageId: string): Promise<LedgerEntry | null> {
    return this.store.get<LedgerEntry>(this.entryKey(messageId));
  }

  /** Takes the message's lease and reads its entry — and `prefetch`'s keys — in one step. */
  async claim(
    messageId: string,
    family: string,
    meta: { retried: number; scheduleId?: string },
    prefetch: string[] = [],
  ): Promise<Claim> {
    const at = isoAt(this.now());
    const lease: Lease = {
      token: crypto.randomUUID(),
      family,
      retried: meta.retried,
      received_at: at,
      ...(meta.scheduleId ? { schedule_id: meta.scheduleId } : {}),
    };
    // One atomic step (one round trip on Redis): take the lease, read the entry.
    const got = await acquireOrLetGo<LedgerEntry>(
      this.store,
      this.leaseKey(messageId),
      lease,
      this.opts.leaseMs,
      this.entryKey(messageId),
      prefetch,
    );
    const existing = got.read;
    if (existing && existing.family !== family) {
      if (got.acquired) await this.store.delIfEquals(this.leaseKey(messageId), lease);
      return { kind: "reused", family: existing.family };
    }
    if (!got.acquired) {
      if (existing && existing.status !== "processing") return { kind: "replay", entry: existing };
      const ttl = got.ttlMs;
      return { kind: "busy", retryAfterS: Math.max(1, Math.ceil((ttl > 0 ? ttl : 1000) / 1000)) };
    }
    if (existing && existing.status !== "processing") {
      await this.store.delIfEquals(this.leaseKey(messageId), lease);
      return { kind: "replay", entry: existing };
    }
    // Not written now: finish() or release() writes it once (get() shows the lease meanwhile).
    const entry: LedgerEntry = {
      message_id: messageId,
      family,
      status: "processing",
      attempts: (existing?.attempts ?? 0) + 1,
      retried: meta.retried,
      received_at: existing?.received_at ?? at,
      updated_at: at,
      ...(meta.scheduleId ? { schedule_id: meta.scheduleId } : {}),
      ...(existing?.error ? { error: existing.error } : {}),
    };
    const deferred: Write[] = [];
    const written: (() => void)[] = [];
    const batch: Batch = {
      // A search of the few keys read, not a Map: building a Map per job costs more on V8 (BENCHMARKS.md).
      read: <T>(key: string) => {
        const i = prefetch.indexOf(key);
        return i < 0 ? undefined : (got.more[i] as T | null | undefined);
      },
      defer: (...w) => void deferred.push(...w),
      afterWrite: (fn) => void written.push(fn),
    };
    return { kind: "claimed", entry, lease, batch, deferred, written };
  }

  /** The message ids whose leases this process holds now (the jobs running here). */
  running(): string[] {
    return [...this.held.keys()];
  }

  /**
   * Renews the lease every third of its length until the returned function is called.
   * Jobs shorter than that never touch the timer's work. Where the timer may outlive the jobs
   * (`timerOutlivesJobs`), one timer renews every lease held and stops itself at a tick that finds
   * none, not when the last job lets go: under load, jobs one after another would otherwise set and
   * clear a timer each. Elsewhere (Workers) a timer lives only as long as the request that set it,
   * so each job renews its own lease with its own timer: a shared one died with the first job's
   * request and left the others' leases to lapse while they ran.
   * The returned function settles once a renewal under way has: a renewal that takes a lost lease
   * back sets it again for a moment, and a finish made in that moment would pass its check.
   */
  keep(messageId: string, lease: Lease, onError: (e: unknown) => void): () => Promise<void> {
    this.held.set(messageId, { lease, onError });
    const period = Math.max(100, Math.floor(this.opts.leaseMs / 3));
    const letGo = async () => {
      const h = this.held.get(messageId);
      if (h?.lease !== lease) return;
      this.held.delete(messageId);
      await h.renewing;
    };
    if (!this.opts.timerOutlivesJobs) {
      const own = setInterval(() => this.renewHeld(messageId), period);
      (own as { unref?: () => void }).unref?.();
      return () => {
        clearInterval(own);
        return letGo();
      };
    }
    if (!this.renewer) {
      this.renewer = setInterval(() => {
        if (this.held.size === 0) return this.stopRenewing();
        for (const id of this.held.keys()) this.renewHeld(id);
      }, period);
      // It must not keep a process alive that has nothing else to do (`run`, shutdown).
      (this.renewer as { unref?: () => void }).unref?.();
    }
    return letGo;
  }

  /** Renews one held lease; a lost one is let go and said once (the job runs on, and its finish will not write over the new holder's entry). */
  private renewHeld(id: string): void {
    const h = this.held.get(id);
    if (!h || h.renewing) return;
    h.renewing = this.renew(id, h.lease)
      .then((kept) => {
        if (kept) return;
        this.held.delete(id);
        h.onError(new Error("the lease was lost: another delivery may have taken the message over"));
      }, h.onError)
      .finally(() => {
        h.renewing = undefined;
      });
  }

  /** Stops the renewal timer (it restarts with the next keep). */
  private stopRenewing(): void {
    if (this.renewer) clearInterval(this.renewer);
    this.renewer = undefined;
  }

  /**
   * Extends a held lease; false when it was lost (expired and taken over). A lease that is simply
   * gone — the store lost it (a Redis restarted without its data) — is taken back while no other
   * delivery holds it, so a redelivery meanwhile is told in_progress instead of running the job twice.
   */
  async renew(messageId: string, lease: Lease): Promise<boolean> {
    if (await this.store.expireIfEquals(this.leaseKey(messageId), lease, this.opts.leaseMs)) return true;
    return this.takeBack(messageId, lease);
  }

  /**
   * Takes back a lease the store lost (no holder), reading the entry in the same step: not when
   * another delivery finished the message meanwhile — its record must stand. One step, so no
   * delivery can claim and finish between the look and the take.
   */
  private async takeBack(messageId: string, lease: Lease): Promise<boolean> {
    const key = this.leaseKey(messageId);
    const got = await acquireOrLetGo<LedgerEntry>(
      this.store,
      key,
      lease,
      this.opts.leaseMs,
      this.entryKey(messageId),
    );
    if (!got.acquired) return false;
    if ((got.read?.status ?? "processing") === "processing") return true;
    await this.store.delIfEquals(key, lease);
    return false;
  }

  /** Records the final answer, then lets the lease go (in that order: see the header). */
  async finish(
    entry: LedgerEntry,
    lease: Lease,
    outcome: {
      status: "succeeded" | "failed";
      httpStatus: number;
      result?: unknown;
      error?: LedgerEntry["error"];
    },
    also: Write[] = [],
  ): Promise<LedgerEntry> {
    const at = isoAt(this.now());
    const done: LedgerEntry = {
      ...entry,
      status: outcome.status,
      http_status: outcome.httpStatus,
      updated_at: at,
      finished_at: at,
    };
    if (outcome.result !== undefined) done.result = outcome.result;
    if (outcome.error) done.error = outcome.error;
    else delete done.error;
    await this.putAndRelease(done, lease, also);
    return done;
  }

  /** A transient failure: keep the entry open with its last error and free the lease for the retry. */
  async release(
    entry: LedgerEntry,
    lease: Lease,
    error: NonNullable<LedgerEntry["error"]>,
    also: Write[] = [],
  ): Promise<void> {
    await this.putAndRelease({ ...entry, error, updated_at: isoAt(this.now()) }, lease, also);
  }

  /**
   * The write that marks a message failed from outside its own delivery (QStash's failure
   * callback), keeping what its entry already says. The caller makes it, in one step with its own
   * records (a `once` write with them: store.ts onceWith), so a retry finds all of them written or none.
   */
  async failedWrite(
    messageId: string,
    family: string,
    error: NonNullable<LedgerEntry["error"]>,
    batch?: Batch,
  ): Promise<Write> {
    const at = isoAt(this.now());
    const existing = await readThrough<LedgerEntry>(this.store, this.entryKey(messageId), batch);
    // QStash gave up on an attempt whose answer came too late, and the delivery then succeeded:
    // its effects went out, so it stays succeeded (a retry from the DLQ is a new message: README).
    if (existing?.status === "succeeded")
      return { op: "set", key: this.entryKey(messageId), value: existing, ttlMs: this.opts.retentionMs };
    const entry: LedgerEntry = {
      message_id: messageId,
      family: existing?.family ?? family,
      status: "failed",
      attempts: existing?.attempts ?? 0,
      retried: existing?.retried ?? 0,
      received_at: existing?.received_at ?? at,
      updated_at: at,
      finished_at: at,
      http_status: existing?.http_status,
      error,
    };
    if (existing?.result !== undefined) entry.result = existing.result;
    return { op: "set", key: this.entryKey(messageId), value: entry, ttlMs: this.opts.retentionMs };
  }

  entryKey(messageId: string): string {
    return `job:${messageId}`;
  }

  leaseKey(messageId: string): string {
    return `lease:${messageId}`;
  }

  stepKey(messageId: string, step: string): string {
    return `step:${messageId}:${step}`;
  }

  /** A step's record: read with the claim when the batch has it, else from the store. */
  async getStep(messageId: string, step: string, batch?: Batch): Promise<StepRecord | null> {
    return readThrough<StepRecord>(this.store, this.stepKey(messageId, step), batch);
  }

  putStep(messageId: string, step: string, record: StepRecord): Promise<boolean> {
    return this.store.set(this.stepKey(messageId, step), record, { ttlMs: this.opts.retentionMs });
  }

  /** A step's record as a write to make with others. */
  stepWrite(messageId: string, step: string, record: StepRecord): Write {
    return { op: "set", key: this.stepKey(messageId, step), value: record, ttlMs: this.opts.retentionMs };
  }

  /**
   * Makes the job's own writes, then writes the entry and lets the lease go, in that order, in one
   * atomic step (see the header). The entry and the release are made only while the lease is still
   * this delivery's: one that lost it (paused past its TTL, taken over) must not write over the
   * entry of the delivery that took over; what it did is still recorded (`also`).
   */
  private async putAndRelease(entry: LedgerEntry, lease: Lease, also: Write[]): Promise<void> {
    const leaseKey = this.leaseKey(entry.message_id);
    const entryKey = this.entryKey(entry.message_id);
    const record: Write[] = [
      { op: "check", key: leaseKey, equals: lease, guards: 2 },
      { op: "set", key: entryKey, value: entry, ttlMs: this.opts.retentionMs },
      { op: "del", key: leaseKey, ifEquals: lease },
    ];
    if (await this.store.writeMany([...also, ...record])) return;
    // The store lost the lease (a Redis restarted without its data) and nobody took over: this
    // outcome is recorded, the lease taken back for that step — else the answer would be a 503
    // and the redelivery would run again what succeeded.
    const retaken = (await this.takeBack(entry.message_id, lease)) && (await this.store.writeMany(record));
    if (!retaken)
      throw transient(
        "lease_lost",
        "this delivery outlived its lease and another took the message over: its outcome was not recorded",
        5,
      );
  }
}
