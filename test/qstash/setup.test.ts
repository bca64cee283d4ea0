import { afterAll, describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/load.ts";
import { qstashApi } from "../../src/qstash/management.ts";
import { alertmanagerReceiver, setupQstash } from "../../src/qstash/setup.ts";
import { startFakeQstash } from "../support/fake-qstash.ts";

const q = startFakeQstash("qs-token");
afterAll(() => q.stop());

const config = loadConfig(`
worker: { public_url: "https://alerts.example.com/" }
qstash:
  current_signing_key: a
  next_signing_key: b
  token: qs-token
  url: ${q.url}
  flow_control:
    analysis: { key: aa-analysis, parallelism: 4, min: 1, max: 16 }
    notification: { key: aa-notify, parallelism: 20, min: 5, max: 50, rate: 100, period: 1m }
  schedules:
    - { id: aa-full-sync, cron: "CRON_TZ=Asia/Shanghai */10 * * * *", route: /jobs/config-sync, body: { operation: full } }
    - { id: aa-autoscale, cron: "* * * * *", route: /jobs/autoscale }
`);

describe("setup-qstash", () => {
  test("a wrong qstash.url (every path '404 page not found') fails setup, not 'the first message sets it'", async () => {
    const wrong = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () => new Response("404 page not found", { status: 404 }),
    });
    try {
      const c = loadConfig(
        `worker: { public_url: "https://alerts.example.com" }
qstash: { current_signing_key: a, next_signing_key: b, token: qs-token, url: "http://127.0.0.1:${wrong.port}/wrong",
  flow_control: { notification: { key: aa-notify, parallelism: 20 } } }
`,
      );
      const err = await setupQstash(c, qstashApi(c)).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toContain("404 page not found");
    } finally {
      wrong.stop(true);
    }
  });

  test("an API answer quoting the request's Authorization back never shows the QStash token", async () => {
    const echo = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) =>
        new Response(`unauthorized: token ${req.headers.get("authorization")}`, { status: 401 }),
    });
    try {
      const token = "eyJVc2VySUQiOiJzZWNyZXQtdG9rZW4tdmFsdWUifQ==";
      const c = loadConfig(
        `qstash: { current_signing_key: a, next_signing_key: b, token: "${token}", url: "http://127.0.0.1:${echo.port}" }\n`,
      );
      const err = await qstashApi(c)
        .flowControl("aa-notify")
        .then(
          () => undefined,
          (e: Error) => e,
        );
      expect(err?.message).toContain("QStash API: reading flow-control key aa-notify failed");
      expect(err?.message).not.toContain(token);
      expect(err?.message).not.toContain("secret-token");
    } finally {
      echo.stop(true);
    }
  });

  test("on a fresh account (no key published yet) it pins each key, or, where QStash will not pin an unknown key, says the first message sets it", async () => {
    for (const mode of ["create", "not_found"] as const) {
      const fresh = startFakeQstash("qs-token", { pinUnknownKey: mode });
      try {
        const c = loadConfig(
          `worker: { public_url: "https://alerts.example.com" }
qstash: { current_signing_key: a, next_signing_key: b, token: qs-token, url: ${fresh.url},
  flow_control: { notification: { key: aa-notify, parallelism: 20 } } }
`,
        );
        const report = await setupQstash(c, qstashApi(c));
        const want = mode === "create" ? "pinned" : "first_message";
        expect(report.flow_control.map((f) => [f.key, f.action])).toEqual([["aa-notify", want]]);
        if (mode === "create") expect(fresh.keys.get("aa-notify")?.parallelismMax).toBe(20);
        else
          expect(report.changes.join("\n")).toContain(
            "the first message published under it sets parallelism 20",
          );
      } finally {
        fresh.stop();
      }
    }
  });

  test("creates schedules by their fixed ids and pins flow-control keys; running it twice creates nothing twice", async () => {
    q.setKey("aa-analysis");
    q.setKey("aa-notify");
    const api = qstashApi(config);
    const first = await setupQstash(config, api);
    const second = await setupQstash(config, api);
    expect(first.flow_control.map((f) => f.action)).toEqual(["pinned", "pinned"]);
    expect(second.flow_control.map((f) => [f.key, f.action, f.parallelism])).toEqual([
      ["aa-analysis", "kept", 4],
      ["aa-notify", "kept", 20],
    ]);
    expect(q.created()).toBe(2);
    const sync = q.schedules.get("aa-full-sync")!;
    expect(sync).toMatchObject({
      destination: "https://alerts.example.com/jobs/config-sync",
      cron: "CRON_TZ=Asia/Shanghai */10 * * * *",
      body: '{"operation":"full"}',
    });
    expect(q.keys.get("aa-analysis")).toMatchObject({ parallelismMax: 4, isPinnedParallelism: true });
    expect(q.keys.get("aa-notify")).toMatchObject({ parallelismMax: 20, rateMax: 100 });
    // A scheduled run QStash gives up on is reported to the worker, as a published job is.
    expect(sync.headers["upstash-failure-callback"]).toBe("https://alerts.example.com/jobs/failure");
  });

  test("QSTASH_DEV in the environment does not make the SDK ignore the configured URL and token", async () => {
    const before = process.env.QSTASH_DEV;
    process.env.QSTASH_DEV = "yes";
    try {
      q.setKey("aa-analysis", { parallelismMax: 7, isPinnedParallelism: true });
      expect(await qstashApi(config).flowControl("aa-analysis")).toMatchObject({ parallelism: 7 });
    } finally {
      if (before === undefined) delete process.env.QSTASH_DEV;
      else process.env.QSTASH_DEV = before;
    }
  });

  test("a flow-control state QStash reports in a shape it does not document is an error, not NaN", async () => {
    q.setKey("aa-analysis", { waitListSize: "lots" as never, parallelismMax: 4 });
    await expect(qstashApi(config).flowControl("aa-analysis")).rejects.toThrow(
      'waitListSize is "lots", not a count',
    );
    q.setKey("aa-analysis", { parallelismMax: 4 });
  });

  test("never undoes autoscale: a key it moved is kept, --reset pins it, --dry-run changes nothing", async () => {
    q.setKey("aa-analysis");
    q.setKey("aa-notify");
    const api = qstashApi(config);
    await setupQstash(config, api);
    await api.pin("aa-analysis", { parallelism: 8 }); // what autoscale does
    for (let i = 0; i < 2; i++) {
      const again = await setupQstash(config, api);
      // aa-notify has a rate in the config: it is kept in step, its parallelism untouched.
      expect(again.changes.filter((c) => c.startsWith("flow control"))).toEqual([
        "flow control aa-notify: rate 100/60s (parallelism kept at 20)",
      ]);
      expect(q.keys.get("aa-analysis")?.parallelismMax).toBe(8);
    }
    const dry = await setupQstash(config, api, { reset: true, dryRun: true });
    expect(dry.changes).toContain("flow control aa-analysis: parallelism 8 → 4");
    expect(q.keys.get("aa-analysis")?.parallelismMax).toBe(8);
    await setupQstash(config, api, { reset: true });
    expect(q.keys.get("aa-analysis")?.parallelismMax).toBe(4);
  });

  test("prints the publish recipe per family, with the flow-control headers and the failure callback", async () => {
    const { recipes } = await setupQstash(config, qstashApi(config));
    const n = recipes.find((r) => r.family === "notification")!;
    expect(n.publish_url).toBe(`${q.url}/v2/publish/https://alerts.example.com/jobs/notification`);
    expect(n.headers).toMatchObject({
      "Upstash-Flow-Control-Key": "aa-notify",
      "Upstash-Flow-Control-Value": "parallelism=20, rate=100, period=60s",
      "Upstash-Failure-Callback": "https://alerts.example.com/jobs/failure",
    });
    expect(JSON.stringify(recipes)).not.toContain("qs-token");
    expect(alertmanagerReceiver(config)).toContain(
      `url: ${q.url}/v2/publish/https://alerts.example.com/jobs/notification`,
    );
    // Commented: Alertmanager before 0.28 refuses http_headers.
    expect(alertmanagerReceiver(config)).toContain(
      '#   Upstash-Failure-Callback: { values: ["https://alerts.example.com/jobs/failure"] }',
    );
  });

  test("without worker.public_url it refuses, naming the key", async () => {
    const c = loadConfig(
      `qstash: { current_signing_key: a, next_signing_key: b, token: t, url: "${q.url}" }\n`,
    );
    await expect(setupQstash(c, qstashApi(c))).rejects.toThrow("worker.public_url");
  });
});
