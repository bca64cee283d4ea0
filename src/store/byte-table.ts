/**
 * ByteTable: the memory store's string keys and JSON values, with their expiry, held in typed
 * arrays instead of one JS string and one object per entry.
 *
 * Why: a busy worker writes ~3 ledger values per job and the store keeps the newest `max_keys`,
 * so each value lives a fraction of a second under load — long enough for Bun's generational
 * collector to promote it, short enough to die right after. Promoted garbage is collected only
 * by full collections, and RSS climbs between them. Held here, an entry is bytes in a block
 * reused in place: no cell for the collector to trace, promote or free (what it saves under
 * load: BENCHMARKS.md, the binary section).
 *
 * Layout:
 * - An index Map from a 32-bit hash of the key (an immediate, not a heap cell) to the first
 *   slot; keys with the same hash chain through `next`.
 * - Per slot, in typed arrays: its block (size class and block number), the key's length, the
 *   value's UTF-8 length, its expiry (NaN: none) and the next slot of its chain.
 * - Blocks come from size classes (64 B … 2 KiB, steps of ~1.4×), one growing byte arena per
 *   class with a free list. A block holds the key as UTF-16 code units, then the value as UTF-8.
 * - An entry too large for the largest class, or past `maxArenaBytes` in all, is kept as JS
 *   strings in a side Map instead: rare, and read back the same either way.
 * - Values must be well-formed UTF-16, as JSON.stringify's output always is: a lone surrogate
 *   would come back as U+FFFD.
 *
 * Order: the index Map's insertion order is the order keys were created (a replaced value
 * keeps its key's place), which is what `evictOldest` drops first. Keys that share a hash share
 * their first one's place and are evicted together unless a keep rule holds one: at 10,000
 * keys, a pair shares a 32-bit hash about once in a hundred tables.
 */

const CLASSES = [64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048];
/** Blocks in one chunk of an arena (a power of two: block b is in chunk b >> 6). */
const CHUNK_BLOCKS = 64;
const CHUNK_SHIFT = 6;
const IN_CHUNK = CHUNK_BLOCKS - 1;
/** No slot: what `find` gives for a key the table does not hold. */
export const NO_SLOT = -1;
/** Marks a slot whose entry lives in the side Map. */
const BIG = -2;

const encoder = new TextEncoder();
// ignoreBOM: a value that starts with U+FEFF reads back with it.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** 32-bit FNV-1a over the key's UTF-16 code units. */
function hashOf(key: string): number {
  let h = -2128831035; // 0x811c9dc5 as an int32
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return h;
}

function classFor(bytes: number): number {
  for (let c = 0; c < CLASSES.length; c++) if (CLASSES[c] >= bytes) return c;
  return NO_SLOT;
}

/** One size class: blocks of `size` bytes, in chunks of 64 blocks added as needed, with a free list. */
class Arena {
  readonly chunks: Uint8Array[] = [];
  /** The same chunks as UTF-16 code units (keys are stored that way). */
  readonly units: Uint16Array[] = [];
  /** Blocks handed out so far (the high-water mark); freed ones wait in `free`. */
  private used = 0;
  private readonly free: number[] = [];

  constructor(readonly size: number) {}

  get bytes(): number {
    return this.chunks.length * this.size * CHUNK_BLOCKS;
  }

  /** A free block's number, or NO_SLOT when a new chunk would pass `room` bytes. */
  alloc(room: number): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.used === this.chunks.length * CHUNK_BLOCKS) {
      if (this.size * CHUNK_BLOCKS > room) return NO_SLOT;
      const chunk = new Uint8Array(this.size * CHUNK_BLOCKS);
      this.chunks.push(chunk);
      this.units.push(new Uint16Array(chunk.buffer));
    }
    return this.used++;
  }

  release(block: number): void {
    this.free.push(block);
  }
}

export class ByteTable {
  private readonly index = new Map<number, number>();
  private readonly arenas = CLASSES.map((size) => new Arena(size));
  private readonly big = new Map<number, { key: string; value: string }>();
  private cls = new Int8Array(0);
  private block = new Int32Array(0);
  private keyLen = new Int32Array(0);
  private valueLen = new Int32Array(0);
  private expiry = new Float64Array(0);
  private next = new Int32Array(0);
  private readonly freeSlots: number[] = [];
  private slots = 0;
  private live = 0;
  private arenaTotal = 0;
  private hashedKey = "";
  private hashed = hashOf("");

