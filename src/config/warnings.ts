/**
 * What a config that parses will still fail at when a job needs it: said by check-config and
 * logged at start (README, "Command line"). Not refused: the part that needs it may be unused
 * (an Alertmanager target whose rules route to no channel needs neither).
 */
import type { Config } from "./schema.ts";

export interface ConfigWarning {
  path: string;
  message: string;
}

export function configWarnings(c: Config): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  for (const [name, t] of Object.entries(c.config_sync.targets)) {
    if (t.kind !== "alertmanager") continue;
    // Its receivers publish to this worker through QStash (src/sync/alertmanager.ts).
    const needs = (path: string) =>
      warnings.push({
        path,
        message: `is needed by the Alertmanager target "${name}": a sync of rules that notify a channel fails (489 config_error) until it is set`,
      });
    if (!c.worker.public_url) needs("worker.public_url");
    if (!c.qstash.token) needs("qstash.token");
  }
  return warnings;
}
