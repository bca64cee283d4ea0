/**
 * `setup-qstash`: applies `qstash.flow_control` and `qstash.schedules` through QStash's API —
 * schedules created idempotently under their fixed ids, a flow-control key pinned to its
 * configured parallelism and rate only while it has none yet (or with `reset`), so a run never
 * undoes what autoscale moved — and returns every change it made (or, dry, would make) and the
 * publish recipe per family, including Alertmanager's webhook_config. Safe to run twice.
 */
import type { Config, Family } from "../config/schema.ts";
import type { QstashApi } from "./management.ts";
import { flowControlFor, publicBase, qstashPublishHeaders } from "./publish.ts";

export interface SetupReport {
  schedules: { id: string; destination: string; cron: string }[];
  flow_control: {
    key: string;
    family: Family;
    parallelism: number;
    rate?: number;
    period_s?: number;
    /**
     * pinned: set now (or would be, dry); kept: pinned already (by a run before, or autoscale);
     * first_message: QStash refused to pin a key it does not know, so the first message published
     * under it sets it (its flow-control headers carry the same values).
     */
    action: "pinned" | "kept" | "first_message";
    /** The parallelism QStash had before. */
    was?: number;
  }[];
  /** Every change, one line each, in the order made. */
  changes: string[];
  recipes: Recipe[];
}

export interface SetupOptions {
  /** Pin every key to its configured parallelism, even one autoscale moved. */
  reset?: boolean;
  /** Say what would change; change nothing. */
  dryRun?: boolean;
}

export interface Recipe {
  family: Family;
  publish_url: string;
  headers: Record<string, string>;
}

const PUBLISHED: Family[] = ["analysis", "notification", "config-sync"];

/** The headers and URL a producer publishes a family's jobs with (token shown as a placeholder). */
export function recipes(config: Config): Recipe[] {
  const base = publicBase(config);
  const api = config.qstash.url.replace(/\/+$/, "");
  return PUBLISHED.map((family) => ({
    family,
    publish_url: `${api}/v2/publish/${base}/jobs/${family}`,
    headers: {
      Authorization: "Bearer $QSTASH_TOKEN",
      "Content-Type": "application/json",
      ...qstashPublishHeaders(config, family),
    },
  }));
}

export async function setupQstash(
  config: Config,
  api: QstashApi,
  opts: SetupOptions = {},
): Promise<SetupReport> {
  const base = publicBase(config);
  const report: SetupReport = { schedules: [], flow_control: [], changes: [], recipes: recipes(config) };
  for (const s of config.qstash.schedules) {
    const family = s.route.replace(/^\/jobs\//, "") as Family;
    const fc = flowControlFor(config, family);
    const destination = base + s.route;
    if (!opts.dryRun)
      await api.createSchedule({
        scheduleId: s.id,
        destination,
        cron: s.cron,
        body: JSON.stringify(s.body ?? {}),
        flowControl: fc,
        failureCallback: `${base}/jobs/failure`,
      });
    report.schedules.push({ id: s.id, destination, cron: s.cron });
    report.changes.push(`schedule ${s.id}: ${s.cron} → ${destination} (created or overwritten under its id)`);
  }
  for (const family of PUBLISHED) {
    const fc = flowControlFor(config, family);
    if (!fc) continue;
    // A pinned key was set by an earlier run or moved by autoscale: keep it. A key QStash does
    // not know yet has nothing to keep.
    const state = await api.flowControl(fc.key);
    const has = state?.pinned ? state.parallelism : undefined;
    const pin = opts.reset || has === undefined;
    // A kept key still follows the configured rate: its parallelism is pinned again as it is.
    const known =
      (pin || fc.rate) && !opts.dryRun
        ? await api.pin(fc.key, {
            parallelism: pin ? fc.parallelism : has,
            ...(fc.rate ? { rate: fc.rate, period: fc.period } : {}),
          })
        : true;
    report.flow_control.push({
      key: fc.key,
      family,
      parallelism: pin ? fc.parallelism : (has as number),
      ...(fc.rate ? { rate: fc.rate, period_s: fc.period } : {}),
      action: !known ? "first_message" : pin ? "pinned" : "kept",
      ...(has !== undefined ? { was: has } : {}),
    });
    if (!known)
      report.changes.push(
        `flow control ${fc.key}: QStash does not know the key yet; the first message published under it sets parallelism ${fc.parallelism} (run setup-qstash again after it to pin it)`,
      );
    else if (pin)
      report.changes.push(
        `flow control ${fc.key}: parallelism ${has ?? "none"} → ${fc.parallelism}${fc.rate ? `, rate ${fc.rate}/${fc.period}s` : ""}`,
      );
    else if (fc.rate)
      report.changes.push(
        `flow control ${fc.key}: rate ${fc.rate}/${fc.period}s (parallelism kept at ${has})`,
      );
  }
  return report;
}
/** Alertmanager's webhook_config for publishing straight to QStash (docs/contracts.md#alertmanager-webhook-payload). */
export function alertmanagerReceiver(config: Config): string {
  const r = recipes(config).find((x) => x.family === "notification") as Recipe;
  const channels = Object.keys(config.channels).slice(0, 2).join(",") || "<channel>";
  return [
    "# The worker takes the channels from ?channels= (or from the receiver's name, as config sync renders it).",
    "receivers:",
    "  - name: alertagent",
    "    webhook_configs:",
    `      - url: ${r.publish_url}?channels=${channels}`,
    "        send_resolved: true",
    "        http_config:",
    "          authorization: { type: Bearer, credentials_file: /etc/alertmanager/qstash-token }",
    "          # Alertmanager 0.28 or later (older ones refuse http_headers): QStash then reports a page it",
    "          # gives up on to /jobs/failure, and pages share the notification flow-control key.",
    "          # http_headers:",
    ...Object.entries(r.headers)
      .filter(([k]) => k.startsWith("Upstash-"))
      .map(([k, v]) => `          #   ${k}: { values: [${JSON.stringify(v)}] }`),
    "",
  ].join("\n");
}
