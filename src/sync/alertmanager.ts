/**
 * The Alertmanager config (docs/contracts.md#alertmanager): a route tree built from the rules' `notify` —
 * one route per rule, matching its alertname, severity and labels, with its grouping and
 * timing — receivers that publish to this worker's /jobs/notification through QStash
 * (Alertmanager → QStash → worker), the default inhibit rule (critical silences warning for
 * the same alertname and instance), and the config hash. Alertmanager re-marshals its config
 * (comments are lost in /api/v2/status), so besides the header comment the hash also rides
 * in the name of an unused receiver, where verification can read it back.
 */
import { permanent } from "../errors.ts";
import type { Rule } from "./rule.ts";
import { toYaml } from "./yaml.ts";

export interface AlertmanagerContext {
  /** QStash publish URL of worker.public_url + /jobs/notification. */
  publishUrl?: string;
  /** qstash.token: Alertmanager's Bearer credentials for QStash. */
  token?: string;
  /** QStash's publish headers for the receivers (failure callback, flow control): Alertmanager ≥ 0.28. */
  headers?: Record<string, string>;
}

/** The receiver every alert that no rule routes ends in: it has no integrations. */
export const DEFAULT_RECEIVER = "alertagent-default";
export const HASH_RECEIVER_PREFIX = "alertagent-config-";

/**
 * The receiver for a set of channels: their sorted names joined with commas. The notification
 * job reads the channels back from the webhook payload's `receiver`.
 */
export function receiverName(channels: readonly string[]): string {
  return [...new Set(channels)].sort().join(",");
}

/** An Alertmanager equality matcher, `name="value"` with the value escaped. */
export function matcher(name: string, value: string): string {
  return `${name}="${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A value Prometheus fills in when the alert fires (a Go template, `{{ $labels.instance }}`): no
 * matcher can say it beforehand, so the route leaves it out rather than never matching.
 */
const templated = (value: string) => value.includes("{{");

function routeOf(r: Rule & { notify: NonNullable<Rule["notify"]> }): Record<string, unknown> {
  const n = r.notify;
  const labels = Object.keys(r.labels)
    .sort()
    .filter((k) => !templated(r.labels[k]))
    .map((k) => matcher(k, r.labels[k]));
  const severity = templated(r.severity ?? "") ? [] : [matcher("severity", r.severity ?? "")];
  return {
    receiver: receiverName(n.channels),
    matchers: [matcher("alertname", r.name), ...severity, ...labels],
    group_by: n.group_by,
    group_wait: n.group_wait,
    group_interval: n.group_interval,
    repeat_interval: n.repeat_interval,
    continue: n.continue ? true : undefined,
  };
}

/**
 * Renders the config for a rule set. The route tree (the bulk: one route per rule) is
 * rendered once; the returned function adds the receivers, which differ between the
 * hashing pass (no hash receiver), the delivered file and the display copy (token masked).
 * Top-level keys are emitted in sorted order, so the parts concatenate to canonical YAML.
 */
export function alertmanagerRenderer(
  rules: readonly Rule[],
  ctx: AlertmanagerContext,
): (hash?: string, token?: string) => string {
  const routes = new Map<string, Record<string, unknown>>();
  for (const r of rules) {
    if (!r.notify) continue;
    const route = routeOf(r as Rule & { notify: NonNullable<Rule["notify"]> });
    routes.set(JSON.stringify(route), route);
  }
  // Most specific first within one alertname, so a route with more matchers is not shadowed by one
  // with fewer. A severity left out as a template still counts: its alerts always carry one.
  const keyed = [...routes.values()].map((r) => {
    const m = r.matchers as string[];
    const fixed = m.some((x) => x.startsWith("severity=")) ? 1 : 0;
    return { r, a: m[0], n: m.length + 1 - fixed, fixed, all: m.join("\n") };
  });
  // On a tie, a written severity first: the templated one's matchers are a subset of it.
  keyed.sort((x, y) => cmp(x.a, y.a) || y.n - x.n || y.fixed - x.fixed || cmp(x.all, y.all));
  const ordered = keyed.map((k) => k.r);
  const channelSets = [...new Set(ordered.map((r) => r.receiver as string))].sort(cmp);
  if (channelSets.length && (!ctx.publishUrl || !ctx.token)) {
    throw permanent(
      "config_error",
      "Alertmanager receivers publish to this worker through QStash: set worker.public_url and qstash.token",
      [
        ...(ctx.publishUrl
          ? []
          : [{ path: "worker.public_url", message: "is required for Alertmanager targets" }]),
        ...(ctx.token ? [] : [{ path: "qstash.token", message: "is required for Alertmanager targets" }]),
      ],
    );
  }
  const inhibit = toYaml({
    inhibit_rules: [
      {
        source_matchers: [matcher("severity", "critical")],
        target_matchers: [matcher("severity", "warning")],
        equal: ["alertname", "instance"],
      },
    ],
  });
  const route = toYaml({
    route: {
      receiver: DEFAULT_RECEIVER,
      group_by: ["alertname"],
      routes: ordered.length ? ordered : undefined,
    },
  });
  return (hash, token = ctx.token) => {
    const receivers: Record<string, unknown>[] = [
      { name: DEFAULT_RECEIVER },
      ...(hash ? [{ name: HASH_RECEIVER_PREFIX + hash }] : []),
      ...channelSets.map((name) => ({
        name,
        webhook_configs: [
          {
            url: ctx.publishUrl,
            send_resolved: true,
            http_config: {
              authorization: { type: "Bearer", credentials: token },
              ...(ctx.headers && {
                http_headers: Object.fromEntries(
                  Object.entries(ctx.headers).map(([k, v]) => [k, { values: [v] }]),
                ),
              }),
            },
          },
        ],
      })),
    ].sort((a, b) => cmp(a.name as string, b.name as string));
    return inhibit + toYaml({ receivers }) + route;
  };
}