  /** @param maxArenaBytes bytes the arenas may grow to together; past that, entries go to the side Map. */
  constructor(private readonly maxArenaBytes = 32 * 1024 * 1024) {
    this.growSlots(1024);
  }

  get size(): number {
    return this.live;
  }

  /** Bytes the arenas hold (they grow, and are reused, but are not given back). */
  get arenaBytes(): number {
    return this.arenaTotal;
  }

  /** hashOf(key), remembered for the last key: an operation often finds a key, then writes it. */
  private hash(key: string): number {
    if (key !== this.hashedKey) {
      this.hashedKey = key;
      this.hashed = hashOf(key);
    }
    return this.hashed;
  }

  /** The slot holding `key` (expired or not), or NO_SLOT. */
  find(key: string): number {
    let s = this.index.get(this.hash(key)) ?? NO_SLOT;
    while (s !== NO_SLOT && !this.holdsKey(s, key)) s = this.next[s];
    return s;
  }

  value(slot: number): string {
    if (this.cls[slot] === BIG) return (this.big.get(slot) as { value: string }).value;
    const arena = this.arenas[this.cls[slot]];
    const b = this.block[slot];
    const start = (b & IN_CHUNK) * arena.size + 2 * this.keyLen[slot];
    return decoder.decode(arena.chunks[b >> CHUNK_SHIFT].subarray(start, start + this.valueLen[slot]));
  }

  /** Expiry in ms since the epoch, or null for none. */
  expiresAt(slot: number): number | null {
    const t = this.expiry[slot];
    return Number.isNaN(t) ? null : t;
  }

  setExpiry(slot: number, at: number | null): void {
    this.expiry[slot] = at ?? Number.NaN;
  }

  /**
   * Sets `key` to `value`: a new key goes last in the creation order, a known one keeps its place.
   * `slot` is what `find(key)` gave, with nothing deleted, evicted or swept since (a freed slot
   * can be reused for another key); NO_SLOT when the key is new.
   */
  put(key: string, value: string, expiresAt: number | null, slot = this.find(key)): void {
    if (slot === NO_SLOT) {
      slot = this.newSlot();
      const h = this.hash(key);
      this.next[slot] = this.index.get(h) ?? NO_SLOT;
      this.index.set(h, slot);
      this.live++;
    } else this.releaseBlock(slot);
    this.store(slot, key, value);
    this.expiry[slot] = expiresAt ?? Number.NaN;
  }

  delete(key: string): boolean {
    const h = this.hash(key);
    let prev = NO_SLOT;
    let s = this.index.get(h) ?? NO_SLOT;
    while (s !== NO_SLOT && !this.holdsKey(s, key)) {
      prev = s;
      s = this.next[s];
    }
    if (s === NO_SLOT) return false;
    if (prev !== NO_SLOT) this.next[prev] = this.next[s];
    else if (this.next[s] !== NO_SLOT) this.index.set(h, this.next[s]);
    else this.index.delete(h);
    this.drop(s);
    return true;
  }

  /**
   * Drops up to `n` of the oldest-created keys that `keep` does not hold on to (all of them
   * without `keep`; a hash's chain keeps its kept keys). Returns how many were dropped.
   */
  evictOldest(n: number, keep?: (key: string) => boolean): number {
    let dropped = 0;
    for (const [h, first] of this.index) {
      let head = first;
      let prev = NO_SLOT;
      for (let s = first; s !== NO_SLOT; ) {
        const after = this.next[s];
        if (dropped < n && !keep?.(this.keyOf(s))) {
          if (prev === NO_SLOT) head = after;
          else this.next[prev] = after;
          this.drop(s);
          dropped++;
        } else prev = s;
        s = after;
      }
      if (head === NO_SLOT) this.index.delete(h);
      else if (head !== first) this.index.set(h, head);
      if (dropped >= n) break;
    }
    return dropped;
  }

