import { describe, expect, test } from "bun:test";
import { createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config/load.ts";
import { nodeTcp } from "../../src/entry/node-net.ts";
import { ConfigError } from "../../src/errors.ts";
import type { RuntimeName } from "../../src/ports.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";
import { PromMetrics } from "../../src/telemetry/prom-metrics.ts";
import { buildDeps } from "../../src/wire.ts";
import { MINIMAL_YAML } from "../support/harness.ts";

/** Builds the app as an entry does; returns the ConfigError it refuses with, if any. */
function start(yaml: string, opts: { runtime?: RuntimeName; tcp?: false } = {}): ConfigError | undefined {
  const config = loadConfig(MINIMAL_YAML + yaml, {}, "test");
  try {
    const deps = buildDeps({
      config,
      store: new MemoryStore(),
      metrics: new PromMetrics(),
      runtime: opts.runtime ?? "bun",
      logger: silentLogger,
      tcp: opts.tcp === false ? undefined : nodeTcp,
    });
    createApp(deps);
    return undefined;
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
}

const mail = (smtp = "host: smtp.example.com") =>
  `channels:\n  mail: { type: email, from: a@example.com, to: [b@example.com], smtp: { ${smtp} } }\n`;

describe("channels that cannot work are refused at start-up, never at send time", () => {
  test("email on a runtime without TCP names the channel and what to do", () => {
    const e = start(mail(), { runtime: "workerd", tcp: false });
    expect(e?.issues[0].path).toBe("channels.mail");
    expect(e?.message).toContain("email (SMTP) needs outbound TCP, which the workerd runtime");
  });

  test("email to port 25 on Workers (blocked there) is refused; 465 is accepted", () => {
    expect(
      start(mail("host: smtp.example.com, port: 25, secure: none"), { runtime: "workerd" })?.message,
    ).toContain("block outbound port 25");
    expect(start(mail("host: smtp.example.com, secure: none"), { runtime: "workerd" })?.issues[0].path).toBe(
      "channels.mail.smtp.port",
    );
    expect(start(mail("host: smtp.example.com, port: 465"), { runtime: "workerd" })).toBeUndefined();
  });

  test("a private CA cannot be honoured on Workers", () => {
    expect(start(mail("host: smtp.example.com, ca: PEM"), { runtime: "workerd" })?.message).toContain(
      "not available on Cloudflare Workers",
    );
  });

  test("email runs on the binary and Deno (node:net/node:tls)", () => {
    expect(start(mail(), { runtime: "bun" })).toBeUndefined();
    expect(start(mail(), { runtime: "deno" })).toBeUndefined();
  });

  test("on Deno, an http(s) URL on a port its fetch refuses (10080) is refused naming the key; the binary takes it", () => {
    const yaml = `channels:\n  hook: { type: webhook, url: "http://10.0.0.5:10080/x" }\nai:\n  ollama: { url: "http://10.0.0.6:6667", model: m }\n`;
    const refused = start(yaml, { runtime: "deno" });
    expect(refused?.issues.map((i) => i.path)).toEqual(["ai.ollama.url", "channels.hook.url"]);
    expect(start(yaml, { runtime: "bun" })).toBeUndefined();
    // worker.public_url is QStash's to call; a header's or a template's text is not fetched.
    expect(
      start(`worker: { public_url: "https://w.example.com:10080" }\n`, { runtime: "deno" }),
    ).toBeUndefined();
    const text = `channels:\n  hook: { type: webhook, url: "http://10.0.0.5:8080/x", headers: { Referer: "http://grafana.example.com:6000/" } }\ntemplates:\n  t: { title: "x", body: "http://grafana.example.com:6000/d/abc" }\n`;
    expect(start(text, { runtime: "deno" })).toBeUndefined();
  });

  test("a bad mail address names its path", () => {
    const e = start(
      "channels:\n  mail: { type: email, from: nobody, to: [b@example.com], smtp: { host: h } }\n",
    );
    expect(e?.issues).toEqual([{ path: "channels.mail.from", message: '"nobody" is not a mail address' }]);
    // The path once, not "channels: channels.mail.from" as check-config printed it.
    expect(e?.message).toBe('channels.mail.from: "nobody" is not a mail address');
  });

  test("an unknown built-in template and a custom template in a format the channel cannot show", () => {
    const e = start(`channels:
  a: { type: console, template: alert-fancy }
  b: { type: dingtalk, webhook: "https://oapi.dingtalk.com/robot/send?access_token=t", template: page }
templates:
  page: { format: html, title: t, body: "<p>{{count}}</p>" }
`);
    expect(e?.issues.map((i) => i.path)).toEqual(["channels.a.template", "channels.b.template"]);
    expect(e?.issues[1].message).toContain(
      'template "page" is html; a dingtalk channel shows markdown or text',
    );
  });

  test("a template that does not parse names its path", () => {
    const e = start('templates:\n  broken: { title: "{{#a}}", body: ok }\n');
    expect(e?.issues[0].path).toBe("templates.broken.title");
  });

  test("an unknown time zone is refused", () => {
    expect(start("worker: { timezone: Mars/Olympus }\n")?.issues[0].path).toBe("worker.timezone");
  });
});
