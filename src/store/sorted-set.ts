/**
 * A sorted set for the memory store, with Redis's order: ascending score, ties by member.
 * Two parallel arrays kept in order plus a member → score map. Adding in increasing score
 * order (timestamps, the common case) appends; anything else is a binary search and a splice.
 */
import type { ZEntry } from "./store.ts";

function cmp(s1: number, m1: string, s2: number, m2: string): number {
  if (s1 !== s2) return s1 < s2 ? -1 : 1;
  return m1 < m2 ? -1 : m1 > m2 ? 1 : 0;
}

export class SortedSet {
  private readonly scores = new Map<string, number>();
  private members: string[] = [];
  private values: number[] = [];

  get size(): number {
    return this.members.length;
  }

  /** First index whose (score, member) is not below the given pair. */
  private lowerBound(score: number, member: string): number {
    let lo = 0;
    let hi = this.members.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(this.values[mid], this.members[mid], score, member) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds or re-scores `member`; true when it is new. */
  add(member: string, score: number): boolean {
    const old = this.scores.get(member);
    if (old === score) return false;
    if (old !== undefined) this.removeAt(this.lowerBound(old, member));
    this.scores.set(member, score);
    const n = this.members.length;
    if (n === 0 || cmp(this.values[n - 1], this.members[n - 1], score, member) < 0) {
      this.members.push(member);
      this.values.push(score);
    } else {
      const i = this.lowerBound(score, member);
      this.members.splice(i, 0, member);
      this.values.splice(i, 0, score);
    }
    return old === undefined;
  }

  remove(member: string): boolean {
    const score = this.scores.get(member);
    if (score === undefined) return false;
    this.scores.delete(member);
    this.removeAt(this.lowerBound(score, member));
    return true;
  }

  private removeAt(i: number): void {
    this.members.splice(i, 1);
    this.values.splice(i, 1);
  }

  /** Lowest first (highest first with `rev`), at most `limit`, only scores ≤ `maxScore` when given. */
  range(limit: number, rev = false, maxScore?: number): ZEntry[] {
    const out: ZEntry[] = [];
    const n = this.members.length;
    if (!rev) {
      for (let i = 0; i < n && out.length < limit; i++) {
        if (maxScore !== undefined && this.values[i] > maxScore) break;
        out.push({ member: this.members[i], score: this.values[i] });
      }
      return out;
    }
    let i = n - 1;
    if (maxScore !== undefined) {
      // Start below the first member scoring more than maxScore.
      i = this.lowerBound(maxScore, "\u{10FFFF}\u{10FFFF}") - 1;
      while (i + 1 < n && this.values[i + 1] <= maxScore) i++;
    }
    for (; i >= 0 && out.length < limit; i--) out.push({ member: this.members[i], score: this.values[i] });
    return out;
  }

  /** The `limit` highest-scored members, highest first. */
  top(limit: number): string[] {
    const n = this.members.length;
    const end = Math.max(0, n - limit);
    const out: string[] = [];
    for (let i = n - 1; i >= end; i--) out.push(this.members[i]);
    return out;
  }
}
