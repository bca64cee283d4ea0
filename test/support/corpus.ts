/**
 * The public rule corpus (test/fixtures/corpus/, sources and licences in its README) as
 * AlertAgent rules: each Prometheus rule becomes one rule of the model, field for field, so a
 * rendering can be compared with its source.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { FIXTURES_DIR } from "./fixtures.ts";
import type { RawRule } from "./sync-rules.ts";

export interface SourceRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface SourceGroup {
  name: string;
  interval?: string;
  limit?: number;
  rules: SourceRule[];
}

const DIR = join(FIXTURES_DIR, "corpus");

/**
 * Every group of every corpus file that has rules, with the file it came from. (A group with
 * `rules:` empty has nothing to sync: the model keeps rules, and groups come from them.)
 */
export function corpusGroups(): (SourceGroup & { file: string })[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith(".rules.yml"))
    .sort()
    .flatMap((file) =>
      ((parse(readFileSync(join(DIR, file), "utf8")) as { groups: SourceGroup[] }).groups ?? [])
        .filter((g) => g.rules?.length)
        .map((g) => ({ ...g, file })),
    );
}

/** The corpus as AlertAgent rules: ids `<file>/<group>/<index>`, severity taken from the labels. */
export function corpusRules(): RawRule[] {
  return corpusGroups().flatMap((g) =>
    g.rules.map((r, i) => {
      const id = `${g.file.replace(/\.rules\.yml$/, "")}/${g.name}/${i}`;
      const group_options =
        g.interval !== undefined || g.limit !== undefined
          ? {
              ...(g.interval ? { interval: g.interval } : {}),
              ...(g.limit !== undefined ? { limit: g.limit } : {}),
            }
          : undefined;
      if (r.record !== undefined)
        return {
          id,
          record: r.record,
          group: g.name,
          expr: r.expr,
          ...(r.labels ? { labels: r.labels } : {}),
          ...(group_options ? { group_options } : {}),
        };
      const { severity, ...labels } = r.labels ?? {};
      return {
        id,
        name: r.alert,
        group: g.name,
        severity,
        expr: r.expr,
        ...(r.for !== undefined ? { for: r.for } : {}),
        ...(r.keep_firing_for !== undefined ? { keep_firing_for: r.keep_firing_for } : {}),
        labels,
        annotations: r.annotations ?? {},
        ...(group_options ? { group_options } : {}),
      };
    }),
  );
}
