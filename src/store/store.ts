/**
 * The store: the one interface every stateful part of the worker (ledger, rate limits,
 * aggregated metrics, results) talks to. Three implementations sit behind it — memory,
 * Upstash Redis over REST, self-hosted Redis over TCP — and one contract suite
 * (test/store/contract.ts) holds them to the same behaviour.
 *
 * Values are JSON: `set` stores `JSON.stringify(value)` and `get` returns the parsed value.
 * Every operation that must be atomic across instances says so; the Redis
 * implementations do those with a single command or a Lua script.
 */
export type StoreKind = "memory" | "upstash" | "redis";

export interface SetOptions {
  /** Expire the key after this many milliseconds. */
  ttlMs?: number;
  /** Only set when the key does not exist (atomic). */
  nx?: boolean;
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
  /** Resolves when the store answers; rejects with the reason otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
