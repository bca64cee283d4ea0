/**
 * What the similarity index sees in an alert: its labels (each weighted by how much it says
 * about *what* is wrong rather than *where*) and the words of its name and annotations (Latin
 * words; Chinese as character bigrams). And the built-in similarity between two alerts:
 * weighted label overlap plus the cosine of their word vectors.
 */

import type { Alert } from "../../alerts/alert.ts";
import { base64Of } from "../../base64.ts";
import { splitWords } from "../catalogue/index.ts";

/**
 * Label importance. What is wrong (alertname) weighs most; the service it concerns next; the
 * exact host or pod least, so the same incident on another host still scores high.
 */
const LABEL_WEIGHTS: Record<string, number> = {
  alertname: 5,
  job: 2,
  service: 2,
  namespace: 2,
  app: 2,
  "app.kubernetes.io/name": 2,
  component: 2,
  container: 2,
  deployment: 2,
  statefulset: 2,
  daemonset: 2,
  queue: 2,
  topic: 2,
  consumergroup: 2,
  database: 2,
  db: 2,
  mountpoint: 1.5,
  cluster: 1.5,
  env: 1.5,
  environment: 1.5,
  severity: 1,
  instance: 0.5,
  pod: 0.5,
  host: 0.5,
  hostname: 0.5,
  node: 0.5,
  nodename: 0.5,
  ip: 0.5,
  pod_ip: 0.25,
  uid: 0.25,
};

export function labelWeight(key: string): number {
  return LABEL_WEIGHTS[key] ?? 1;
}

const STOP = new Set(
  "a an and are as at be been by for from has have in is it its of on or that the this to was were will with than above below over under not no has into per via when which current value total".split(
    " ",
  ),
);
/** Words kept per alert, most frequent first. */
export const MAX_TOKENS = 24;
const CJK = /[\u3400-\u9fff\uf900-\ufaff]+/g;

/** Words of a text with their counts: lower-case Latin words (no numbers or hex ids), CJK bigrams. */
export function tokenize(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const add = (t: string) => out.set(t, (out.get(t) ?? 0) + 1);
  for (const run of text.match(CJK) ?? []) {
    if (run.length === 1) add(run);
    for (let i = 0; i + 1 < run.length; i++) add(run.slice(i, i + 2));
  }
  for (const w of text
    .replace(CJK, " ")
    .toLowerCase()
    .split(/[^a-z0-9_]+/)) {
    if (w.length < 2 || w.length > 40 || STOP.has(w)) continue;
    if (/^\d/.test(w) || /^[0-9a-f]{6,}$/.test(w)) continue;
    add(w);
  }
  return out;
}

/** The words an alert is indexed by: its name (split into words) and its annotations. */
export function alertTokens(alert: Alert): Record<string, number> {
  const name = alert.labels.alertname ?? "";
  const a = alert.annotations;
  const counts = tokenize(`${splitWords(name)} ${a.summary ?? ""} ${a.description ?? ""} ${a.message ?? ""}`);
  const top = [...counts].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, MAX_TOKENS);
  return Object.fromEntries(top);
}

/** Weighted share of labels (over both alerts' keys) whose values agree. */
export function labelSimilarity(a: Record<string, string>, b: Record<string, string>): number {
  let same = 0;
  let total = 0;
  for (const k in a) {
    const w = labelWeight(k);
    total += w;
    if (b[k] === a[k]) same += w;
  }
  for (const k in b) if (!(k in a)) total += labelWeight(k);
  return total === 0 ? 0 : same / total;
}

/** Cosine of two word-count vectors with sublinear counts (1 + ln n). */
export function textSimilarity(a: Record<string, number>, b: Record<string, number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (const k in a) {
    const x = 1 + Math.log(a[k]);
    na += x * x;
    if (k in b) dot += x * (1 + Math.log(b[k]));
  }
  for (const k in b) {
    const y = 1 + Math.log(b[k]);
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Cosine of two embedding vectors, clamped to 0..1. */
export function vectorSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : Math.max(0, Math.min(1, dot / Math.sqrt(na * nb)));
}

/** The combined score: labels and words, and the embedding when both alerts have one. */
export function combinedScore(label: number, text: number | undefined, vector: number | undefined): number {
  if (vector !== undefined)
    return text === undefined ? 0.55 * label + 0.45 * vector : 0.45 * label + 0.2 * text + 0.35 * vector;
  return text === undefined ? label : 0.6 * label + 0.4 * text;
}

/** Float32 vectors as base64 (a quarter of the JSON size), runtime-neutral. */
export function encodeVector(v: number[]): string {
  return base64Of(new Uint8Array(new Float32Array(v).buffer));
}

export function decodeVector(b64: string): Float32Array {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}
