/**
 * The `mimir` delivery (docs/contracts.md#mimir-ruler), for Grafana Mimir or Cortex: rule groups go to the
 * ruler's Prometheus-compatible config API, one `POST /prometheus/config/v1/rules/{namespace}`
 * per group, and groups of the namespace that are no longer in the set are deleted; an
 * Alertmanager config goes to `POST /api/v1/alerts`. Each request carries `X-Scope-OrgID`
 * when a tenant is set. Verification reads the namespace (or the Alertmanager config) back.
 */
import { parse } from "yaml";
import type { Config } from "../config/schema.ts";
import { permanent, transient } from "../errors.ts";
import { parsePromDuration } from "./checks.ts";
import { sha256 } from "./hash.ts";
import { type Answer, refusedBy, send, snippet } from "./net.ts";
import { aheadOfStore, type DeliveryInput } from "./read-back.ts";
import { hashReceiver, type Rendered } from "./render.ts";
import { MIMIR_UNSAFE_SEGMENTS } from "./validate.ts";
import type { Verification } from "./verify.ts";
import { toYaml } from "./yaml.ts";

type MimirDelivery = Extract<Config["config_sync"]["targets"][string]["delivery"], { type: "mimir" }>;

function expectOk(res: Answer, what: string): void {
  if (!res.ok) throw refusedBy(what, res);
}

/** A namespace or group name as one path segment of the ruler API; a dot segment is refused. */
function segment(name: string): string {
  if (MIMIR_UNSAFE_SEGMENTS.includes(name))
    throw permanent("invalid_rule", `"${name}" cannot be a path segment of Mimir's ruler API`);
  return encodeURIComponent(name);
}

/** The APIs at `url` (the delivery's, or verify.url for reading back). */
function endpoints(delivery: MimirDelivery, url = delivery.url) {
  const base = url.replace(/\/+$/, "");
  const headers: Record<string, string> = delivery.tenant ? { "X-Scope-OrgID": delivery.tenant } : {};
  return {
    headers,
    alerts: `${base}/api/v1/alerts`,
    namespace: `${base}/prometheus/config/v1/rules/${segment(delivery.namespace)}`,
  };
}

type Group = { name: string; interval?: unknown; rules?: unknown };

/** Group name → group in a namespace, as the ruler lists it (404: none). */
async function readNamespace(
  d: DeliveryInput,
  url: string,
  headers: Record<string, string>,
): Promise<Map<string, Group>> {
  const res = await send(d.deps.fetch, `reading back ${d.name}`, url, { headers });
  if (res.status === 404) return new Map();
  expectOk(res, `GET ${url}`);
  let doc: unknown;
  try {
    doc = parse(res.text) ?? {};
  } catch {
    doc = undefined;
  }
  // The ruler lists `{namespace: [{name, rules: [...]}, …]}`; anything else is not a ruler's answer.
  const lists = doc && typeof doc === "object" && !Array.isArray(doc) ? Object.values(doc) : undefined;
  const groups = lists?.every(Array.isArray) ? (lists.flat() as unknown[]) : undefined;
  if (!groups?.every((g) => typeof (g as { name?: unknown })?.name === "string"))
    throw transient(
      "target_bad_answer",
      `GET ${url} did not answer a rule-group listing: ${snippet(res.shown) || "no body"}`,
      30,
    );
  return new Map((groups as Group[]).map((g) => [g.name, g]));
}

/** A duration as the ruler compares it: it stores durations, not their text ("300s" reads back "5m"). */
const ms = (v: unknown) => (v === undefined || v === null ? 0 : (parsePromDuration(String(v)) ?? Number.NaN));
const sorted = (v: unknown) =>
  JSON.stringify(Object.entries((v ?? {}) as object).sort(([a], [b]) => (a < b ? -1 : 1)));

type RuleNode = Record<string, unknown>;

/** The fields of a rule the ruler keeps (Mimir's rulespb), each as it compares. */
const RULE_FIELDS: [string, (r: RuleNode) => unknown][] = [
  ["name", (r) => `${r.alert ?? ""}|${r.record ?? ""}`],
  ["expr", (r) => String(r.expr ?? "").trim()],
  ["for", (r) => ms(r.for)],
  ["keep_firing_for", (r) => ms(r.keep_firing_for)],
  ["labels", (r) => sorted(r.labels)],
  ["annotations", (r) => sorted(r.annotations)],
];

/**
 * What differs between a group we posted and the ruler's copy of it (same name and rule count),
 * in what the ruler keeps: the interval and each rule's RULE_FIELDS (docs/contracts.md#mimir-ruler).
 */
