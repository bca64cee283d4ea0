/** `alertagent-worker plan [--target NAME]`: the diff per target, a bad --target, no rule set, a source that is down. */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { main } from "../../src/cli/main.ts";
import { nodeFileAccess } from "../../src/entry/node-fs.ts";
import { nodeDial } from "../../src/entry/node-net.ts";
import { bunSqlite } from "../../src/entry/sqlite-bun.ts";
import { tcpStore } from "../../src/store/redis.ts";
import { exitCode, fakePlatform } from "../support/fake-platform.ts";
import { redisForTest, tempDir } from "../support/peers.ts";
import { makeSyncHarness } from "../support/sync-harness.ts";
import { sampleRules } from "../support/sync-rules.ts";

const source = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json(sampleRules()) });
afterAll(() => source.stop(true));

const config = (withSource: boolean) => `
worker: { public_url: "https://worker.example.com" }
qstash: { current_signing_key: sig_a, next_signing_key: sig_b, token: qstash-secret-token }
config_sync:
  ${withSource ? `source: { url: "http://127.0.0.1:${source.port}/rules" }` : ""}
  targets:
    prom: { kind: prometheus, delivery: { type: file, path: /tmp/never-written.yml } }
    am: { kind: alertmanager, delivery: { type: file, path: /tmp/never-written-am.yml } }
`;

describe("alertagent-worker plan [--target NAME]", () => {
  test("prints, per target, what a full sync from config_sync.source would change", async () => {
    const f = fakePlatform({ "/w.yaml": config(true) });
    expect(await exitCode(main(["plan", "--config", "/w.yaml"], f.p))).toBe(0);
    const out = f.stdout();
    expect(out).toStartWith("# rule set from config_sync.source: 3 rules\n");
    expect(out).toMatch(
      /^# prom \(prometheus, file\): 3 rules; changes: version 0 → 1, sha256:[0-9a-f]{64}$/m,
    );
    expect(out).toContain("--- prom (nothing applied yet)\n+++ prom v1 (planned)\n");
    expect(out).toContain('+      - alert: "HighCPU"');
    expect(out).toMatch(/^# am \(alertmanager, file\): 3 rules; changes/m);
    expect(out).not.toContain("qstash-secret-token");
    expect(f.stderr()).toContain("store.kind memory: nothing is recorded as applied");
  });

  test("--target limits the plan to one target; an unknown one is a usage error", async () => {
    const f = fakePlatform({ "/w.yaml": config(true) });
    expect(await exitCode(main(["plan", "--config", "/w.yaml", "--target", "am"], f.p))).toBe(0);
    expect(f.stdout()).not.toContain("# prom");
    const g = fakePlatform({ "/w.yaml": config(true) });
    expect(await exitCode(main(["plan", "--config", "/w.yaml", "--target=nope"], g.p))).toBe(2);
    expect(g.stderr()).toBe('alertagent-worker: --target: config_sync target "nope" not found\n');
  });

  test("without a source and with a memory store: exit 0, no rules yet and nothing applied per target", async () => {
    const f = fakePlatform({ "/w.yaml": config(false) });
    expect(await exitCode(main(["plan", "--config", "/w.yaml"], f.p))).toBe(0);
    expect(f.stdout()).toBe(
      "# no rules yet: store.kind memory, so the store holds no rule set, and config_sync.source is not set\n" +
        "# am (alertmanager, file): nothing applied yet; nothing to apply\n" +
        "# prom (prometheus, file): nothing applied yet; nothing to apply\n",
    );
    expect(f.stderr()).toContain("to plan a rule set, set config_sync.source");
    const g = fakePlatform({ "/w.yaml": config(false) });
    expect(await exitCode(main(["plan", "--config", "/w.yaml", "--target", "nope"], g.p))).toBe(2);
  });

  test("on the SQLite default, a store file not made yet is left unmade: planned as empty, and serve's first start still creates it", async () => {
    const dir = tempDir();
    const db = `${dir}/data/alertagent.db`;
    try {
      const yaml = (withSource: boolean) => `${config(withSource)}store: { path: "${db}" }\n`;
      const f = fakePlatform({ "/w.yaml": yaml(false) });
      f.p.openSqlite = bunSqlite;
      f.p.fs = nodeFileAccess;
      expect(await exitCode(main(["plan", "--config", "/w.yaml"], f.p))).toBe(0);
      expect(f.stdout()).toStartWith(
        `# no rules yet: store.path ${db} does not exist yet, so the store holds no rule set, and config_sync.source is not set\n`,
      );
      const g = fakePlatform({ "/w.yaml": yaml(true) });
      g.p.openSqlite = bunSqlite;
      g.p.fs = nodeFileAccess;
      expect(await exitCode(main(["plan", "--config", "/w.yaml"], g.p))).toBe(0);
      expect(g.stdout()).toContain("--- prom (nothing applied yet)");
      expect(g.stderr()).toContain(
        `note: store.path ${db} does not exist yet: nothing is recorded as applied`,
      );
      expect(existsSync(db)).toBe(false);
      // Once a worker made it, plan reads it (and says nothing of an empty store).
      bunSqlite(db).close();
      const h = fakePlatform({ "/w.yaml": yaml(true) });
      h.p.openSqlite = bunSqlite;
      h.p.fs = nodeFileAccess;
      expect(await exitCode(main(["plan", "--config", "/w.yaml"], h.p))).toBe(0);
      expect(h.stderr()).not.toContain("nothing is recorded as applied");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a source that is down is a runtime failure naming it", async () => {
    const f = fakePlatform({
      "/w.yaml": config(true).replace(`127.0.0.1:${source.port}`, "127.0.0.1:9"),
    });
    expect(await exitCode(main(["plan", "--config", "/w.yaml"], f.p))).toBe(1);
    expect(f.stderr()).toContain(
      "fetching the rule set from config_sync.source: cannot reach http://127.0.0.1:9/rules",
    );
  });
});

describe("plan against what a serving worker applied, through the shared store", () => {
  test("a target the worker synced shows no changes; a target it left out shows its diff", async () => {
    const redis = await redisForTest();
    const prefix = `test:plan:${Date.now().toString(36)}:`;
    const dir = tempDir();
    const targets = `
config_sync:
  targets:
    prom: { kind: prometheus, delivery: { type: file, path: "${dir}/p.yml" } }
    am: { kind: alertmanager, delivery: { type: file, path: "${dir}/a.yml" } }
`;
    const store = tcpStore({ url: redis.url, prefix, dial: nodeDial });
    try {
      const worker = makeSyncHarness(targets, { store });
      expect(
        (await worker.sync({ operation: "create", rules: sampleRules(), targets: ["prom"] })).status,
      ).toBe(200);
      const f = fakePlatform({
        "/w.yaml": `qstash: { current_signing_key: sig_a, next_signing_key: sig_b, token: t }
worker: { public_url: "https://worker.example.com" }
store: { kind: redis, url: "${redis.url}", prefix: "${prefix}" }
${targets}`,
      });
      expect(await exitCode(main(["plan", "--config", "/w.yaml"], f.p))).toBe(0);
      const out = f.stdout();
      expect(out).toStartWith("# rule set from store: 3 rules\n");
      expect(out).toMatch(
        /^# prom \(prometheus, file\): 3 rules; no changes \(version 1, sha256:[0-9a-f]{64}\)$/m,
      );
      expect(out).toMatch(/^# am \(alertmanager, file\): 3 rules; changes: version 0 → 1/m);
      expect(out).toContain("+++ am v1 (planned)");
      expect(out).not.toContain("+++ prom");
    } finally {
      await store.close();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
