/**
 * In-memory store: the embedded default. One process only — leases and counters are atomic
 * within it because every operation runs synchronously between awaits. Bounded: past
 * `maxKeys` values the oldest-created are dropped, so a busy process cannot grow without limit
 * (a ledger entry older than that is forgotten early, as if its retention had passed). A
 * `KeepRule` names what must never be dropped (a held lease, an unfinished job's entry and
 * steps); when only such keys are left, a write fails with 503 store_full instead.
 * JSON hashes and sorted sets are not counted there: their owners bound them (the similarity
 * index keeps at most ai.similar.max_alerts alerts). Values are held in a ByteTable (bytes in
 * typed arrays, not a string and an object per entry: see byte-table.ts for why).
 */
import { transient } from "../errors.ts";
import { ByteTable, NO_SLOT } from "./byte-table.ts";
import { SortedSet } from "./sorted-set.ts";
import { type Acquired, type SetOptions, type Store, toJson, type Write, type ZEntry } from "./store.ts";

/** Whether `key` is live state that eviction must leave alone; `peek` reads another key's value. */
export type KeepRule = (key: string, peek: (key: string) => string | null) => boolean;

interface List {
  items: string[];
  expiresAt: number | null;
}

export class MemoryStore implements Store {
  readonly kind = "memory" as const;
  private readonly data = new ByteTable();
  private readonly hashes = new Map<string, Map<string, number>>();
  private readonly lists = new Map<string, List>();
  private readonly jsonHashes = new Map<string, Map<string, string>>();
  private readonly zsets = new Map<string, SortedSet>();
  private sweepAt = 0;