function groupDifference(posted: Record<string, unknown>, back: Group): string | undefined {
  if (ms(posted.interval) !== ms(back.interval)) return "another interval";
  const ours = (posted.rules ?? []) as RuleNode[];
  const theirs = (Array.isArray(back.rules) ? back.rules : []) as RuleNode[];
  for (let i = 0; i < ours.length; i++) {
    const field = RULE_FIELDS.find(([, of]) => of(ours[i]) !== of(theirs[i] ?? {}));
    if (field) return `another ${field[0]} in rule ${i + 1} (${ours[i].alert ?? ours[i].record})`;
  }
  return undefined;
}

/** Reads Mimir back: exactly our groups as we posted them, or our Alertmanager config hash. */
export async function checkMimir(d: DeliveryInput, delivery: MimirDelivery): Promise<Verification> {
  const { headers, alerts, namespace } = endpoints(delivery, d.target.verify.url);
  if (d.target.kind === "alertmanager") {
    const back = await send(d.deps.fetch, `reading back ${d.name}`, alerts, { headers });
    expectOk(back, `GET ${alerts}`);
    const doc = parse(back.text) as { alertmanager_config?: unknown } | null;
    if (!String(doc?.alertmanager_config ?? "").includes(hashReceiver(d.rendered.hash)))
      throw transient("not_applied", `Mimir's Alertmanager config does not carry ${d.rendered.hash}`, 30);
    return { verified: true, how: `GET ${alerts} shows ${d.rendered.hash}` };
  }
  const after = await readNamespace(d, namespace, headers);
  const posted = d.rendered.ruleFile?.groups ?? [];
  const expected = new Map(d.rendered.groups.map((g) => [g.name, g.rules.length]));
  const listed = new Map([...after].map(([n, g]) => [n, Array.isArray(g.rules) ? g.rules.length : 0]));
  const list = (m: Map<string, number>) => [...m].map(([n, c]) => `${n} (${c})`).join(", ") || "no groups";
  if (listed.size !== expected.size || [...expected].some(([n, c]) => listed.get(n) !== c))
    throw transient(
      "not_applied",
      `the ruler's namespace lists ${list(listed)}; expected ${list(expected)}`,
      30,
    );
  // Same names and counts: the rules themselves too (a write lost over an older copy keeps both).
  for (const g of posted) {
    const differs = groupDifference(g, after.get(g.name as string) as Group);
    if (differs)
      throw transient("not_applied", `the ruler's group "${g.name}" is not what was posted: ${differs}`, 30);
  }
  return { verified: true, how: `GET ${namespace} lists exactly ${list(expected)}, each rule as posted` };
}

export async function deliverMimir(d: DeliveryInput, delivery: MimirDelivery): Promise<Verification> {
  const { headers, alerts, namespace } = endpoints(delivery);
  const post = { method: "POST", headers: { ...headers, "content-type": "application/yaml" } };
  const fetch = d.deps.fetch;
  if (d.target.kind === "alertmanager") {
    const body = toYaml({ alertmanager_config: d.rendered.content, template_files: {} });
    expectOk(await send(fetch, `delivering to ${d.name}`, alerts, { ...post, body }), `POST ${alerts}`);
    return checkMimir(d, delivery);
  }
  const before = await readNamespace(d, namespace, headers);
  const groups = d.rendered.ruleFile?.groups ?? [];
  // Groups there the store never delivered (nor the new set has) would be deleted below.
  const rendering = new Set(groups.map((g) => g.name as string));
  const unknown = d.onTopOf
    ? [...before.keys()].filter((n) => !d.previousGroups.includes(n) && !rendering.has(n))
    : [];
  if (unknown.length) throw aheadOfStore(d.name, `groups (${unknown.join(", ")})`, { unknown });
  for (const g of groups) {
    const name = g.name as string;
    // A group the ruler holds as we last posted it is not posted again: one request per changed
    // group, not per group (a Worker's subrequests are counted; docs/config-sync.md, "mimir").
    const hash = d.groupHashes?.[name];
    if (hash && d.previousGroupHashes?.[name] === hash && before.has(name)) continue;
    const res = await send(fetch, `delivering to ${d.name}`, namespace, { ...post, body: toYaml(g) });
    expectOk(res, `POST ${namespace} (group "${name}")`);
  }
  for (const name of before.keys()) {
    if (rendering.has(name)) continue;
    const url = `${namespace}/${segment(name)}`;
    const res = await send(fetch, `deleting from ${d.name}`, url, { method: "DELETE", headers });
    if (res.status !== 404) expectOk(res, `DELETE ${url}`);
  }
  return checkMimir(d, delivery);
}

/** sha256 of each group of a rule rendering, as mimir posts it (name → hash). */
export async function groupHashes(rendered: Rendered): Promise<Record<string, string>> {
  const groups = rendered.ruleFile?.groups ?? [];
  const hashes = await Promise.all(groups.map((g) => sha256(toYaml(g))));
  return Object.fromEntries(groups.map((g, i) => [g.name as string, hashes[i]]));
}
