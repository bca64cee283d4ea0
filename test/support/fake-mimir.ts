/**
 * A fake Grafana Mimir (ruler config API and Alertmanager config API, docs/contracts.md#mimir-ruler) on
 * loopback, strict like the real one: every request needs X-Scope-OrgID (401 "no org id"),
 * rule groups are posted one per request as YAML ({name, rules}) and validated (Debian's promtool
 * stands for the ruler's own check: 400 with its words), a namespace without groups
 * is a 404, writes answer 202 (rules) and 201 (Alertmanager). A group is listed as the ruler
 * keeps it (Mimir's rulespb FromProto): durations re-written from their value ("300s" → "5m"),
 * empty fields left out. `dropWrites` makes it accept and forget, like a ruler that did not apply
 * what it was sent. Mimir's default limits hold: 20 rules a group, 70 groups a tenant (counted over
 * all its namespaces, the posted group added even when it replaces one), 400 with Mimir's words.
 */
import { parse, stringify } from "yaml";
import { promtoolCheckRules } from "./peers.ts";

export interface FakeMimir {
  url: string;
  /** tenant → namespace → group name → group. */
  rules: Map<string, Map<string, Map<string, { name: string; rules: unknown[] }>>>;
  alertmanager: Map<string, string>;
  requests: string[];
  dropWrites: boolean;
  stop(): void;
}

export function startFakeMimir(
  limits: { rulesPerGroup: number; groupsPerTenant: number } = { rulesPerGroup: 20, groupsPerTenant: 70 },
): FakeMimir {
  const state: FakeMimir = {
    url: "",
    rules: new Map(),
    alertmanager: new Map(),
    requests: [],
    dropWrites: false,
    stop: () => server.stop(true),
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      state.requests.push(`${req.method} ${url.pathname}`);
      const tenant = req.headers.get("x-scope-orgid");
      if (!tenant) return new Response("no org id\n", { status: 401 });
      const m = /^\/prometheus\/config\/v1\/rules\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
      if (m) {
        const ns = decodeURIComponent(m[1]);
        const byNs = state.rules.get(tenant) ?? new Map();
        state.rules.set(tenant, byNs);
        const groups = byNs.get(ns) ?? new Map();
        if (req.method === "POST" && !m[2]) {
          let g: { name?: unknown; rules?: unknown };
          try {
            g = parse(await req.text());
          } catch (e) {
            return new Response(`unable to decode rule group: ${(e as Error).message}`, { status: 400 });
          }
          if (typeof g?.name !== "string" || !Array.isArray(g.rules))
            return new Response("invalid rules config: rule group name must not be empty", { status: 400 });
          // Mimir's pkg/ruler/api.go CreateRuleGroup: the limits first, in its words.
          if (g.rules.length > limits.rulesPerGroup)
            return new Response(
              `per-user rules per rule group limit (limit: ${limits.rulesPerGroup} actual: ${g.rules.length}) exceeded\n`,
              { status: 400 },
            );
          const held = [...byNs.values()].reduce((n, gs) => n + gs.size, 0);
          if (held + 1 > limits.groupsPerTenant)
            return new Response(
              `per-user rule groups limit (limit: ${limits.groupsPerTenant} actual: ${held + 1}) exceeded\n`,
              { status: 400 },
            );
          // The ruler validates a group as Prometheus does (ValidateRuleGroup): promtool's words.
          const check = await promtoolCheckRules(stringify({ groups: [g] }));
          if (check.code !== 0) return new Response(`${check.output.trim()}\n`, { status: 400 });
          if (!state.dropWrites) {
            groups.set(g.name, { name: g.name, rules: g.rules });
            byNs.set(ns, groups);
          }
          return Response.json({ status: "success", data: null }, { status: 202 });
        }
        if (req.method === "GET" && !m[2]) {
          if (!groups.size) return new Response("no rule groups found\n", { status: 404 });
          return new Response(stringify({ [ns]: [...groups.values()].map(asStored) }), {
            headers: { "content-type": "application/yaml" },
          });
        }
        if (req.method === "DELETE" && m[2]) {
          if (!groups.delete(decodeURIComponent(m[2])))
            return new Response("group does not exist\n", { status: 404 });
          return Response.json({ status: "success", data: null }, { status: 202 });
        }
      }
      if (url.pathname === "/api/v1/alerts") {
        if (req.method === "POST") {
          const doc = parse(await req.text()) as { alertmanager_config?: unknown };
          if (typeof doc?.alertmanager_config !== "string")
            return new Response("error validating Alertmanager config: missing alertmanager_config", {
              status: 400,
            });
          if (!state.dropWrites) state.alertmanager.set(tenant, doc.alertmanager_config);
          return new Response(null, { status: 201 });
        }
        if (req.method === "GET") {
          const config = state.alertmanager.get(tenant);
          if (!config) return new Response("alertmanager storage object not found\n", { status: 404 });
          return new Response(stringify({ template_files: {}, alertmanager_config: config }));
        }
      }
      return new Response("404 page not found\n", { status: 404 });
    },
  });
  state.url = `http://127.0.0.1:${server.port}`;
  return state;
}

type Node = Record<string, unknown>;

/** A group as Mimir lists it: what its protobuf keeps, durations formatted from their value. */
function asStored(g: { name: string; interval?: unknown; rules: unknown[] }): Node {
  const kept = (o: Node) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const nonEmpty = (m: unknown) => (m && Object.keys(m as object).length ? m : undefined);
  return kept({
    name: g.name,
    interval: duration(g.interval),
    rules: (g.rules as Node[]).map((r) =>
      kept({
        record: r.record,
        alert: r.alert,
        expr: r.expr,
        for: duration(r.for),
        keep_firing_for: duration(r.keep_firing_for),
        labels: nonEmpty(r.labels),
        annotations: nonEmpty(r.annotations),
      }),
    ),
  });
}

const UNITS: [string, number][] = [
  ["y", 365 * 86_400_000],
  ["w", 7 * 86_400_000],
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
  ["ms", 1],
];

/** Prometheus' model.Duration String(): the largest units first ("90s" → "1m30s"); zero left out. */
function duration(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  let ms = 0;
  for (const [, n, unit] of v.matchAll(/(\d+)(ms|[ywdhms])/g))
    ms += Number(n) * (UNITS.find(([u]) => u === unit)?.[1] ?? 0);
  if (ms === 0) return undefined;
  let out = "";
  for (const [u, size] of UNITS) {
    if (ms >= size) {
      out += `${Math.floor(ms / size)}${u}`;
      ms %= size;
    }
  }
  return out;
}