  /**
   * @param now clock in ms, injectable for tests.
   * @param maxKeys most values kept. @default 10000
   * @param keep what eviction must leave alone; everything may go without one.
   */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 10_000,
    private readonly keep?: KeepRule,
  ) {}

  /** A key's live value without touching the table (eviction walks it meanwhile). */
  private readonly peek = (key: string): string | null => {
    const slot = this.data.find(key);
    if (slot === NO_SLOT) return null;
    const at = this.data.expiresAt(slot);
    return at !== null && at <= this.now() ? null : this.data.value(slot);
  };

  /** The slot of `key`'s value, or NO_SLOT; an expired key is dropped on the way. */
  private live(key: string, now = this.now()): number {
    const slot = this.data.find(key);
    if (slot === NO_SLOT) return NO_SLOT;
    const at = this.data.expiresAt(slot);
    if (at !== null && at <= now) {
      this.data.delete(key);
      return NO_SLOT;
    }
    return slot;
  }

  /** Drops expired keys now and then so a long-running process does not grow without bound. */
  private sweep(t: number): void {
    if (t < this.sweepAt) return;
    this.sweepAt = t + 60_000;
    this.data.sweep(t);
    for (const [k, l] of this.lists) if (l.expiresAt !== null && l.expiresAt <= t) this.lists.delete(k);
  }

  /**
   * Stores `text` at `key`; a new key past maxKeys first drops the oldest-created tenth that the
   * keep rule lets go, in one pass. `headroom` keys must stay free after it (a new lease leaves
   * room for the steps of the jobs already running); when they cannot, 503 store_full.
   */
  private put(key: string, slot: number, text: string, expiresAt: number | null, headroom = 0): void {
    if (slot === NO_SLOT && this.data.size >= this.maxKeys - headroom) {
      const keep = this.keep;
      this.data.evictOldest(Math.max(1, Math.floor(this.maxKeys / 10)), keep && ((k) => keep(k, this.peek)));
      if (this.data.size >= this.maxKeys - headroom)
        throw transient(
          "store_full",
          `the memory store holds store.max_keys (${this.maxKeys}) values of jobs still running or to be retried; nothing can be dropped`,
          5,
        );
    }
    this.data.put(key, text, expiresAt, slot);
  }

  async get<T>(key: string): Promise<T | null> {
    return this.read<T>(key);
  }

  private read<T>(key: string): T | null {
    const slot = this.live(key);
    return slot === NO_SLOT ? null : (JSON.parse(this.data.value(slot)) as T);
  }

  async mget<T>(keys: string[]): Promise<(T | null)[]> {
    return keys.map((k) => this.read<T>(k));
  }

  async set(key: string, value: unknown, opts: SetOptions = {}): Promise<boolean> {
    return this.write(key, value, opts);
  }

  private write(key: string, value: unknown, opts: SetOptions, headroom = 0): boolean {
    const t = this.now();
    this.sweep(t);
    const slot = this.live(key, t);
    if (opts.nx && slot !== NO_SLOT) return false;
    this.put(key, slot, toJson(value), opts.ttlMs ? t + opts.ttlMs : null, headroom);
    return true;
  }

  async del(key: string): Promise<void> {
    this.drop(key);
  }

  private drop(key: string): void {
    this.data.delete(key);
    this.hashes.delete(key);
    this.lists.delete(key);
    this.jsonHashes.delete(key);
    this.zsets.delete(key);
  }

  /** Makes `writes` in order (synchronously: atomic within the process). */
  private apply(writes: readonly Write[]): boolean {
    let held = true;
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i];
      if (w.op === "set") this.write(w.key, w.value, { ttlMs: w.ttlMs });
      else if (w.op === "push") this.push(w.key, w.value, w.max, w.ttlMs);
      else if (w.op === "del") {
        if (w.ifEquals === undefined) this.drop(w.key);
        else this.deleteIfEquals(w.key, w.ifEquals);
      } else if (w.op === "hset") void this.hset(w.key, { [w.field]: w.value });
      else if (w.op === "hdel") void this.hdel(w.key, [w.field]);
      else if (w.op === "zadd") this.zset(w.key, true).add(w.member, w.score);
      else if (w.op === "zrem") {
        const z = this.zset(w.key);
        if (z?.remove(w.member)) this.zdrop(w.key, z);
      } else if (w.op === "check") {
        if (this.holding(w.key, w.equals) === NO_SLOT) {
          held = false;
          i += w.guards;
        }
      } else if (!this.write(w.key, w.value, { nx: true, ttlMs: w.ttlMs })) i += w.guards;
    }
    return held;
  }

  async writeMany(writes: Write[]): Promise<boolean> {
    return this.apply(writes);
  }

  async delIfEquals(key: string, expected: unknown): Promise<boolean> {
    return this.deleteIfEquals(key, expected);
  }

  private deleteIfEquals(key: string, expected: unknown): boolean {
    if (this.holding(key, expected) === NO_SLOT) return false;
    this.data.delete(key);
    return true;
  }

  async expireIfEquals(key: string, expected: unknown, ttlMs: number): Promise<boolean> {
    const slot = this.holding(key, expected);
    if (slot === NO_SLOT) return false;
    this.data.setExpiry(slot, this.now() + ttlMs);
    return true;
  }

  /** The slot of `key` when it holds `expected` (compared as stored: JSON), or NO_SLOT. */
  private holding(key: string, expected: unknown): number {
    const slot = this.live(key);
    return slot !== NO_SLOT && this.data.value(slot) === toJson(expected) ? slot : NO_SLOT;
  }

  async acquire<T>(
    key: string,
    value: unknown,
    ttlMs: number,
    alsoRead: string,
    more: string[] = [],
  ): Promise<Acquired<T>> {
    // A new lease starts a job: it needs room for that job's entry and steps, so keep a twentieth free.
    const acquired = this.write(key, value, { nx: true, ttlMs }, Math.floor(this.maxKeys / 20));
    return {
      acquired,
      read: this.read<T>(alsoRead),
      ttlMs: acquired ? ttlMs : this.ttlOf(key),
      more: more.map((k) => this.read(k)),
    };
  }

  async pttl(key: string): Promise<number> {
    return this.ttlOf(key);
  }

  private ttlOf(key: string): number {
    const slot = this.live(key);
    const at = slot !== NO_SLOT ? this.data.expiresAt(slot) : this.liveList(key)?.expiresAt;
    if (at === undefined) return -2;
    return at === null ? -1 : at - this.now();
  }

  async incr(key: string, by = 1, ttlMs?: number): Promise<number> {
    const slot = this.live(key);
    const known = slot !== NO_SLOT;
    const next = (known ? Number(JSON.parse(this.data.value(slot))) : 0) + by;
    const expiresAt = known ? this.data.expiresAt(slot) : ttlMs ? this.now() + ttlMs : null;
    this.put(key, slot, toJson(next), expiresAt);
    return next;
  }

  async hincr(key: string, field: string, by: number): Promise<number> {
    let h = this.hashes.get(key);
    if (!h) {
      h = new Map();
      this.hashes.set(key, h);
    }
    const next = (h.get(field) ?? 0) + by;
    h.set(field, next);
    return next;
  }

  async hgetall(key: string): Promise<Record<string, number>> {
    return Object.fromEntries(this.hashes.get(key) ?? []);
  }

  async pushCapped(key: string, value: unknown, max: number, ttlMs?: number): Promise<void> {
    this.push(key, value, max, ttlMs);
  }

  private push(key: string, value: unknown, max: number, ttlMs: number | undefined): void {
    if (max < 1) {
      this.lists.delete(key);
      return;
    }
    let l = this.liveList(key);
    if (!l) {
      l = { items: [], expiresAt: null };
      this.lists.set(key, l);
    }
    l.items.unshift(toJson(value));
    if (l.items.length > max) l.items.length = max;
    if (ttlMs) l.expiresAt = this.now() + ttlMs;
  }

  private liveList(key: string): List | undefined {
    const l = this.lists.get(key);
    return l && (l.expiresAt === null || l.expiresAt > this.now()) ? l : undefined;
  }

  async list<T>(key: string, limit: number): Promise<T[]> {
    const l = this.liveList(key);
    if (!l) return [];
    return l.items.slice(0, limit).map((v) => JSON.parse(v) as T);
  }

  async hset(key: string, fields: Record<string, unknown>): Promise<void> {
    const entries = Object.entries(fields);
    if (entries.length === 0) return;
    let h = this.jsonHashes.get(key);
    if (!h) {
      h = new Map();
      this.jsonHashes.set(key, h);
    }
    for (const [f, v] of entries) h.set(f, toJson(v));
  }

  async hmget<T>(key: string, fields: string[]): Promise<(T | null)[]> {
    const h = this.jsonHashes.get(key);
    return fields.map((f) => {
      const v = h?.get(f);
      return v === undefined ? null : (JSON.parse(v) as T);
    });
  }

  async hdel(key: string, fields: string[]): Promise<number> {
    const h = this.jsonHashes.get(key);
    let n = 0;
    for (const f of fields) if (h?.delete(f)) n++;
    if (h && h.size === 0) this.jsonHashes.delete(key);
    return n;
  }

  private zset(key: string, create: true): SortedSet;
  private zset(key: string, create?: false): SortedSet | undefined;
  private zset(key: string, create = false): SortedSet | undefined {
    let z = this.zsets.get(key);
    if (!z && create) {
      z = new SortedSet();
      this.zsets.set(key, z);
    }
    return z;
  }

  private zdrop(key: string, z: SortedSet): void {
    if (z.size === 0) this.zsets.delete(key);
  }

  async zadd(key: string, entries: ZEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const z = this.zset(key, true);
    for (const e of entries) z.add(e.member, e.score);
  }

  async zrem(key: string, members: string[]): Promise<number> {
    const z = this.zset(key);
    if (!z) return 0;
    let n = 0;
    for (const m of members) if (z.remove(m)) n++;
    this.zdrop(key, z);
    return n;
  }

  async zcard(key: string): Promise<number> {
    return this.zset(key)?.size ?? 0;
  }

  async zrange(key: string, opts: { limit: number; rev?: boolean; maxScore?: number }): Promise<ZEntry[]> {
    if (opts.limit < 1) return [];
    return this.zset(key)?.range(opts.limit, opts.rev, opts.maxScore) ?? [];
  }

  async ztopMany(keys: string[], limit: number | number[]): Promise<{ size: number; members: string[] }[]> {
    return keys.map((k, i) => {
      const z = this.zset(k);
      const n = typeof limit === "number" ? limit : (limit[i] ?? 0);
      return { size: z?.size ?? 0, members: z && n > 0 ? z.top(n) : [] };
    });
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
