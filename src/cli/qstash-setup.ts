/**
 * `setup-qstash`: applies the config's flow-control keys and schedules through QStash's API
 * (idempotent) and prints the publish recipe per family and Alertmanager's webhook_config.
 */
import { stringify } from "yaml";
import { maskCredentials, secretValuesOf } from "../mask.ts";
import { qstashApi } from "../qstash/management.ts";
import { alertmanagerReceiver, setupQstash } from "../qstash/setup.ts";
import type { ParsedArgs } from "./args.ts";
import { loadCliConfig } from "./load.ts";
import type { Platform } from "./platform.ts";

export async function setupQstashCommand(args: ParsedArgs, p: Platform): Promise<number> {
  const { config } = await loadCliConfig(args, p);
  const dryRun = args["dry-run"];
  const report = await setupQstash(config, qstashApi(config), { reset: args.reset, dryRun });
  const changes = report.changes.map((c) => `#   ${c}\n`).join("") || "#   nothing\n";
  const kept = report.flow_control.filter((f) => f.action === "kept");
  // The URLs printed are the config's own: their credentials masked, as check-config shows them.
  const shown = (text: string) => maskCredentials(text, secretValuesOf(config));
  p.stdout(
    shown(
      `# setup-qstash${dryRun ? " --dry-run: would change" : ": changed"} (safe to run again)\n${changes}${kept.length ? `# kept (already set, e.g. by autoscale; --reset pins them): ${kept.map((k) => `${k.key}=${k.parallelism}`).join(", ")}\n` : ""}${stringify(report)}\n# Alertmanager: publish straight to QStash\n${alertmanagerReceiver(config)}`,
    ),
  );
  return 0;
}
