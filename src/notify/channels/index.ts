/**
 * Builds every configured channel once, at start-up, and refuses what cannot work here with a
 * message naming the path: an unknown built-in template, a custom template in a format the
 * channel cannot show, a bad mail address, and email on a runtime without the TCP it needs
 * (or with options that runtime's sockets cannot honour) — never a failure at send time.
 */
import type { Config } from "../../config/schema.ts";
import { ConfigError } from "../../errors.ts";
import type { RuntimeName, TcpConnect } from "../../ports.ts";
import { findTemplate } from "../templates.ts";
import type { Channel } from "./channel.ts";
import { consoleChannel } from "./console.ts";
import { dingtalk } from "./dingtalk.ts";
import { DEFAULT_PORTS, email } from "./email.ts";
import { feishu } from "./feishu.ts";
import { slack } from "./slack.ts";
import { isMailbox, parseAddress } from "./smtp/mime.ts";
import { webhook } from "./webhook.ts";
import { wecom } from "./wecom.ts";

export interface Capabilities {
  tcp?: TcpConnect;
  runtime: RuntimeName;
}

type Issue = { path: string; message: string };

function build(name: string, cfg: Config["channels"][string]): Channel {
  switch (cfg.type) {
    case "dingtalk":
      return dingtalk(name, cfg);
    case "wecom":
      return wecom(name, cfg);
    case "feishu":
      return feishu(name, cfg);
    case "slack":
      return slack(name, cfg);
    case "webhook":
      return webhook(name, cfg);
    case "email":
      return email(name, cfg);
    case "console":
      return consoleChannel(name, cfg);
  }
}

function emailIssues(
  path: string,
  cfg: Extract<Config["channels"][string], { type: "email" }>,
  caps: Capabilities,
) {
  const issues: Issue[] = [];
  if (!caps.tcp)
    issues.push({
      path,
      message: `email (SMTP) needs outbound TCP, which the ${caps.runtime} runtime of this worker does not offer; use a webhook channel to a mail API instead`,
    });
  if (caps.runtime === "workerd") {
    const port = cfg.smtp.port ?? DEFAULT_PORTS[cfg.smtp.secure];
    if (port === 25)
      issues.push({
        path: `${path}.smtp.port`,
        message: "Cloudflare Workers block outbound port 25; use 465 (secure: tls) or 587 (secure: starttls)",
      });
    if (cfg.smtp.ca || !cfg.smtp.reject_unauthorized)
      issues.push({
        path: `${path}.smtp`,
        message:
          "ca and reject_unauthorized are not available on Cloudflare Workers (cloudflare:sockets trusts the platform's CAs only)",
      });
  }
  for (const [key, list] of [
    ["from", [cfg.from]],
    ["to", cfg.to],
    ["cc", cfg.cc],
  ] as const) {
    list.forEach((a, i) => {
      if (!isMailbox(parseAddress(a).address))
        issues.push({
          path: `${path}.${key}${key === "from" ? "" : `[${i}]`}`,
          message: `"${a}" is not a mail address`,
        });
    });
  }
  return issues;
}

/** Every channel by name; throws ConfigError naming each problem. */
export function buildChannels(config: Config, caps: Capabilities): Map<string, Channel> {
  const out = new Map<string, Channel>();
  const issues: Issue[] = [];
  for (const [name, cfg] of Object.entries(config.channels)) {
    const path = `channels.${name}`;
    if (cfg.type === "email") issues.push(...emailIssues(path, cfg, caps));
    const ch = build(name, cfg);
    if (cfg.template) {
      const t = findTemplate(cfg.template, config.templates);
      if (!t) issues.push({ path: `${path}.template`, message: `unknown template "${cfg.template}"` });
      else if (!t.builtin && !ch.formats.includes(t.format))
        issues.push({
          path: `${path}.template`,
          message: `template "${cfg.template}" is ${t.format}; a ${cfg.type} channel shows ${ch.formats.join(" or ")}`,
        });
    }
    if (cfg.format && !ch.formats.includes(cfg.format))
      issues.push({
        path: `${path}.format`,
        message: `a ${cfg.type} channel shows ${ch.formats.join(" or ")}, not ${cfg.format}`,
      });
    out.set(name, ch);
  }
  if (issues.length) throw new ConfigError(issues.map((i) => `${i.path}: ${i.message}`).join("; "), issues);
  return out;
}