  /** Drops every key expired at `now`. */
  sweep(now: number): void {
    for (const [h, first] of this.index) {
      let head = first;
      let prev = NO_SLOT;
      for (let s = first; s !== NO_SLOT; ) {
        const after = this.next[s];
        if (this.expiry[s] <= now) {
          if (prev === NO_SLOT) head = after;
          else this.next[prev] = after;
          this.drop(s);
        } else prev = s;
        s = after;
      }
      if (head === NO_SLOT) this.index.delete(h);
      else if (head !== first) this.index.set(h, head);
    }
  }

  /** Every live key, in creation order (slow: for inspection and tests). */
  *keys(): IterableIterator<string> {
    for (const first of this.index.values())
      for (let s = first; s !== NO_SLOT; s = this.next[s]) yield this.keyOf(s);
  }

  private keyOf(slot: number): string {
    if (this.cls[slot] === BIG) return (this.big.get(slot) as { key: string }).key;
    const arena = this.arenas[this.cls[slot]];
    const b = this.block[slot];
    const at = ((b & IN_CHUNK) * arena.size) / 2;
    return String.fromCharCode(...arena.units[b >> CHUNK_SHIFT].subarray(at, at + this.keyLen[slot]));
  }

  private holdsKey(slot: number, key: string): boolean {
    if (this.keyLen[slot] !== key.length) return false;
    if (this.cls[slot] === BIG) return (this.big.get(slot) as { key: string }).key === key;
    const arena = this.arenas[this.cls[slot]];
    const b = this.block[slot];
    const units = arena.units[b >> CHUNK_SHIFT];
    const at = ((b & IN_CHUNK) * arena.size) / 2;
    for (let i = 0; i < key.length; i++) if (units[at + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  /** Writes key and value into a block sized for them; the side Map when none will do. */
  private store(slot: number, key: string, value: string): void {
    this.keyLen[slot] = key.length;
    // Most values are ASCII: first the block that fits one byte a unit, then UTF-8's worst case (3).
    if (this.storeIn(slot, key, value, 1) || this.storeIn(slot, key, value, 3)) return;
    this.cls[slot] = BIG;
    this.big.set(slot, { key, value });
  }

  private storeIn(slot: number, key: string, value: string, bytesPerUnit: number): boolean {
    const keyBytes = 2 * key.length;
    const c = classFor(keyBytes + bytesPerUnit * value.length);
    if (c === NO_SLOT) return false;
    const arena = this.arenas[c];
    const before = arena.bytes;
    const b = arena.alloc(this.maxArenaBytes - this.arenaTotal);
    this.arenaTotal += arena.bytes - before;
    if (b === NO_SLOT) return false;
    const start = (b & IN_CHUNK) * arena.size;
    const { read, written } = encoder.encodeInto(
      value,
      arena.chunks[b >> CHUNK_SHIFT].subarray(start + keyBytes, start + arena.size),
    );
    if (read < value.length) {
      arena.release(b);
      return false;
    }
    const units = arena.units[b >> CHUNK_SHIFT];
    const at = start / 2;
    for (let i = 0; i < key.length; i++) units[at + i] = key.charCodeAt(i);
    this.cls[slot] = c;
    this.block[slot] = b;
    this.valueLen[slot] = written;
    return true;
  }

  private releaseBlock(slot: number): void {
    if (this.cls[slot] === BIG) this.big.delete(slot);
    else this.arenas[this.cls[slot]].release(this.block[slot]);
  }

  private drop(slot: number): void {
    this.releaseBlock(slot);
    this.freeSlots.push(slot);
    this.live--;
  }

  private newSlot(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    if (this.slots === this.next.length) this.growSlots(this.next.length * 2);
    return this.slots++;
  }

  private growSlots(n: number): void {
    const grow = <A extends Int8Array | Int32Array | Float64Array>(a: A, make: (n: number) => A): A => {
      const b = make(n);
      b.set(a as never);
      return b;
    };
    this.cls = grow(this.cls, (k) => new Int8Array(k));
    this.block = grow(this.block, (k) => new Int32Array(k));
    this.keyLen = grow(this.keyLen, (k) => new Int32Array(k));
    this.valueLen = grow(this.valueLen, (k) => new Int32Array(k));
    this.expiry = grow(this.expiry, (k) => new Float64Array(k));
    this.next = grow(this.next, (k) => new Int32Array(k));
  }
}
