import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, parsePort, parseQueues, UsageError } from "../../src/cli/args.ts";
import { main } from "../../src/cli/main.ts";
import { routeUnder } from "../../src/cli/publish.ts";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { bunSqlite } from "../../src/entry/sqlite-bun.ts";
import { signRequest } from "../../src/qstash/sign.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { exitCode, fakePlatform, laterExit } from "../support/fake-platform.ts";
import { failureCallback } from "../support/harness.ts";
import { startQuotingPeer } from "../support/quoting-peer.ts";

const KEYS = "qstash: { current_signing_key: sig_live_cur_s3cret, next_signing_key: sig_live_next_s3cret }\n";

describe("argument parsing", () => {
  test("the old Go-style flags work verbatim", () => {
    const a = parseArgs(["-name=ai-worker-1", "-type=ai-analysis", "-concurrency=2", "-queues=ai_analysis"]);
    expect(a.command).toBe("serve");
    expect(a.flags).toEqual({
      name: "ai-worker-1",
      type: "ai-analysis",
      concurrency: "2",
      queues: "ai_analysis",
    });
    expect(parseQueues("ai_analysis,notification,config_sync")).toEqual([
      "analysis",
      "notification",
      "config-sync",
    ]);
  });

  test("--flag value, --flag=value, subcommands and positionals", () => {
    const a = parseArgs(["publish", "failure", "job.json", "--to", "http://x:1", "--qstash"]);
    expect(a).toMatchObject({
      command: "publish",
      positionals: ["failure", "job.json"],
      flags: { to: "http://x:1" },
      qstash: true,
    });
  });

  test("an argument a command does not take is refused, naming --config for a file (serve /etc/w.yaml ran the embedded default)", () => {
    expect(() => parseArgs(["serve", "/etc/alertagent/worker.yaml"])).toThrow(
      'serve: unexpected argument "/etc/alertagent/worker.yaml" (a config goes after --config: --config /etc/alertagent/worker.yaml)',
    );
    expect(() => parseArgs(["check-config", "examples/worker.yaml"])).toThrow("unexpected argument");
    expect(() => parseArgs(["run", "notification", "a.json", "b.json"])).toThrow(
      'run: unexpected argument "b.json"',
    );
    expect(parseArgs(["run", "notification", "a.json"]).positionals).toEqual(["notification", "a.json"]);
  });

  test("a port is digits: ' ', 0x50 and 1e3 are refused (they read as 0, 80 and 1000)", () => {
    for (const port of [" ", "0x50", "1e3", "65536"])
      expect(() => parsePort(port)).toThrow("is not a port number");
    expect(parsePort("8081")).toBe(8081);
  });

  test("unknown flags and commands are usage errors", () => {
    expect(() => parseArgs(["--nope"])).toThrow(UsageError);
    expect(() => parseArgs(["frobnicate"])).toThrow(UsageError);
    expect(() => parseQueues("emails")).toThrow(/unknown job family/);
  });
});

describe("exit codes and messages", () => {
  test("--version and --help exit 0", async () => {
    const f = fakePlatform();
    expect(await exitCode(main(["--version"], f.p))).toBe(0);
    expect(f.stdout()).toMatch(/^alertagent-worker \d+\.\d+\.\d+/);
    const g = fakePlatform();
    expect(await exitCode(main(["--help"], g.p))).toBe(0);
    expect(g.stdout()).toContain("check-config");
  });

  test("a usage error exits 2 with a one-line reason", async () => {
    const f = fakePlatform();
    expect(await exitCode(main(["--port", "eighty"], f.p))).toBe(2);
    expect(f.stderr().trim().split("\n")).toHaveLength(1);
    expect(f.stderr()).toContain("--port");
  });

  test("a bad config exits 2 naming the path", async () => {
    const f = fakePlatform({ "w.yaml": `${KEYS}worker: { port: -1 }\n` });
    expect(await exitCode(main(["check-config", "--config", "w.yaml"], f.p))).toBe(2);
    expect(f.stderr()).toContain("worker.port");
  });

  test("check-config refuses what serve refuses after the schema (a template that does not parse, a channel's format, a time zone), naming each key", async () => {
    const yaml = `${KEYS}worker: { timezone: Asia/Shanghia }
templates:
  bad: { title: "{{#x}}", body: "b" }
channels:
  s: { type: slack, webhook: "https://hooks.slack.com/services/T/B/x", format: html }
`;
    const f = fakePlatform({ "w.yaml": yaml });
    expect(await exitCode(main(["check-config", "--config", "w.yaml"], f.p))).toBe(2);
    for (const key of ["worker.timezone", "templates.bad.title", "channels.s.format"])
      expect(f.stderr()).toContain(key);
    expect(f.stdout()).not.toContain("valid");
    // serve refuses the same config.
    const s = fakePlatform({ "w.yaml": yaml });
    expect(await exitCode(main(["serve", "--config", "w.yaml", "--port", "0"], s.p))).toBe(2);
    const w = fakePlatform({ "w.yaml": yaml });
    expect(await exitCode(main(["check-config", "--config", "w.yaml", "--workers"], w.p))).toBe(2);
    expect(w.stderr()).toContain("templates.bad.title");
  });

  test("a missing config file exits 2", async () => {
    const f = fakePlatform();
    expect(await exitCode(main(["--config", "nope.yaml"], f.p))).toBe(2);
    expect(f.stderr()).toContain("nope.yaml");
  });

  test("the dev keys are refused off loopback", async () => {
    const f = fakePlatform();
    expect(await exitCode(main(["--host", "0.0.0.0"], f.p))).toBe(2);
    expect(f.stderr()).toContain("public local-development signing keys");
  });
});

