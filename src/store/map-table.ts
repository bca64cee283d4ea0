/**
 * Where the memory store keeps its string keys and JSON values with their expiry, by slot.
 * MapTable is the default: a Map from key to slot, values and expiries in arrays. The binary
 * gives the store a ByteTable instead (byte-table.ts): on Bun it is faster under load, on V8
 * (Deno, workerd) slower — BENCHMARKS.md, "The memory store's table".
 */

/** No slot: what `find` gives for a key the table does not hold. */
export const NO_SLOT = -1;

export interface MemoryTable {
  readonly size: number;
  /** The slot holding `key` (expired or not), or NO_SLOT. */
  find(key: string): number;
  value(slot: number): string;
  expiresAt(slot: number): number | null;
  setExpiry(slot: number, at: number | null): void;
  /**
   * Sets `key` to `value`: a new key goes last in the creation order, a known one keeps its place.
   * `slot` is what `find(key)` gave with nothing removed since; NO_SLOT when the key is new.
   */
  put(key: string, value: string, expiresAt: number | null, slot?: number): void;
  delete(key: string): boolean;
  evictOldest(n: number, keep?: (key: string) => boolean): number;
  sweep(now: number): void;
  keys(): IterableIterator<string>;
}

/** The Map's insertion order is the creation order, which is what `evictOldest` drops first. */
export class MapTable implements MemoryTable {
  private readonly index = new Map<string, number>();
  private readonly values: string[] = [];
  private readonly expiry: (number | null)[] = [];
  private readonly free: number[] = [];

  get size(): number {
    return this.index.size;
  }

  find(key: string): number {
    return this.index.get(key) ?? NO_SLOT;
  }

  value(slot: number): string {
    return this.values[slot];
  }

  expiresAt(slot: number): number | null {
    return this.expiry[slot];
  }

  setExpiry(slot: number, at: number | null): void {
    this.expiry[slot] = at;
  }

  put(key: string, value: string, expiresAt: number | null, slot = this.find(key)): void {
    if (slot === NO_SLOT) {
      slot = this.free.pop() ?? this.values.length;
      this.index.set(key, slot);
    }
    this.values[slot] = value;
    this.expiry[slot] = expiresAt;
  }

  delete(key: string): boolean {
    const slot = this.index.get(key);
    if (slot === undefined) return false;
    this.index.delete(key);
    this.release(slot);
    return true;
  }

  private release(slot: number): void {
    this.values[slot] = "";
    this.free.push(slot);
  }

  evictOldest(n: number, keep?: (key: string) => boolean): number {
    let dropped = 0;
    for (const [key, slot] of this.index) {
      if (dropped >= n) break;
      if (keep?.(key)) continue;
      this.index.delete(key);
      this.release(slot);
      dropped++;
    }
    return dropped;
  }

  sweep(now: number): void {
    for (const [key, slot] of this.index) {
      const at = this.expiry[slot];
      if (at !== null && at <= now) {
        this.index.delete(key);
        this.release(slot);
      }
    }
  }

  keys(): IterableIterator<string> {
    return this.index.keys();
  }
}
