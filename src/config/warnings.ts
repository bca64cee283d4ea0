/**
 * What a config that parses will still fail at when a job needs it: said by check-config and
 * logged at start (README, "Command line"). Not refused: the part that needs it may be unused
 * (an Alertmanager target whose rules route to no channel needs neither).
 */
import { mountedFamilies } from "./families.ts";
import type { Config, Family } from "./schema.ts";

export interface ConfigWarning {
  path: string;
  message: string;
}

const DAY_MS = 86_400_000;
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
  // QStash's backoff puts a fifth retry about a day after the first delivery (docs/contracts.md#qstash):
  // a message whose ledger entry is gone by then runs again — a page sent twice.
  if (c.store.retention < DAY_MS)
    warnings.push({
      path: "store.retention",
      message: `is ${Math.round(c.store.retention / 60_000)} minutes: QStash may retry a message up to a day after its first delivery (and a DLQ retry later still); a retry after the job's record is gone is run again (a page sent twice)`,
    });
  warnings.push(...flowControlWarnings(c));
  for (const [name, ch] of Object.entries(c.channels)) {
    const at = `channels.${name}`;
    if (ch.type === "wecom") warnings.push(...wecomMentions(at, ch, c.templates));
    // RFC 4954 §4: a password goes over an encrypted connection only.
    if (ch.type === "email" && ch.smtp.secure === "none" && ch.smtp.user)
      warnings.push({
        path: `${at}.smtp.secure`,
        message:
          "is none while smtp.user is set: the password crosses the network unencrypted; use starttls or tls",
      });
  }
  return warnings;
}

/** Mentions a WeCom message type cannot carry, so nobody would be woken (docs/notifications.md, WeCom). */
function wecomMentions(
  at: string,
  ch: Extract<Config["channels"][string], { type: "wecom" }>,
  templates: Config["templates"],
): ConfigWarning[] {
  // What goes out (src/notify/render.ts chooseTemplate, channels/wecom.ts): text when the format
  // is — a custom template's own, else the channel's, else by msgtype — else the markdown type.
  const custom = ch.template ? templates[ch.template] : undefined;
  const format = custom?.format ?? ch.format ?? (ch.msgtype === "text" ? "text" : "markdown");
  const sent = format === "text" ? "text" : ch.msgtype === "text" ? "markdown" : ch.msgtype;
  if (sent === "text") return [];
  const out: ConfigWarning[] = [];
  const drops = (path: string, what: string) =>
    out.push({
      path: `${at}.${path}`,
      message: `${what} on ${sent} messages: use msgtype: text (and no markdown format) to mention them`,
    });
  if (sent === "markdown_v2" && ch.mentioned_list.length)
    drops("mentioned_list", "mentions nobody: WeCom's markdown_v2 messages carry no mentions");
  if (sent === "markdown" && ch.mentioned_list.includes("@all"))
    drops("mentioned_list", '"@all" mentions nobody: WeCom markdown mentions only user ids (<@userid>)');
  if (ch.mentioned_mobile_list.length)
    drops(
      "mentioned_mobile_list",
      "mentions nobody: WeCom markdown messages cannot mention by mobile number",
    );
  return out;
}

/**
 * setup-qstash pins each key's parallelism (max when unset), and QStash may deliver that many of
 * each key at once; this instance's families share one worker.concurrency: over it, the extra
 * deliveries are answered 429, each spending one of the message's retries.
 */
function flowControlWarnings(c: Config): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  const mounted = mountedFamilies(c);
  const pinned: string[] = [];
  let total = 0;
  for (const [name, fc] of Object.entries(c.qstash.flow_control)) {
    if (!fc) continue;
    const at = `qstash.flow_control.${name}`;
    if (fc.period !== undefined && !fc.rate)
      out.push({ path: `${at}.period`, message: "does nothing without rate" });
    if (!mounted.includes(name.replace("_", "-") as Family)) continue;
    const start = fc.parallelism ?? fc.max;
    total += start;
    pinned.push(`${name} ${start}${fc.parallelism === undefined ? " (max: parallelism unset)" : ""}`);
  }
  if (total > c.worker.concurrency)
    out.push({
      path: "qstash.flow_control",
      message: `pins ${total} deliveries at once for this worker's families (${pinned.join(", ")}) but one instance takes ${c.worker.concurrency} (worker.concurrency): run ${Math.ceil(total / c.worker.concurrency)} instances or pin less — deliveries over it are answered 429 and spend their retries`,
    });
  return out;
}
