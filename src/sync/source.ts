/**
 * `config_sync.source`: where a full sync without rules gets the rule set (AlertAgent's rule
 * API, or any URL serving the rules as JSON or YAML — a list, or `{rules: [...]}`). Not
 * reachable or 5xx → 503 (QStash retries); any other non-2xx or an unreadable answer → 489.
 */
import { parse } from "yaml";
import { permanent, transient } from "../errors.ts";
import type { Services } from "../services.ts";
import { send, snippet } from "./net.ts";

/**
 * The source's rules, refused when it answers none while `deployed` rules are stored: a rule API
 * up but empty mid-incident must not turn every alert off — clearing the rules is said in the job
 * itself (docs/config-sync.md).
 */
export async function sourceRules(deps: Services, deployed: number): Promise<unknown[]> {
  const rules = await fetchSourceRules(deps);
  if (rules.length === 0 && deployed > 0)
    throw transient(
      "source_empty",
      `config_sync.source answered no rules while ${deployed} are deployed: not applied (to remove every rule, send full with "rules": [])`,
      30,
    );
  return rules;
}

async function fetchSourceRules(deps: Services): Promise<unknown[]> {
  const source = deps.config.config_sync.source;
  if (!source) throw permanent("no_rule_source", "config_sync.source is not set");
  const headers: Record<string, string> = { accept: "application/json, application/yaml;q=0.9" };
  if (source.token) headers.authorization = `Bearer ${source.token}`;
  const res = await send(deps.fetch, "fetching the rule set from config_sync.source", source.url, {
    headers,
  });
  if (res.status >= 500)
    throw transient(
      "source_unavailable",
      `config_sync.source answered ${res.status}: ${snippet(res.shown)}`,
      30,
    );
  if (!res.ok)
    throw permanent("source_rejected", `config_sync.source answered ${res.status}: ${snippet(res.shown)}`);
  let doc: unknown;
  try {
    doc = JSON.parse(res.text);
  } catch {
    try {
      doc = parse(res.text);
    } catch {
      doc = undefined;
    }
  }
  const rules = Array.isArray(doc) ? doc : (doc as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules))
    throw permanent(
      "source_invalid",
      'config_sync.source must answer a list of rules, or {"rules": [...]}, as JSON or YAML',
    );
  return rules;
}
