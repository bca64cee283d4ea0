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
import { sha256 } from "./hash.ts";
import { type Answer, refusedBy, send, snippet } from "./net.ts";
import type { DeliveryInput } from "./read-back.ts";
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

/** Group name → rule count in a namespace, as the ruler lists it (404: none). */
async function readNamespace(d: DeliveryInput, url: string, headers: Record<string, string>) {
  const res = await send(d.deps.fetch, `reading back ${d.name}`, url, { headers });
  if (res.status === 404) return new Map<string, number>();
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
  return new Map(
    (groups as { name: string; rules?: unknown }[]).map(
      (g) => [g.name, Array.isArray(g.rules) ? g.rules.length : 0] as const,
    ),
  );
}

/** Reads Mimir back: exactly our groups and rule counts, or our Alertmanager config hash. */
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
  const expected = new Map(d.rendered.groups.map((g) => [g.name, g.rules.length]));
  const same = after.size === expected.size && [...expected].every(([n, c]) => after.get(n) === c);
  const list = (m: Map<string, number>) => [...m].map(([n, c]) => `${n} (${c})`).join(", ") || "no groups";
  if (!same)
    throw transient(
      "not_applied",
      `the ruler's namespace lists ${list(after)}; expected ${list(expected)}`,
      30,
    );
  return { verified: true, how: `GET ${namespace} lists exactly ${list(expected)}` };
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
  for (const g of groups) {
    const name = g.name as string;
    // A group the ruler holds as we last posted it is not posted again: one request per changed
    // group, not per group (a Worker's subrequests are counted; docs/config-sync.md, "mimir").
    const hash = d.groupHashes?.[name];
    if (hash && d.previousGroupHashes?.[name] === hash && before.has(name)) continue;
    const res = await send(fetch, `delivering to ${d.name}`, namespace, { ...post, body: toYaml(g) });
    expectOk(res, `POST ${namespace} (group "${name}")`);
  }
  const ours = new Set(groups.map((g) => g.name as string));
  for (const name of before.keys()) {
    if (ours.has(name)) continue;
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
