/**
 * The built-in catalogue, all families together, and how an alert finds its entry: by name
 * (case-insensitive), else by the longest keyword match in its name, then its expression, then
 * its annotations — so "磁盘空间不足" with a node_filesystem expression still gets the disk entry.
 */
import type { Alert } from "../../alerts/alert.ts";
import { exprOf } from "../facts.ts";
import { BLACKBOX } from "./blackbox.ts";
import { CERTIFICATES } from "./certificates.ts";
import { DATABASES } from "./databases.ts";
import { KUBERNETES } from "./kubernetes.ts";
import { NODE } from "./node.ts";
import { ALERTMANAGER, PROMETHEUS } from "./prometheus.ts";
import { QUEUES } from "./queues.ts";
import type { Entry } from "./types.ts";

export const CATALOGUE: readonly Entry[] = [
  ...NODE,
  ...KUBERNETES,
  ...BLACKBOX,
  ...DATABASES,
  ...QUEUES,
  ...CERTIFICATES,
  ...PROMETHEUS,
  ...ALERTMANAGER,
];

const BY_NAME = new Map<string, Entry>();
for (const e of CATALOGUE) for (const n of e.names) BY_NAME.set(n.toLowerCase(), e);

/** Every alert name the catalogue knows. */
export const CATALOGUE_NAMES: readonly string[] = CATALOGUE.flatMap((e) => e.names);

export interface Found {
  entry: Entry;
  /** How it was found: its exact name, or a keyword in its name, expression or annotations. */
  by: "name" | "keyword";
}

/**
 * How much of each text the keywords read: several are `a.*b` and backtrack over the whole of
 * it (quadratic: a 200 KB description held the event loop for 30 s); a keyword worth matching
 * comes early.
 */
export const MATCHED_CHARS = 1000;

export function findEntry(alert: Alert): Found | undefined {
  const found = lookUp(alert);
  const instead = found?.entry.lacking;
  if (!found || !instead || alert.labels[instead.label] || !alert.labels[instead.having]) return found;
  const { label: _, having: __, ...rest } = instead;
  return { ...found, entry: { ...found.entry, ...rest } };
}

function lookUp(alert: Alert): Found | undefined {
  const name = alert.labels.alertname ?? "";
  const exact = BY_NAME.get(name.toLowerCase());
  if (exact) return { entry: exact, by: "name" };
  const texts = [
    `${name} ${splitWords(name)}`,
    exprOf(alert) ?? "",
    `${alert.annotations.summary ?? ""} ${alert.annotations.description ?? ""}`,
  ].map((t) => t.slice(0, MATCHED_CHARS));
  for (const text of texts) {
    if (!text.trim()) continue;
    let best: Entry | undefined;
    let bestLen = 0;
    for (const e of CATALOGUE) {
      const m = e.keywords?.exec(text);
      if (m && m[0].length > bestLen) {
        best = e;
        bestLen = m[0].length;
      }
    }
    if (best) return { entry: best, by: "keyword" };
  }
  return undefined;
}

/** "KubePodCrashLooping" → "Kube Pod Crash Looping"; "HTTPErrors" → "HTTP Errors". */
export function splitWords(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .replace(/[_\-.]+/g, " ");
}
