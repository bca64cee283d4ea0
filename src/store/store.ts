/**
 * The store: the one interface every stateful part of the worker (ledger, rate limits,
 * aggregated metrics, results) talks to. Three implementations sit behind it — memory,
 * Upstash Redis over REST, self-hosted Redis over TCP — and one contract suite
 * (test/store/contract.ts) holds them to the same behaviour.
 *
 * Values are JSON: `set` stores `toJson(value)` and `get` returns the parsed value.
 * Every operation that must be atomic across instances says so; the Redis
 * implementations do those with a single command or a Lua script.
 */
import { mayHaveWritten } from "../errors.ts";

/** How long a health check waits on the store before it says the store did not answer. */
export const STORE_PROBE_MS = 2000;

export type StoreKind = "memory" | "upstash" | "redis" | "sqlite";

/** A value as every store holds it: its JSON (`undefined`, which has none, as `null`). */
export const toJson = (value: unknown): string => JSON.stringify(value) ?? "null";

export interface SetOptions {
  /** Expire the key after this many milliseconds. */
  ttlMs?: number;
  /** Only set when the key does not exist (atomic). */
  nx?: boolean;
}

/** What `acquire` did: whether it set the key, what it read, and the key's remaining TTL. */
export interface Acquired<T> {
  acquired: boolean;
  read: T | null;
  ttlMs: number;
  /** The values of `more`, in order (null for missing keys). */
  more: unknown[];
}

/**
 * One write made in one step with others (`writeMany`): a value, a
 * push onto a capped list, a delete (only when the key holds `ifEquals`, if given), a field of a
 * JSON hash set or deleted, a sorted-set member added or removed, `once`: set only if the key does not exist,
 * and when it did exist skip the `guards` writes after it; or `check`: no write itself, but
 * when `key` does not hold `equals`, skip the `guards` writes after it (a lock still held).
 */
export type Write =
  | { op: "set"; key: string; value: unknown; ttlMs?: number }
  | { op: "push"; key: string; value: unknown; max: number; ttlMs?: number }
  | { op: "del"; key: string; ifEquals?: unknown }
  | { op: "hset"; key: string; field: string; value: unknown }
  | { op: "hdel"; key: string; field: string }
  | { op: "zadd"; key: string; member: string; score: number }
  | { op: "zrem"; key: string; member: string }
  | { op: "once"; key: string; value: unknown; ttlMs: number; guards: number }
  | { op: "check"; key: string; equals: unknown; guards: number };

/** `key` set once (NX) and, only then, `also`: as writes to make in one step with others. */
export const onceWith = (key: string, value: unknown, ttlMs: number, also: Write[]): Write[] => [
  { op: "once", key, value, ttlMs, guards: also.length },
  ...also,
];

/**
 * `store.acquire`, letting the key go again when the call fails: it may have been set with its answer
 * lost (the connection broke), and a lease or lock no one knows it holds would refuse every retry
 * until its TTL. `value` must be unique to this caller (a token).
 */
export function acquireOrLetGo<T>(
  store: Store,
  key: string,
  value: unknown,
  ttlMs: number,
  alsoRead: string,
  more?: string[],
): Promise<Acquired<T>> {
  return store.acquire<T>(key, value, ttlMs, alsoRead, more).catch((e) => {
    // A store that says it wrote nothing (SQLite's lock not had) took no key: asking it again
    // would only wait out the same lock. Not awaited: a store that timed out would make the job
    // wait a second timeout before its 503; the retry comes seconds later.
    if (mayHaveWritten(e)) void store.delIfEquals(key, value).catch(() => {});
    throw e;
  });
}

/** One member of a sorted set and its score. */
export interface ZEntry {
  member: string;
  score: number;
}

