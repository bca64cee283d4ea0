/**
 * Reads a worker.yaml: YAML → `${VAR}` / `${VAR:-default}` substitution in every string
 * value → the zod schema → a typed Config. Every problem is reported with its path.
 * Pure: the caller passes the text and the environment.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, parseDocument, parse as parseYaml } from "yaml";
import { ConfigError, formatPath, zodIssues } from "../errors.ts";
import { maskCredentials } from "../mask.ts";
import { DEFAULT_CONFIG_YAML } from "./default.ts";
import { legacyKeys } from "./legacy.ts";
import { type Config, configSchema } from "./schema.ts";

export type Env = Record<string, string | undefined>;

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Substitutes ${VAR} and ${VAR:-default} in every string of a parsed YAML tree. `exact` gets the
 * text of each whole-value reference read as a number that does not keep every character (00123,
 * 0.70, 23 digits): a string field gets that text back once the schema has typed the tree.
 */
export function interpolate(
  value: unknown,
  env: Env,
  path: PropertyKey[] = [],
  issues: { path: string; message: string }[] = [],
  used: Set<string> = new Set(),
  exact: [PropertyKey[], string][] = [],
): unknown {
  if (typeof value === "string") {
    // A value that is one reference as a whole takes the type its text has, as if written in
    // the YAML: `port: ${PORT:-8081}` is a number, `all: ${AT_ALL:-false}` a boolean.
    const whole = /^\$\{[^}]+\}$/.test(value);
    const text = value.replace(VAR, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== "") {
        used.add(v);
        return v;
      }
      if (fallback !== undefined) return fallback;
      issues.push({
        path: formatPath(path),
        message: `environment variable ${name} is not set (use \${${name}:-default} for a default)`,
      });
      return "";
    });
    if (!whole || !/^(-?\d+(\.\d+)?|true|false)$/.test(text)) return text;
    const typed = parseYaml(text) as number | boolean;
    if (String(typed) !== text) exact.push([path, text]);
    return typed;
  }
  if (Array.isArray(value))
    return value.map((v, i) => interpolate(v, env, [...path, i], issues, used, exact));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(v, env, [...path, k], issues, used, exact)]),
    );
  }
  return value;
}

/** Puts back the exact text of a `${VAR}` a string field got as a lossy number (interpolate's `exact`). */
function keepExactText(config: unknown, exact: [PropertyKey[], string][]): void {
  for (const [path, text] of exact) {
    const parent = path
      .slice(0, -1)
      .reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown>)?.[k], config);
    const key = path[path.length - 1];
    if (parent && typeof (parent as Record<PropertyKey, unknown>)[key] === "string")
      (parent as Record<PropertyKey, unknown>)[key] = text;
  }
}

/**
 * Every plain number the document writes, with its text: a text field given one unquoted (a
 * secret of 23 digits, a header `00123`) gets the text back, not YAML's number
 * (1.2345678901234568e+22, 123) — as a `${VAR}` does (keepExactText).
 */
function literalNumbers(
  doc: Document,
  node: unknown,
  path: PropertyKey[],
  out: [PropertyKey[], string][],
  within = new Set<unknown>(),
): void {
  // An alias (`*n`) is the anchored node's value where it is used (a secret written once, used
  // twice); one inside its own anchor (a recursive document) is not followed again.
  const at = isAlias(node) ? node.resolve(doc) : node;
  if (isAlias(node) && within.has(at)) return;
  within.add(at);
  if (isMap(at))
    for (const item of at.items)
      literalNumbers(
        doc,
        item.value,
        [...path, isScalar(item.key) ? (item.key.value as PropertyKey) : String(item.key)],
        out,
        within,
      );
  else if (isSeq(at))
    for (const [i, item] of at.items.entries()) literalNumbers(doc, item, [...path, i], out, within);
  else if (isScalar(at) && typeof at.value === "number" && at.source !== undefined)
    out.push([path, at.source]);
  within.delete(at);
}

/** The path of the first value that holds itself (`a: &x {b: *x}`), which no walk over the tree could finish. */
function selfHolding(
  value: unknown,
  path: PropertyKey[] = [],
  within = new Set<unknown>(),
): PropertyKey[] | null {
  if (!value || typeof value !== "object") return null;
  if (within.has(value)) return path;
  within.add(value);
  for (const [k, v] of Object.entries(value)) {
    const found = selfHolding(v, [...path, Array.isArray(value) ? Number(k) : k], within);
    if (found) return found;
  }
  within.delete(value);
  return null;
}

/** Parses and validates a config document; throws ConfigError naming every bad path. */
export function loadConfig(text: string, env: Env = {}, source = "config"): Config {
  let raw: unknown;
  const exact: [PropertyKey[], string][] = [];
  try {
    const doc = parseDocument(text, { prettyErrors: true });
    if (doc.errors.length) throw doc.errors[0];
    raw = doc.toJS() ?? {};
    literalNumbers(doc, doc.contents, [], exact);
  } catch (e) {
    // The first line only, without the colon that led to the quoted lines (which may hold a secret).
    throw new ConfigError(
      `${source}: not valid YAML: ${(e as Error).message.split("\n")[0].replace(/:\s*$/, "")}`,
    );
  }
  if (typeof raw !== "object" || Array.isArray(raw))
    throw new ConfigError(`${source}: the document must be a mapping of top-level keys`);
  const loop = selfHolding(raw);
  if (loop)
    throw new ConfigError(
      `${source}: ${formatPath(loop)} is an alias of a mapping or list that holds it (a recursive YAML document)`,
    );
  const moved = legacyKeys(raw as Record<string, unknown>);
  if (moved.length) throw new ConfigError(describe(source, moved), moved);
  const issues: { path: string; message: string }[] = [];
  const used = new Set<string>();
  const substituted = interpolate(raw, env, [], issues, used, exact);
  const parsed = configSchema.safeParse(substituted);
  if (!parsed.success || issues.length) {
    // A problem may quote the value it found: one from ${VAR} is often a secret (a token put in
    // the wrong key), and config errors reach logs, check-config and a Worker's every answer.
    const secrets = [...used].filter((v) => v.length >= 6).sort((a, b) => b.length - a.length);
    // Every problem at once; an unset variable's path only once (its empty value is no news).
    const unset = new Set(issues.map((i) => i.path));
    const list = [
      ...issues,
      ...(parsed.success ? [] : zodIssues(parsed.error))
        .filter((i) => !unset.has(i.path))
        .map((i) => ({ ...i, message: maskCredentials(i.message, secrets) })),
    ];
    throw new ConfigError(describe(source, list), list);
  }
  keepExactText(parsed.data, exact);
  return parsed.data;
}

export function defaultConfig(env: Env = {}): Config {
  return loadConfig(DEFAULT_CONFIG_YAML, env, "embedded default");
}

function describe(source: string, issues: { path: string; message: string }[]): string {
  return `${source}: ${issues.length} problem${issues.length > 1 ? "s" : ""}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`;
}
