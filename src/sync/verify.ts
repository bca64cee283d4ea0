/**
 * Verification after a delivery: read the target back and check it took exactly what was
 * sent. Prometheus and vmalert (`GET /api/v1/rules`) must list our groups — no more, no
 * fewer — with our rules (names, expressions, `for`, labels, annotations); Alertmanager
 * (`GET /api/v2/status`) must show our config hash in `config.original`. vmalert reloads in
 * the background and applies an update to an existing group at its next evaluation, so the
 * read-back is retried until `verify.timeout` — for vmalert at least the longest group interval
 * it lists, plus a margin. A target that does not show what was sent did not apply it: that is
 * a failed sync, never a success.
 */

import { JobError, permanent, transient } from "../errors.ts";
import { normalPath } from "../normal-path.ts";
import type { Fetch } from "../ports.ts";
import { type Answer, send, sleep, snippet } from "./net.ts";
import type { GroupSummary, RuleSummary } from "./prometheus.ts";
import { promqlFingerprint } from "./promql.ts";
import { hashReceiver } from "./render.ts";

export interface Verification {
  verified: boolean;
  how: string;
}

export interface RulesCheck {
  kind: "prometheus" | "vmalert";
  /** Base URL of the peer's HTTP API. */
  base: string;
  expected: GroupSummary[];
  /**
   * With a file delivery: the groups the peer loaded from this path are ours — or, when it lists
   * none from it (it sees the file elsewhere: a container's mount), from a file of the same name
   * that is not at another file target's path.
   */
  file?: { path: string; others: readonly string[] };
  /** Without one: groups of these names are ours (what we render now and what we had before). */
  managed: ReadonlySet<string>;
  timeoutMs: number;
  /**
   * The worker reloaded the target itself and it answered 200: a Prometheus has loaded the file
   * then, so its expressions are not compared (a fingerprint that misread a printed form would
   * fail every sync; see canonRule).
   */
  reloaded?: boolean;
}

interface ApiGroup {
  name: string;
  file?: string;
  /** Seconds between evaluations (vmalert: an update to an existing group applies at the next one). */
  interval?: number;
  rules?: {
    name: string;
    query?: string;
    type?: string;
    duration?: number;
    labels?: Record<string, string> | null;
    annotations?: Record<string, string> | null;
  }[];
}

/**
 * How a read-back compares expressions. vmalert lists one as it was written; Prometheus its own
 * printing of the parsed query, compared by what survives that printing (promqlFingerprint) —
 * where it reloads a file by itself, a changed threshold shows only once loaded — unless the
 * worker's own reload answered 200.
 */
function exprKeyOf(check: RulesCheck): (expr: string) => string {
  if (check.kind === "vmalert") return (e) => e.trim();
  if (check.reloaded) return () => "";
  return (e) => promqlFingerprint(e) ?? e.trim();
}

const canonRule = (r: RuleSummary, exprKey: (expr: string) => string) =>
  JSON.stringify([
    r.name,
    exprKey(r.expr),
    r.for_s,
    Object.entries(r.labels).sort(),
    Object.entries(r.annotations).sort(),
  ]);

function canon(groups: GroupSummary[], exprKey: (expr: string) => string): Map<string, string[]> {
  return new Map(groups.map((g) => [g.name, g.rules.map((r) => canonRule(r, exprKey)).sort()]));
}

const describe = (m: Map<string, string[]>) =>
  m.size
    ? [...m]
        .sort()
        .map(([n, r]) => `${n} (${r.length} rule${r.length === 1 ? "" : "s"})`)
        .join(", ")
    : "no groups";

