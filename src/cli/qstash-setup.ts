/**
 * `setup-qstash`: applies the config's flow-control keys and schedules through QStash's API
 * (idempotent) and prints the publish recipe per family and Alertmanager's webhook_config.
 */
import { stringify } from "yaml";
import { qstashApi } from "../qstash/management.ts";
import { alertmanagerReceiver, setupQstash } from "../qstash/setup.ts";
import type { ParsedArgs } from "./args.ts";
import { loadCliConfig } from "./load.ts";
import type { Platform } from "./platform.ts";

export async function setupQstashCommand(args: ParsedArgs, p: Platform): Promise<number> {
  const { config } = await loadCliConfig(args, p);
  const report = await setupQstash(config, qstashApi(config));
  p.stdout(
    `# setup-qstash: ${report.schedules.length} schedule(s) applied, ${report.flow_control.length} flow-control key(s) pinned (safe to run again)\n${stringify(report)}\n# Alertmanager: publish straight to QStash\n${alertmanagerReceiver(config)}`,
  );
  return 0;
}