/** check-config's `# warning:` lines for a valid config. */
async function checkWarnings(yaml: string): Promise<string[]> {
  const f = fakePlatform({ "w.yaml": yaml });
  expect(await exitCode(main(["check-config", "--config", "w.yaml"], f.p))).toBe(0);
  return f
    .stdout()
    .split("\n")
    .filter((l) => l.startsWith("# warning:"));
}

describe("check-config", () => {
  test("prints the normalised config with every secret masked", async () => {
    const f = fakePlatform(
      {
        "w.yaml": `${KEYS}worker: { admin_token: "\${ADMIN}" }\nstore: { kind: upstash, url: https://eu1.upstash.io, token: upst4sh-t0ken }\n`,
      },
      { ADMIN: "adm1n-from-env" },
    );
    expect(await exitCode(main(["check-config", "--config", "w.yaml"], f.p))).toBe(0);
    const out = f.stdout();
    expect(out).toContain("valid");
    expect(out).toContain("concurrency: 64");
    for (const s of ["sig_live_cur_s3cret", "sig_live_next_s3cret", "adm1n-from-env", "upst4sh-t0ken"])
      expect(out).not.toContain(s);
  });

  test("an Alertmanager target without worker.public_url or qstash.token: valid, with a warning naming both (and at start)", async () => {
    const yaml = `${KEYS}config_sync:\n  targets:\n    am: { kind: alertmanager, delivery: { type: http, url: "http://am.test/api" } }\n`;
    const warnings = await checkWarnings(yaml);
    expect(warnings).toEqual([
      expect.stringMatching(/^# warning: worker\.public_url is needed by the Alertmanager target "am"/),
      expect.stringMatching(/^# warning: qstash\.token is needed by the Alertmanager target "am"/),
    ]);
    const s = fakePlatform({ "w.yaml": yaml });
    await main(["serve", "--config", "w.yaml", "--port", "0"], s.p);
    expect(s.stdout()).toMatch(/"level":"warn","msg":"config warning",.*"path":"worker\.public_url"/);
  });

  test("a retention shorter than QStash's retries: valid, with a warning (a late retry would run the job again)", async () => {
    const yaml = `${KEYS}store: { kind: memory, retention: 5m }\nchannels:\n  h: { type: webhook, url: "http://h.test/", dedup_window: 10m }\n`;
    expect(await checkWarnings(yaml)).toEqual([
      expect.stringMatching(/^# warning: store\.retention is 5 minutes: .*QStash.*run again/),
    ]);
    expect(await checkWarnings(`${KEYS}store: { kind: memory }\n`)).toEqual([]);
  });

  test("flow-control keys pinning more than one instance takes, for the families it mounts, and a period without rate: valid, with a warning", async () => {
    const flow = (concurrency: number, type = "general") =>
      `${KEYS.replace(" }\n", ",\n  flow_control: { notification: { key: aa-notify }, analysis: { key: aa-an, parallelism: 4, period: 1m } } }\n")}worker: { concurrency: ${concurrency}, type: ${type} }\n`;
    expect(await checkWarnings(flow(2))).toEqual([
      expect.stringMatching(/^# warning: qstash\.flow_control\.analysis\.period does nothing without rate/),
      expect.stringMatching(
        /^# warning: qstash\.flow_control pins 104 deliveries at once for this worker's families \(analysis 4, notification 100 \(max: parallelism unset\)\) but one instance takes 2 .* run 52 instances/,
      ),
    ]);
    // An analysis worker does not take notifications: only its own key counts (4 ≤ 8).
    expect(await checkWarnings(flow(8, "ai-analysis"))).toEqual([
      expect.stringMatching(/period does nothing without rate/),
    ]);
  });

  test("mentions WeCom markdown drops and an SMTP password sent in clear: valid, with a warning naming each", async () => {
    const yaml = `${KEYS}templates:
  short: { title: "{{group_name}}", body: "{{count}} alerts" }
  plain: { format: text, title: "{{group_name}}", body: "{{count}} alerts" }
channels:
  wx: { type: wecom, webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", mentioned_list: [zhangsan, "@all"], mentioned_mobile_list: ["13800001111"] }
  wx2: { type: wecom, webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k2", msgtype: markdown_v2, mentioned_list: [lisi] }
  wx3: { type: wecom, webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k3", msgtype: text, mentioned_list: ["@all"], mentioned_mobile_list: ["13800001111"] }
  wx4: { type: wecom, webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k4", msgtype: text, format: markdown, mentioned_mobile_list: ["13800001111"] }
  wx5: { type: wecom, webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k5", msgtype: text, template: short, mentioned_mobile_list: ["13800001111"] }
  wx6: { type: wecom, webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k6", template: plain, mentioned_mobile_list: ["13800001111"] }
  mail: { type: email, smtp: { host: relay.test, secure: none, user: alerts, pass: pw }, from: a@x.test, to: [b@x.test] }
`;
    const warnings = await checkWarnings(yaml);
    expect(warnings).toEqual([
      expect.stringMatching(/^# warning: channels\.wx\.mentioned_list "@all" mentions nobody/),
      expect.stringMatching(/^# warning: channels\.wx\.mentioned_mobile_list mentions nobody/),
      expect.stringMatching(/^# warning: channels\.wx2\.mentioned_list mentions nobody: WeCom's markdown_v2/),
      expect.stringMatching(
        /^# warning: channels\.wx4\.mentioned_mobile_list mentions nobody.* on markdown messages/,
      ),
      expect.stringMatching(
        /^# warning: channels\.wx5\.mentioned_mobile_list mentions nobody.* on markdown messages/,
      ),
      expect.stringMatching(/^# warning: channels\.mail\.smtp\.secure is none while smtp\.user is set/),
    ]);
  });

  test("--workers refuses what a Cloudflare Worker would (every route 503 config_error there), naming each key", async () => {
    const yaml = `${KEYS}store: { kind: redis, url: "redis://127.0.0.1:6379" }
channels:
  mail: { type: email, smtp: { host: relay.test, secure: none }, from: a@x.test, to: [b@x.test] }
config_sync:
  targets:
    prom: { kind: prometheus, delivery: { type: file, path: /etc/prometheus/rules/alertagent.yml } }
`;
    const f = fakePlatform({ "w.yaml": yaml });
    expect(await exitCode(main(["check-config", "--config", "w.yaml"], f.p))).toBe(0);
    const w = fakePlatform({ "w.yaml": yaml });
    expect(await exitCode(main(["check-config", "--config", "w.yaml", "--workers"], w.p))).toBe(2);
    const err = w.stderr();
    expect(err).toContain("Cloudflare Workers would refuse this config");
    expect(err).toContain("config_sync target prom: a file delivery needs a file system");
    expect(err).toContain("store.kind: redis (TCP) is not available on Cloudflare Workers");
    expect(err).toContain("channels.mail.smtp.port");
    const ok = fakePlatform({
      "w.yaml": `${KEYS}store: { kind: upstash, url: "https://eu1.upstash.io", token: t0k }
`,
    });
    expect(await exitCode(main(["check-config", "--config", "w.yaml", "--workers"], ok.p))).toBe(0);
    expect(ok.stdout()).not.toContain("# warning: store.kind");
    // Without a store section a Worker runs a memory store per isolate: valid, said.
    const bare = fakePlatform({ "w.yaml": KEYS });
    expect(await exitCode(main(["check-config", "--config", "w.yaml", "--workers"], bare.p))).toBe(0);
    expect(bare.stdout()).toMatch(
      /# warning: store\.kind is unset: on Workers that is a memory store per isolate/,
    );
    // As the Worker runs it: its figures always summed in the store.
    expect(ok.stdout()).toContain("metrics: store");
  });

  test("reads ALERTAGENT_CONFIG when there is no --config", async () => {
    const f = fakePlatform({}, { ALERTAGENT_CONFIG: `${KEYS}worker: { name: from-env }\n` });
    expect(await exitCode(main(["check-config"], f.p))).toBe(0);
    expect(f.stdout()).toContain("name: from-env");
  });
});

describe("files the runtime may not write (Deno's --allow-write)", () => {
  const CONFIG = `${KEYS}store: { kind: sqlite, path: /var/lib/alertagent/a.db }
config_sync:
  targets:
    prom: { kind: prometheus, delivery: { type: file, path: /etc/prometheus/rules/a.yml } }
    local: { kind: prometheus, delivery: { type: file, path: ./data/rules/a.yml } }
`;
  const onlyData = (file: string) => file.startsWith("./data/");

  for (const argv of [["check-config"], ["serve"], ["run", "failure", "job.json"]]) {
    test(`${argv[0]} exits 2 naming every such file's key, and only those`, async () => {
      const f = fakePlatform({ "w.yaml": CONFIG, "job.json": JSON.stringify(failureCallback("msg_w")) });
      f.p.mayWrite = onlyData;
      expect(await exitCode(main([...argv, "--config", "w.yaml"], f.p))).toBe(2);
      const err = f.stderr();
      expect(err).toContain("store.path: /var/lib/alertagent/a.db");
      expect(err).toContain("config_sync.targets.prom.delivery.path: /etc/prometheus/rules/a.yml");
      expect(err).not.toContain("targets.local");
      expect(err).toContain("--allow-write");
      expect(f.stdout()).toBe("");
    });
  }

  test("a runtime that restricts nothing (no mayWrite), or one that allows the files, takes the config", async () => {
    const f = fakePlatform({ "w.yaml": CONFIG });
    expect(await exitCode(main(["check-config", "--config", "w.yaml"], f.p))).toBe(0);
    const g = fakePlatform({ "w.yaml": CONFIG });
    g.p.mayWrite = () => true;
    expect(await exitCode(main(["check-config", "--config", "w.yaml"], g.p))).toBe(0);
  });

  test("a SIGHUP to a config naming such a file is refused and the old config stays", async () => {
    const f = fakePlatform({ "w.yaml": `${KEYS}worker: { name: first }\nstore: { kind: memory }\n` });
    f.p.mayWrite = onlyData;
    await main(["--config", "w.yaml"], f.p);
    f.files["w.yaml"] =
      `${CONFIG.replace(/store: .*\n/, "store: { kind: memory }\n")}worker: { name: second }\n`;
    f.signal("SIGHUP");
    await Bun.sleep(20);
    expect(((await (await f.fetch("/health")).json()) as { name: string }).name).toBe("first");
    expect(f.stdout()).toContain("config reload refused");
    expect(f.stdout()).toContain("config_sync.targets.prom.delivery.path");
  });
});

describe("run", () => {
  test("runs one job in-process and prints the result", async () => {
    const f = fakePlatform({ "job.json": JSON.stringify(failureCallback("msg_run")) });
    expect(await exitCode(main(["run", "failure", "job.json"], f.p))).toBe(0);
    expect(JSON.parse(f.stdout())).toMatchObject({ recorded: true, source_message_id: "msg_run" });
  });

  test("a bad job exits 1 and prints the problem", async () => {
    const f = fakePlatform({ "job.json": "{}" });
    expect(await exitCode(main(["run", "failure", "job.json"], f.p))).toBe(1);
    expect(JSON.parse(f.stdout())).toMatchObject({ error: { code: "invalid_payload" } });
  });
});

describe("serve", () => {
  test("applies command-line overrides and mounts only the named families", async () => {
    const f = fakePlatform();
    expect(
      await exitCode(
        main(["-name=ai-worker-1", "-type=ai-analysis", "-concurrency=2", "-queues=failure"], f.p),
      ),
    ).toBeUndefined();
    const health = (await (await f.fetch("/health")).json()) as Record<string, unknown>;
    expect(health).toMatchObject({
      name: "ai-worker-1",
      type: "ai-analysis",
      concurrency: 2,
      families: ["failure"],
    });
    expect(f.stdout()).toContain('"msg":"listening"');
  });

  test("the public dev keys answer only requests addressed to this machine (a DNS-rebinding page's Host is refused)", async () => {
    const f = fakePlatform();
    await main(["serve"], f.p);
    const body = JSON.stringify(failureCallback("src_rebind"));
    const post = async (host: string, id: string) =>
      f.fetch(`http://${host}/jobs/failure`, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "upstash-message-id": id,
          "upstash-signature": await signRequest({
            key: DEV_SIGNING_KEYS.current,
            url: `http://${host}/jobs/failure`,
            body,
          }),
        },
      });
    const rebound = await post("rebind.attacker.example:8081", "msg_rebind_1");
    expect(rebound.status).toBe(401);
    expect(((await rebound.json()) as { error: { code: string } }).error.code).toBe("dev_keys_local_only");
    expect((await post("localhost:8081", "msg_rebind_2")).status).toBe(200);
    expect((await post("127.0.0.1:8081", "msg_rebind_3")).status).toBe(200);
  });

  test("-queues=ai_analysis mounts analysis and keeps the failure callback route", async () => {
    const f = fakePlatform();
    await main(["-type=ai-analysis", "-queues=ai_analysis"], f.p);
    const health = (await (await f.fetch("/health")).json()) as { families: string[] };
    expect(health.families).toEqual(["analysis", "failure"]);
    const res = await f.fetch("/jobs/failure", { method: "POST", body: "{}" });
    expect(res.status).toBe(401);
    expect((await f.fetch("/jobs/notification", { method: "POST", body: "{}" })).status).toBe(404);
  });

  test("after SIGHUP the log lines carry the new worker.name", async () => {
    const f = fakePlatform({ "w.yaml": `${KEYS}worker: { name: before }\n` });
    await main(["--config", "w.yaml"], f.p);
    f.files["w.yaml"] = `${KEYS}worker: { name: after }\n`;
    f.signal("SIGHUP");
    await Bun.sleep(20);
    await f.fetch("/jobs/failure", { method: "POST", body: "{}" });
    await Bun.sleep(20);
    const last = f.stdout().trim().split("\n").at(-1) ?? "";
    expect(JSON.parse(last)).toMatchObject({ msg: "job answered", name: "after" });
  });

  test("a SIGHUP to a config serve refuses (a time zone) changes nothing: not the concurrency, nor the name in the lines", async () => {
    const f = fakePlatform({ "w.yaml": `${KEYS}worker: { name: first }\nstore: { kind: memory }\n` });
    await main(["--config", "w.yaml"], f.p);
    f.files["w.yaml"] =
      `${KEYS}worker: { name: refused-one, concurrency: 1, timezone: Mars/Phobos }\nstore: { kind: memory }\n`;
    f.signal("SIGHUP");
    await Bun.sleep(20);
    const health = (await (await f.fetch("/health")).json()) as { name: string; concurrency: number };
    expect([health.name, health.concurrency]).toEqual(["first", 64]);
    const refusedLine = f
      .stdout()
      .split("\n")
      .find((l) => l.includes("config reload refused"));
    expect(refusedLine).toContain("Mars/Phobos");
    expect(JSON.parse(refusedLine ?? "{}").name).toBe("first");
  });

  test("after a SIGHUP that renames the worker, /metrics has one alertagent_worker_info series, the new one", async () => {
    const f = fakePlatform({ "w.yaml": `${KEYS}worker: { name: before }\n` });
    await main(["--config", "w.yaml"], f.p);
    await f.fetch("/metrics");
    f.files["w.yaml"] = `${KEYS}worker: { name: after }\n`;
    f.signal("SIGHUP");
    await Bun.sleep(20);
    const info = (await (await f.fetch("/metrics")).text())
      .split("\n")
      .filter((l) => l.startsWith("alertagent_worker_info{"));
    expect(info).toHaveLength(1);
    expect(info[0]).toContain('name="after"');
  });

  test("SIGHUP to another store.path: the reload line names the file and that it held no store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "alertagent-hup-"));
    const cfg = (file: string) => `${KEYS}store: { kind: sqlite, path: "${join(dir, file)}" }\n`;
    const f = fakePlatform({ "w.yaml": cfg("a.db") });
    f.p.openSqlite = bunSqlite;
    await main(["--config", "w.yaml"], f.p);
    const lines = () =>
      f
        .stdout()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines().find((l) => l.msg === "listening")).toMatchObject({
      store: "sqlite",
      store_path: join(dir, "a.db"),
      store_created: true,
    });
    f.files["w.yaml"] = cfg("b.db");
    f.signal("SIGHUP");
    await Bun.sleep(50);
    // Messages answered before would run again on it: said where an operator looks.
    expect(lines().find((l) => l.msg === "config reloaded")).toMatchObject({
      store: "sqlite",
      store_path: join(dir, "b.db"),
      store_created: true,
    });
    // A reload that keeps that store opened nothing: it says so, not what the last opening found.
    f.files["w.yaml"] = `${cfg("b.db")}worker: { name: renamed }\n`;
    f.signal("SIGHUP");
    await Bun.sleep(50);
    expect(
      lines()
        .filter((l) => l.msg === "config reloaded")
        .at(-1),
    ).toMatchObject({
      store_path: join(dir, "b.db"),
      store_created: false,
    });
  });

  test("SIGHUP swaps in a new config; a bad one is refused and the old stays", async () => {
    const f = fakePlatform({ "w.yaml": `${KEYS}worker: { name: first }\n` });
    await main(["--config", "w.yaml"], f.p);
    f.files["w.yaml"] = `${KEYS}worker: { name: second }\n`;
    f.signal("SIGHUP");
    await Bun.sleep(20);
    expect(((await (await f.fetch("/health")).json()) as { name: string }).name).toBe("second");
    f.files["w.yaml"] = `${KEYS}worker: { name: 3, bogus: true }\n`;
    f.signal("SIGHUP");
    await Bun.sleep(20);
    expect(((await (await f.fetch("/health")).json()) as { name: string }).name).toBe("second");
    expect(f.stdout()).toContain("config reload refused");
  });

  describe("SIGHUP while a notification is being sent", () => {
    const send = async (f: ReturnType<typeof fakePlatform>, body: string, retried: number) => {
      const signature = await signRequest({
        key: "sig_live_cur_s3cret",
        url: "http://127.0.0.1/jobs/notification",
        body,
      });
      const res = await f.fetch("/jobs/notification", {
        method: "POST",
        body,
        headers: {
          "upstash-signature": signature,
          "upstash-message-id": "msg_hup",
          "upstash-retried": String(retried),
          "content-type": "application/json",
        },
      });
      return { status: res.status, replay: res.headers.get("x-idempotent-replay") };
    };
    const setup = (sendMs = 800) => {
      let hits = 0;
      const hook = Bun.serve({
        port: 0,
        async fetch() {
          hits++;
          await Bun.sleep(sendMs);
          return new Response("ok");
        },
      });
      const dir = mkdtempSync(join(tmpdir(), "alertagent-hup-"));
      const config = (store: string) => `${KEYS}worker: { shutdown_timeout: 100ms }
store: { kind: sqlite, ${store} }
channels:
  hook: { type: webhook, url: "http://127.0.0.1:${hook.port}/x", timeout: 10s }
`;
      const body = JSON.stringify({
        channels: ["hook"],
        alerts: [
          { id: "a1", status: "firing", labels: { alertname: "Hup" }, startsAt: "2026-12-04T00:00:00Z" },
        ],
      });
      return { hook, dir, config, body, hits: () => hits };
    };

    test("a second Ctrl-C exits at once (130), the job still running abandoned and said so; the first waits, and so does one a millisecond after it (deno task passes the terminal's on)", async () => {
      const { hook, dir, config, body } = setup(3_000);
      const f = fakePlatform({
        "w.yaml": config(`path: ${join(dir, "a.db")}`).replace(
          "shutdown_timeout: 100ms",
          "shutdown_timeout: 30s",
        ),
      });
      f.p.openSqlite = bunSqlite;
      const { exited, code } = laterExit(f.p);
      await main(["--config", "w.yaml"], f.p);
      void send(f, body, 0).catch(() => {});
      await Bun.sleep(100);
      f.signal("SIGINT");
      f.signal("SIGINT"); // the same key press, forwarded
      await Bun.sleep(1_100);
      expect(code()).toBeUndefined(); // the first one drains
      const started = performance.now();
      f.signal("SIGINT");
      await exited;
      expect(code()).toBe(130);
      expect(performance.now() - started).toBeLessThan(500); // the send takes 3 s
      expect(f.stdout()).toContain("second SIGINT: exiting without waiting");
      expect(f.stdout()).toContain('"abandoned":["msg_hup"]');
      hook.stop(true);
    });

    test("a change of retention only keeps the store: the send is recorded once, and its redelivery is a replay", async () => {
      const { hook, dir, config, body, hits } = setup();
      const f = fakePlatform({ "w.yaml": config(`path: ${join(dir, "a.db")}, retention: 7d`) });
      f.p.openSqlite = bunSqlite;
      await main(["--config", "w.yaml"], f.p);
      const first = send(f, body, 0);
      await Bun.sleep(200);
      f.files["w.yaml"] = config(`path: ${join(dir, "a.db")}, retention: 14d`);
      f.signal("SIGHUP");
      expect(await first).toEqual({ status: 200, replay: null });
      expect(await send(f, body, 1)).toEqual({ status: 200, replay: "true" });
      expect(hits()).toBe(1);
      hook.stop(true);
    });

    test("a new store is swapped in, and the old one is closed only after the send that holds its lease is recorded", async () => {
      const { hook, dir, config, body, hits } = setup();
      const f = fakePlatform({ "w.yaml": config(`path: ${join(dir, "a.db")}`) });
      f.p.openSqlite = bunSqlite;
      await main(["--config", "w.yaml"], f.p);
      const first = send(f, body, 0);
      await Bun.sleep(200);
      f.files["w.yaml"] = config(`path: ${join(dir, "b.db")}`);
      f.signal("SIGHUP");
      expect(await first).toEqual({ status: 200, replay: null });
      expect(hits()).toBe(1);
      // The old file has the record: a worker on it would replay the message.
      const old = new SqliteStore(bunSqlite(join(dir, "a.db")));
      expect(await old.get("job:msg_hup")).toMatchObject({ status: "succeeded" });
      await old.close();
      hook.stop(true);
    });
  });

  test("SIGTERM stops accepting, waits for in-flight jobs, exits 0", async () => {
    const f = fakePlatform();
    const { exited } = laterExit(f.p);
    await main([], f.p);
    f.signal("SIGTERM");
    expect(await exited).toBe(0);
    expect(f.stopped()).toBe(true);
    expect(f.stdout()).toContain('"msg":"stopped"');
  });
});

describe("publish", () => {
  test("--to with a path prefix and a query keeps both and puts the route after the prefix", () => {
    expect(routeUnder("http://h:1/prefix?x=1", "/jobs/failure")).toBe("http://h:1/prefix/jobs/failure?x=1");
    expect(routeUnder("http://h:1/prefix/", "/jobs/failure")).toBe("http://h:1/prefix/jobs/failure");
    expect(routeUnder("http://h:1", "/jobs/failure")).toBe("http://h:1/jobs/failure");
    expect(() => routeUnder("not a url", "/jobs/failure")).toThrow("is not a URL");
    expect(() => routeUnder("localhost:8081", "/jobs/failure")).toThrow(
      '--to: "localhost:8081" is not an http(s) URL (http://localhost:8081?)',
    );
  });

  test("--qstash publishes through QStash's API with the family's flow-control key", async () => {
    const { startFakeQstash } = await import("../support/fake-qstash.ts");
    const q = startFakeQstash("qs-token");
    try {
      const yaml = `${KEYS}worker: { public_url: "https://alerts.example.com" }
qstash: { current_signing_key: a, next_signing_key: b, token: qs-token, url: "${q.url}",
  flow_control: { notification: { key: alertagent-notification, parallelism: 20, rate: 100, period: 1m } } }
`.replace(KEYS, "");
      const f = fakePlatform({ "w.yaml": yaml, "job.json": '{"channels":["console"]}' });
      expect(
        await exitCode(
          main(
            [
              "publish",
              "notification",
              "job.json",
              "--qstash",
              "--config",
              "w.yaml",
              "--message-id",
              "job-42",
            ],
            f.p,
          ),
        ),
      ).toBe(0);
      expect(JSON.parse(f.stdout())).toMatchObject({
        published: true,
        message_id: "msg_1",
        destination: "https://alerts.example.com/jobs/notification",
      });
      expect(q.published[0].body).toBe('{"channels":["console"]}');
      expect(q.published[0].headers["upstash-flow-control-key"]).toBe("alertagent-notification");
      expect(q.published[0].headers["upstash-flow-control-value"]).toContain("parallelism=20");
      expect(q.published[0].headers["upstash-flow-control-value"]).toContain("rate=100");
      // When QStash gives up it says so to the worker; a publish retried after a lost answer is one job.
      expect(q.published[0].headers["upstash-failure-callback"]).toBe(
        "https://alerts.example.com/jobs/failure",
      );
      expect(q.published[0].headers["upstash-deduplication-id"]).toBe("job-42");
    } finally {
      q.stop();
    }
  });

  test("a direct publish signs public_url with the route and the query --to gave it, as QStash signs what it calls", async () => {
    let sub = "";
    const worker = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(req) {
        const jwt = req.headers.get("upstash-signature") ?? "";
        sub = JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString()).sub;
        return Response.json({ ok: true });
      },
    });
    try {
      const yaml = `${KEYS}worker: { public_url: "https://alerts.example.com" }\n`;
      const f = fakePlatform({ "w.yaml": yaml, "job.json": '{"alerts":[]}' });
      const to = `http://127.0.0.1:${worker.port}/?channels=console`;
      expect(
        await exitCode(main(["publish", "notification", "job.json", "--config", "w.yaml", "--to", to], f.p)),
      ).toBe(0);
      expect(sub).toBe("https://alerts.example.com/jobs/notification?channels=console");
    } finally {
      worker.stop(true);
    }
  });

  test("--qstash through a proxy that quotes the request in its refusal: the token is not printed", async () => {
    const token = "eyJVc2VySUQiOiJ/leak+qstash=";
    const proxy = startQuotingPeer(
      403,
      (req) =>
        `denied auth=${req.headers.get("authorization")} headers=${JSON.stringify(Object.fromEntries(req.headers))} q=${encodeURIComponent(token)}`,
    );
    try {
      const yaml = `worker: { public_url: "https://alerts.example.com" }
qstash: { current_signing_key: a, next_signing_key: b, token: "${token}", url: "${proxy.url}" }
`;
      const f = fakePlatform({ "w.yaml": yaml, "job.json": '{"channels":["console"]}' });
      expect(
        await exitCode(main(["publish", "notification", "job.json", "--qstash", "--config", "w.yaml"], f.p)),
      ).not.toBe(0);
      const said = f.stdout() + f.stderr();
      expect(said).toContain("denied auth=Bearer ********");
      for (const spelled of [token, encodeURIComponent(token), token.slice(0, 16)])
        expect(said).not.toContain(spelled);
    } finally {
      proxy.stop();
    }
  });

  test("--qstash without a public_url or --to is a usage error", async () => {
    const f = fakePlatform({ "w.yaml": `${KEYS}`, "job.json": "{}" });
    expect(
      await exitCode(main(["publish", "notification", "job.json", "--qstash", "--config", "w.yaml"], f.p)),
    ).toBe(2);
    expect(f.stderr()).toContain("public_url");
  });
});

describe("examples/worker.yaml", () => {
  test("is a valid config with every top-level key, and nothing in it to warn about", async () => {
    const f = fakePlatform({
      "w.yaml": await Bun.file(new URL("../../examples/worker.yaml", import.meta.url)).text(),
    });
    expect(await exitCode(main(["check-config", "--config", "w.yaml"], f.p))).toBe(0);
    for (const k of [
      "worker:",
      "qstash:",
      "store:",
      "ai:",
      "channels:",
      "templates:",
      "config_sync:",
      "failure:",
    ])
      expect(f.stdout()).toContain(`\n${k}`);
    // What users copy must not teach them what check-config then warns about.
    expect(f.stdout()).not.toContain("# warning:");
  });
});

describe("setup-qstash and self-rules", () => {
  test("setup-qstash applies the config through the QStash API and prints recipes without the token", async () => {
    const { startFakeQstash } = await import("../support/fake-qstash.ts");
    const q = startFakeQstash("qs-t0ken");
    q.setKey("aa-notify");
    try {
      const yaml = `worker: { public_url: "https://alerts.example.com" }
qstash: { current_signing_key: a, next_signing_key: b, token: qs-t0ken, url: "${q.url}",
  flow_control: { notification: { key: aa-notify, parallelism: 20 } },
  schedules: [ { id: aa-autoscale, cron: "* * * * *", route: /jobs/autoscale } ] }
`;
      const f = fakePlatform({ "w.yaml": yaml });
      expect(await exitCode(main(["setup-qstash", "--config", "w.yaml"], f.p))).toBe(0);
      expect(f.stdout()).toContain("# setup-qstash: changed (safe to run again)\n");
      expect(f.stdout()).toContain("#   flow control aa-notify: parallelism none → 20\n");
      expect(f.stdout()).toContain(
        "#   schedule aa-autoscale: * * * * * → https://alerts.example.com/jobs/autoscale",
      );
      const dry = fakePlatform({ "w.yaml": yaml });
      expect(
        await exitCode(main(["setup-qstash", "--config", "w.yaml", "--dry-run", "--reset"], dry.p)),
      ).toBe(0);
      expect(dry.stdout()).toContain("# setup-qstash --dry-run: would change");
      expect(f.stdout()).toContain("Upstash-Flow-Control-Key: aa-notify");
      expect(f.stdout()).toContain("webhook_configs");
      expect(f.stdout()).not.toContain("qs-t0ken");
      expect(q.schedules.get("aa-autoscale")?.destination).toBe("https://alerts.example.com/jobs/autoscale");
    } finally {
      q.stop();
    }
  });

  test("setup-qstash without a token is a config error (exit 2)", async () => {
    const f = fakePlatform({ "w.yaml": `${KEYS}worker: { public_url: "https://a.example.com" }\n` });
    expect(await exitCode(main(["setup-qstash", "--config", "w.yaml"], f.p))).toBe(2);
    expect(f.stderr()).toContain("qstash.token");
  });

  test("self-rules prints the rules, --tests their promtool tests", async () => {
    const f = fakePlatform();
    expect(await exitCode(main(["self-rules"], f.p))).toBe(0);
    expect(f.stdout()).toContain("alert: AlertAgentWorkerDown");
    const g = fakePlatform();
    expect(await exitCode(main(["self-rules", "--tests"], g.p))).toBe(0);
    expect(g.stdout()).toContain("rule_files:");
  });

  test.each([[[]], [["--job", "worker"]], [["--job", 'we"ird\\job']]])(
    "self-rules %j --tests names the file the rules go in; saved so, promtool passes them",
    async (job) => {
      const rules = fakePlatform();
      await exitCode(main(["self-rules", ...job], rules.p));
      const tests = fakePlatform();
      await exitCode(main(["self-rules", "--tests", ...job], tests.p));
      // The rules select the job Prometheus scrapes the worker under: alertagent-worker unless --job says.
      if (job[1] === "worker") expect(rules.stdout()).toContain('up{job="worker"} == 0');
      if (!job.length) expect(rules.stdout()).toContain('up{job="alertagent-worker"} == 0');
      const name = /save `self-rules` as (\S+) beside this file/.exec(tests.stdout())?.[1];
      expect(name).toBe("alertagent-self.rules.yml");
      expect(rules.stdout()).toStartWith(`# save as ${name} `);
      const dir = mkdtempSync(join(tmpdir(), "self-rules-cli-"));
      writeFileSync(join(dir, name!), rules.stdout());
      writeFileSync(join(dir, "tests.yml"), tests.stdout());
      const run = Bun.spawnSync(["promtool", "test", "rules", "tests.yml"], { cwd: dir });
      expect(run.stderr.toString() + run.stdout.toString()).toContain("SUCCESS");
      expect(run.exitCode).toBe(0);
    },
  );
});