/** What differs between the groups read back and the groups expected, or undefined. */
function mismatch(actual: Map<string, string[]>, expected: Map<string, string[]>): string | undefined {
  const problems: string[] = [];
  for (const [name, rules] of expected) {
    const got = actual.get(name);
    if (!got) problems.push(`group "${name}" is missing`);
    else if (got.length !== rules.length)
      problems.push(`group "${name}" has ${got.length} rules, expected ${rules.length}`);
    else if (got.join("\n") !== rules.join("\n")) {
      // Which rules: the operator looks for them in the set (canonRule's first field is the name).
      const names = rules.filter((r) => !got.includes(r)).map((r) => (JSON.parse(r) as string[])[0]);
      problems.push(
        `group "${name}" has other rule names, expressions, durations, labels or annotations (not as sent: ${[...new Set(names)].join(", ")})`,
      );
    }
  }
  for (const name of actual.keys()) if (!expected.has(name)) problems.push(`group "${name}" should be gone`);
  return problems.length ? problems.join("; ") : undefined;
}

function ourGroups(body: string, check: RulesCheck): ApiGroup[] {
  const data = JSON.parse(body) as { data?: { groups?: ApiGroup[] | null } };
  const groups = data.data?.groups ?? [];
  if (!check.file) return groups.filter((g) => check.managed.has(g.name));
  const { path, others } = check.file;
  const name = baseName(path);
  // Another file target's file (its path, when the peer's spelling ends two), however the peer spells it: never ours.
  const theirs = (file: string | undefined, suffix = "") => others.find((o) => samePath(file, o + suffix));
  // The previous version kept beside ours (file.ts) loaded too: every rule runs twice and a
  // deleted one keeps firing. Waiting will not change the peer's rule_files.
  const prev = groups.find(
    (g) =>
      samePath(g.file, `${path}.prev`) || (baseName(g.file) === `${name}.prev` && !theirs(g.file, ".prev")),
  );
  if (prev)
    throw permanent(
      "previous_file_loaded",
      `${check.kind} also loads ${prev.file} (its rule_files matches the previous version kept beside ${name}): every rule runs twice and deleted ones keep firing; make it match *.yml (or ${name} itself)`,
    );
  const exact = groups.filter((g) => samePath(g.file, path));
  // Listed relative to the peer's directory, a path may end both ours and another target's: the
  // peer loads one of the two, and nothing here says which.
  const both = exact.find((g) => theirs(g.file));
  if (both)
    throw permanent(
      "read_back_ambiguous",
      `${check.kind} lists ${both.file}, which ends both ${path} and ${theirs(both.file)} (another file target read back from it): it loads one of them only; give the two files distinct names`,
    );
  if (exact.length) return exact;
  return groups.filter((g) => baseName(g.file) === name && !theirs(g.file));
}

const baseName = (file: string | undefined) => (file ?? "").split("/").pop();

/**
 * Whether the peer's `file` is the worker's `path`: the same path, or — the peer listing it
 * relative to its own directory (a Prometheus started with `--config.file=prometheus.yml`,
 * vmalert given `-rule=rules/*.yml`) — its last segments.
 */
function samePath(file: string | undefined, path: string): boolean {
  if (!file) return false;
  const f = normalPath(file);
  const p = normalPath(path);
  return f === p || (!f.startsWith("/") && !f.startsWith("..") && p.endsWith(`/${f}`));
}

function actualGroups(ours: ApiGroup[], exprKey: (expr: string) => string): Map<string, string[]> {
  return canon(
    ours.map((g) => ({
      name: g.name,
      rules: (g.rules ?? []).map((r) => ({
        name: r.name,
        expr: r.query ?? "",
        for_s: r.duration ?? 0,
        labels: r.labels ?? {},
        annotations: r.annotations ?? {},
      })),
    })),
    exprKey,
  );
}

/**
 * Why a read-back answered no rules: said for the poll to try again, but a refusal of our
 * credentials will not change by waiting, so that ends the sync as a 489 the operator must fix.
 */
function notRead(url: string, res: Answer): string {
  const why = `GET ${url} answered ${res.status}: ${snippet(res.shown)}`;
  if (res.status === 401 || res.status === 403)
    throw permanent(
      "read_back_refused",
      `${why} (the read-back uses verify.url, or reload_url's user-info: give it credentials the target accepts)`,
    );
  return why;
}

