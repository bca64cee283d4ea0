/**
 * The similar-alert index: an inverted index in the store, so a search reads a bounded amount
 * whatever the history holds. Each alert is a document (`sim:docs`, field = alert id) and a
 * member of one sorted set per feature — each label pair and each word — scored by when it was
 * indexed (`sim:p:<feature>`); `sim:all` holds them all. A search costs two store round trips
 * (three with embeddings): the newest postings of the query's features with their sizes (one
 * ztopMany), from which candidates are pre-scored by summed feature weight × idf; then the best
 * candidates' documents (one hmget), scored exactly; then, with embeddings, their vectors.
 */
import { maskText } from "../../mask.ts";
import type { Store, Write } from "../../store/store.ts";
import type { SimilarMatch } from "../schema.ts";
import {
  combinedScore,
  decodeVector,
  encodeVector,
  labelSimilarity,
  labelWeight,
  textSimilarity,
  vectorSimilarity,
} from "./features.ts";

export interface SimDoc {
  id: string;
  labels: Record<string, string>;
  /** Word counts of its name and annotations (alertTokens). */
  tokens: Record<string, number>;
  /** The analysis summary (or the alert's own summary). */
  summary: string;
  /** What resolved it, when known; "" otherwise. */
  resolution: string;
  status: "firing" | "resolved";
  /** When it was indexed (ms). */
  at: number;
}

export interface SimQuery {
  /** The alert being matched; it never matches itself. */
  id?: string;
  labels: Record<string, string>;
  tokens: Record<string, number>;
  vector?: ArrayLike<number>;
}

export interface IndexOptions {
  /** Most documents kept; the oldest are dropped past it. */
  maxAlerts: number;
  /** Documents older than this are dropped. */
  retentionMs: number;
  now: () => number;
}

const DOCS = "sim:docs";
const VECS = "sim:vecs";
const ALL = "sim:all";
/** Newest members read per feature posting. */
const POSTING_READ = 500;
/** Query words used to find candidates (its labels are all used). */
const QUERY_WORDS = 16;
/** Candidates scored exactly. */
const CANDIDATES = 200;
/** Best candidates re-scored with their embeddings. */
const RERANK = 50;
const WORD_WEIGHT = 0.4;

interface Feature {
  key: string;
  weight: number;
}

/** A posting key; long label values are hashed so keys stay short. */
function posting(kind: "l" | "t", text: string): string {
  return `sim:p:${kind}:${text.length > 120 ? `#${fnv1a(text)}` : text}`;
}

function features(
  labels: Record<string, string>,
  tokens: Record<string, number>,
  words = Infinity,
): Feature[] {
  const out: Feature[] = [];
  for (const [k, v] of Object.entries(labels))
    out.push({ key: posting("l", `${k}=${v}`), weight: labelWeight(k) });
  const top = Object.entries(tokens)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, words);
  for (const [w] of top) out.push({ key: posting("t", w), weight: WORD_WEIGHT });
  return out;
}

/** How often analyses prune the index for retention; past the size cap, the next one does. */
const PRUNE_EVERY_MS = 60_000;
/** Documents one round of a prune reads and drops at most (rounds go on while they find this many). */
const PRUNE_AT_ONCE = 1000;
/** Rounds of one prune at most: the rest waits for the next. */
const PRUNE_ROUNDS = 10;
/** Documents removed per step: ~20 writes each, so one script or request stays well under Upstash's size limit. */
const REMOVE_AT_ONCE = 100;