export interface Store {
  readonly kind: StoreKind;
  /** The parsed JSON value at `key`, or null. */
  get<T = unknown>(key: string): Promise<T | null>;
  /** Many keys in one round trip; missing keys give null. */
  mget<T = unknown>(keys: string[]): Promise<(T | null)[]>;
  /** Stores `value` as JSON. Returns false only when `nx` was set and the key existed. */
  set(key: string, value: unknown, opts?: SetOptions): Promise<boolean>;
  del(key: string): Promise<void>;
  /** Deletes `key` only when it holds `expected` (atomic compare-and-delete). */
  delIfEquals(key: string, expected: unknown): Promise<boolean>;
  /** Sets a new TTL only when `key` holds `expected` (atomic; used to renew leases). */
  expireIfEquals(key: string, expected: unknown, ttlMs: number): Promise<boolean>;
  /**
   * In one atomic step: sets `key` to `value` with a TTL only if it does not exist, and reads
   * `alsoRead`. `ttlMs` is what is left of the existing key's TTL when it was not set. One round
   * trip for what a lease claim needs (the ledger's take-the-lease-then-read-the-entry).
   */
  acquire<T = unknown>(
    key: string,
    value: unknown,
    ttlMs: number,
    alsoRead: string,
    more?: string[],
  ): Promise<Acquired<T>>;
  /**
   * Makes every write, in order, in one atomic step (one round trip). A `once` write (onceWith)
   * records something exactly once with what points at it: a retry finds all of it or none.
   * False when a `check` did not hold (its guarded writes were not made).
   */
  writeMany(writes: Write[]): Promise<boolean>;
  /** Remaining time to live in ms; -1 when the key has no TTL, -2 when it does not exist. */
  pttl(key: string): Promise<number>;
  /** Atomically adds `by` (default 1) to an integer counter; a new counter gets `ttlMs` if given. */
  incr(key: string, by?: number, ttlMs?: number): Promise<number>;
  /** Atomically adds `by` to a numeric hash field (float allowed). */
  hincr(key: string, field: string, by: number): Promise<number>;
  /** Every field of a hash, values as numbers where they parse as numbers. */
  hgetall(key: string): Promise<Record<string, number>>;
  /** Pushes `value` on the front of a list and keeps only the newest `max` entries (atomic). */
  pushCapped(key: string, value: unknown, max: number, ttlMs?: number): Promise<void>;
  /** The newest `limit` entries of a list, newest first. */
  list<T = unknown>(key: string, limit: number): Promise<T[]>;

  // Hashes of JSON values (for records addressed by field; separate from hincr's numeric hashes).
  /** Sets fields of a hash to JSON values, in one round trip. */
  hset(key: string, fields: Record<string, unknown>): Promise<void>;
  /** The parsed values of `fields` in order, null for missing ones, in one round trip. */
  hmget<T = unknown>(key: string, fields: string[]): Promise<(T | null)[]>;
  /** Removes fields from a hash; returns how many were there. */
  hdel(key: string, fields: string[]): Promise<number>;

  // Sorted sets: string members ordered by score, ties by member (byte order).
  /** Adds members, or moves existing ones to their new score. */
  zadd(key: string, entries: ZEntry[]): Promise<void>;
  /** Removes members; returns how many were there. */
  zrem(key: string, members: string[]): Promise<number>;
  zcard(key: string): Promise<number>;
  /**
   * At most `limit` entries, lowest score first (highest first with `rev`); with `maxScore`
   * only members scoring at most that.
   */
  zrange(key: string, opts: { limit: number; rev?: boolean; maxScore?: number }): Promise<ZEntry[]>;
  /**
   * For every key in one round trip: its size and its `limit` highest-scored members, highest
   * first (`limit` may be one number per key; 0 reads only the size).
   */
  ztopMany(keys: string[], limit: number | number[]): Promise<{ size: number; members: string[] }[]>;

  /** Resolves when the store answers; rejects with the reason otherwise. */
  ping(): Promise<void>;
  /**
   * How the store's server is set up to break the worker's promises, in words for the log (a
   * Redis that may evict keys: a lease or ledger entry gone runs a message twice). None known: [].
   */
  hazards?(): Promise<string[]>;
  close(): Promise<void>;
}