/**
 * Polls `read` until it returns undefined (= as expected) or the deadline passes; `timeoutMs`
 * is asked again after every read, so what a read learns (a group's interval) can extend it.
 * The waits double up to 5 s: a wait for vmalert's next evaluation (a minute by default) is a
 * dozen reads, not sixty — each one a subrequest on Workers (docs/config-sync.md, "Workers").
 */
const MAX_POLL_MS = 5_000;

export async function until(
  now: () => number,
  timeoutMs: () => number,
  read: () => Promise<string | undefined>,
): Promise<string | undefined> {
  const start = now();
  for (let wait = 100; ; wait = Math.min(wait * 2, MAX_POLL_MS)) {
    const problem = await read();
    const deadline = start + timeoutMs();
    if (!problem || now() >= deadline) return problem;
    await sleep(Math.min(wait, Math.max(0, deadline - now())));
  }
}

/** After a group's interval, vmalert has run the evaluation that applies an update; a little more for the reload. */
const INTERVAL_MARGIN_MS = 5_000;
/**
 * The longest a job waits for that: past it the sync answers 503 not_applied (the file stays)
 * and QStash's retry reads back again, rather than hold a request for a group's hour-long interval.
 */
const MAX_INTERVAL_WAIT_MS = 5 * 60_000;

export async function verifyRules(fetch: Fetch, now: () => number, check: RulesCheck): Promise<Verification> {
  const url = `${check.base.replace(/\/+$/, "")}/api/v1/rules`;
  const exprKey = exprKeyOf(check);
  const expected = canon(check.expected, exprKey);
  let seen = new Map<string, string[]>();
  // vmalert applies an update to an existing group at that group's next evaluation (default
  // every minute): wait up to the longest interval it lists, plus a margin (docs/config-sync.md).
  let waitMs = check.timeoutMs;
  const problem = await until(
    now,
    () => waitMs,
    async () => {
      const res = await send(fetch, `reading back ${check.kind}`, url);
      if (!res.ok) return notRead(url, res);
      let ours: ApiGroup[];
      try {
        ours = ourGroups(res.text, check);
      } catch (e) {
        if (e instanceof JobError) throw e;
        return `GET ${url} did not answer the rules API's JSON: ${snippet(res.shown)}`;
      }
      if (check.kind === "vmalert")
        for (const g of ours)
          if (typeof g.interval === "number")
            waitMs = Math.max(waitMs, Math.min(MAX_INTERVAL_WAIT_MS, g.interval * 1000 + INTERVAL_MARGIN_MS));
      seen = actualGroups(ours, exprKey);
      return mismatch(seen, expected);
    },
  );
  if (problem)
    throw transient(
      "not_applied",
      `${check.kind} did not apply the rules: ${problem} (GET ${url} lists ${describe(seen)}; expected ${describe(expected)})`,
      30,
    );
  return { verified: true, how: `GET ${url} lists exactly ${describe(expected)}` };
}

export async function verifyAlertmanager(
  fetch: Fetch,
  now: () => number,
  base: string,
  hash: string,
  timeoutMs: number,
): Promise<Verification> {
  const url = `${base.replace(/\/+$/, "")}/api/v2/status`;
  const mark = hashReceiver(hash);
  const problem = await until(
    now,
    () => timeoutMs,
    async () => {
      const res = await send(fetch, "reading back alertmanager", url);
      if (!res.ok) return notRead(url, res);
      let original = "";
      try {
        original = (JSON.parse(res.text) as { config?: { original?: string } }).config?.original ?? "";
      } catch {
        return `GET ${url} did not answer JSON: ${snippet(res.shown)}`;
      }
      if (original.includes(mark)) return undefined;
      const other = /alertagent-config-(sha256:[0-9a-f]{64})/.exec(original)?.[1];
      return other ? `it runs config ${other}, not ${hash}` : `its config.original does not carry ${hash}`;
    },
  );
  if (problem) throw transient("not_applied", `alertmanager did not apply the config: ${problem}`, 30);
  return { verified: true, how: `GET ${url} shows ${hash} in config.original` };
}