export class SimilarityIndex {
  private prunedAt = Number.NEGATIVE_INFINITY;
  /** The index's size as the last search read it (it reads it anyway, for idf). */
  private seenSize = 0;
  private pruning: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly opts: IndexOptions,
  ) {}

  /** A document and its vector (one round trip each, in parallel). */
  async get(id: string): Promise<{ doc: SimDoc; vector?: Float32Array } | null> {
    const [[doc], [vec]] = await Promise.all([
      this.store.hmget<SimDoc>(DOCS, [id]),
      this.store.hmget<string>(VECS, [id]),
    ]);
    if (!doc) return null;
    return { doc, vector: vec ? decodeVector(vec) : undefined };
  }

  /** Adds or replaces a document; features it no longer has are taken out of their postings. */
  async add(doc: SimDoc, vector?: number[]): Promise<void> {
    const [old] = await this.store.hmget<SimDoc>(DOCS, [doc.id]);
    await this.store.writeMany(this.addWrites(doc, vector, old));
    await this.prune();
  }

  /**
   * What adding `doc` writes, given the document it replaces (`old`, as `searchWith` read it):
   * to make with other writes, in one step (an analysis job's answer).
   */
  addWrites(doc: SimDoc, vector: number[] | undefined, old: SimDoc | null): Write[] {
    const keys = features(doc.labels, doc.tokens).map((f) => f.key);
    const now = new Set(keys);
    const stale = old
      ? features(old.labels, old.tokens)
          .map((f) => f.key)
          .filter((k) => !now.has(k))
      : [];
    return [
      ...stale.map((key): Write => ({ op: "zrem", key, member: doc.id })),
      { op: "hset", key: DOCS, field: doc.id, value: doc },
      ...(vector ? [{ op: "hset", key: VECS, field: doc.id, value: encodeVector(vector) } as Write] : []),
      ...[ALL, ...keys].map((key): Write => ({ op: "zadd", key, member: doc.id, score: doc.at })),
    ];
  }

  /**
   * Prunes (see prune) once a minute per index, or sooner when the last search found the index
   * over its cap (an alert storm adds more in a minute than the cap allows); one prune at a time.
   */
  async pruneIfDue(): Promise<void> {
    const now = this.opts.now();
    const over = this.seenSize > this.opts.maxAlerts;
    // A prune left unsettled for minutes was dropped (Workers cancel work past waitUntil's limit):
    // it no longer holds the next one back.
    const running = this.pruning && now - this.prunedAt < 5 * PRUNE_EVERY_MS;
    if (running || (!over && now - this.prunedAt < PRUNE_EVERY_MS)) return;
    this.prunedAt = now;
    this.seenSize = 0;
    const pruning = (async () => {
      for (let round = 0; round < PRUNE_ROUNDS && (await this.prune()); round++);
    })().finally(() => {
      // A prune given up on that settles late must not free the slot of the one after it.
      if (this.pruning === pruning) this.pruning = undefined;
    });
    this.pruning = pruning;
    await pruning;
  }

  /** The `k` best matches scoring at least `minScore`, best first. */
  async search(q: SimQuery, opts: { k: number; minScore: number }): Promise<SimilarMatch[]> {
    return (await this.searchWith(q, opts)).matches;
  }

  /** `search`, and the document indexed under the query's own id (read in the same round trip). */
  async searchWith(
    q: SimQuery,
    opts: { k: number; minScore: number },
  ): Promise<{ matches: SimilarMatch[]; own: SimDoc | null }> {
    const feats = features(q.labels, q.tokens, QUERY_WORDS);
    // `sim:all` only for its size (the corpus size N in idf); each feature's newest postings.
    const postings = await this.store.ztopMany(
      [ALL, ...feats.map((f) => f.key)],
      [0, ...feats.map(() => POSTING_READ)],
    );
    const total = Math.max(1, postings[0].size);
    this.seenSize = postings[0].size;
    const pre = new Map<string, number>();
    for (const [i, f] of feats.entries()) {
      const { size, members } = postings[i + 1];
      if (size === 0) continue;
      const w = f.weight * Math.log(1 + total / size);
      for (const m of members) if (m !== q.id) pre.set(m, (pre.get(m) ?? 0) + w);
    }
    const ids = [...pre]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, CANDIDATES)
      .map(([id]) => id);
    const docs = await this.store.hmget<SimDoc>(DOCS, q.id ? [q.id, ...ids] : ids);
    const own = q.id ? (docs.shift() ?? null) : null;
    if (ids.length === 0) return { matches: [], own };
    const hasText = Object.keys(q.tokens).length > 0;
    let scored = docs
      .filter((d): d is SimDoc => !!d)
      .map((d) => {
        const label = labelSimilarity(q.labels, d.labels);
        const text =
          hasText && Object.keys(d.tokens).length > 0 ? textSimilarity(q.tokens, d.tokens) : undefined;
        return { d, label, text, score: combinedScore(label, text, undefined) };
      })
      .sort(byScore);
    if (q.vector && scored.length) {
      const head = scored.slice(0, RERANK);
      const vecs = await this.store.hmget<string>(
        VECS,
        head.map((s) => s.d.id),
      );
      for (const [i, s] of head.entries()) {
        const v = vecs[i];
        if (v) s.score = combinedScore(s.label, s.text, vectorSimilarity(q.vector, decodeVector(v)));
      }
      scored = [...head.sort(byScore), ...scored.slice(RERANK)];
    }
    const matches = scored
      .filter((s) => s.score >= opts.minScore)
      .slice(0, opts.k)
      .map((s) => ({
        alert_id: s.d.id,
        score: Math.round(s.score * 1000) / 1000,
        // Read into other alerts' analyses, maybe another team's: no credential goes along.
        summary: maskText(s.d.summary),
        resolution: maskText(s.d.resolution),
      }));
    return { matches, own };
  }

  /**
   * Drops documents past the size cap (oldest first) and past retention, up to PRUNE_AT_ONCE of
   * each: a few round trips whatever the number dropped (the size and the aged read together, the
   * victims' documents in one read, their removal in one step per REMOVE_AT_ONCE). True when it
   * may have left some (a full read).
   */
  private async prune(): Promise<boolean> {
    const cutoff = this.opts.now() - this.opts.retentionMs;
    const [size, aged] = await Promise.all([
      this.store.zcard(ALL),
      this.store.zrange(ALL, { limit: PRUNE_AT_ONCE, maxScore: cutoff }),
    ]);
    const over = size - this.opts.maxAlerts;
    const oldest = over > 0 ? await this.store.zrange(ALL, { limit: Math.min(over, PRUNE_AT_ONCE) }) : [];
    const victims = new Set([...oldest, ...aged].map((e) => e.member));
    if (victims.size) await this.remove([...victims]);
    return aged.length === PRUNE_AT_ONCE || over > PRUNE_AT_ONCE;
  }

  /** Takes documents out: each from every posting it is in and both hashes, in one step. */
  async remove(ids: string[]): Promise<void> {
    const docs = await this.store.hmget<SimDoc>(DOCS, ids);
    for (let from = 0; from < ids.length; from += REMOVE_AT_ONCE) {
      const writes = ids.slice(from, from + REMOVE_AT_ONCE).flatMap((id, k): Write[] => {
        const d = docs[from + k];
        const keys = d ? features(d.labels, d.tokens).map((f) => f.key) : [];
        return [
          ...[ALL, ...keys].map((key): Write => ({ op: "zrem", key, member: id })),
          { op: "hdel", key: DOCS, field: id },
          { op: "hdel", key: VECS, field: id },
        ];
      });
      await this.store.writeMany(writes);
    }
  }
}

function byScore(a: { score: number; d: SimDoc }, b: { score: number; d: SimDoc }): number {
  return b.score - a.score || b.d.at - a.d.at || (a.d.id < b.d.id ? -1 : 1);
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}
