/**
 * A file target's read-back goes by the file's path, against a running Prometheus: two targets
 * whose files share a name in two directories (rules split between them with a rule's `targets`)
 * each verify their own groups, and a target whose file the peer never loads is not verified by
 * another target's file of the same name — whether Prometheus lists its files by absolute paths
 * or, started with a relative --config.file, by paths relative to its directory.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { PEER_STOP_MS, type Peer, startPrometheus } from "../support/peers.ts";
import { makeSyncHarness } from "../support/sync-harness.ts";
import { rule } from "../support/sync-rules.ts";

type Body = {
  targets: { target: string; verified: boolean; verified_how: string }[];
  error?: { code: string };
};

/** A create of one rule to these `targets:` entries: the status and whether each target verified. */
async function syncSame(targets: string) {
  const res = await makeSyncHarness(`\nconfig_sync:\n  targets:\n${targets}`).sync({
    operation: "create",
    rules: [rule({ id: "a", name: "Same", group: "same" })],
  });
  const body = (await res.json()) as Partial<Body> & { error?: { details: Body } };
  const listed = body.targets ?? body.error?.details.targets ?? [];
  return { status: res.status, verified: Object.fromEntries(listed.map((t) => [t.target, t.verified])) };
}

for (const relative of [false, true])
  describe(relative ? "Prometheus listing relative paths" : "Prometheus listing absolute paths", () => {
    let prom: Peer & { rulesDir: string };
    beforeAll(async () => {
      prom = await startPrometheus({ ruleGlobs: ["east/*.yml", "west/*.yml", "loaded/*.yml"], relative });
    }, 60_000);
    afterAll(async () => {
      await prom?.stop();
    }, PEER_STOP_MS);

    test("two targets with files of one name in two loaded directories each verify their own groups", async () => {
      const target = (dir: string) =>
        `{ kind: prometheus, delivery: { type: file, path: "${join(prom.rulesDir, dir, "alertagent.yml")}", reload_url: "${prom.url}/-/reload" } }`;
      const h = makeSyncHarness(`
config_sync:
  targets:
    east: ${target("east")}
    west: ${target("west")}
`);
      const res = await h.sync({
        operation: "create",
        rules: [
          rule({ id: "e", name: "EastDown", group: "east", targets: ["east"] }),
          rule({ id: "w", name: "WestDown", group: "west", targets: ["west"] }),
        ],
      });
      const body = (await res.json()) as Body;
      expect(res.status).toBe(200);
      expect(body.targets.map((t) => [t.target, t.verified])).toEqual([
        ["east", true],
        ["west", true],
      ]);
    }, 60_000);

    test("…nor when the two targets spell the peer's URL differently (localhost, a trailing slash)", async () => {
      const { status, verified } = await syncSame(`
    loaded: { kind: prometheus, delivery: { type: file, path: "${join(prom.rulesDir, "loaded", "x.yml")}", reload_url: "${prom.url}/-/reload" } }
    typo: { kind: prometheus, delivery: { type: file, path: "${join(prom.rulesDir, "deeper", "typo", "x.yml")}", reload_url: "${prom.url.replace("127.0.0.1", "localhost")}/-/reload" }, verify: { timeout: 1s } }
    slash: { kind: prometheus, delivery: { type: file, path: "${join(prom.rulesDir, "deeper", "slash", "x.yml")}" }, verify: { url: "${prom.url}/", timeout: 1s } }
`);
      expect(status).toBe(503);
      expect(verified).toEqual({ loaded: true, typo: false, slash: false });
    }, 60_000);

    test("a target whose file the peer does not load is not verified by another target's file of the same name", async () => {
      const { status, verified } = await syncSame(`
    loaded: { kind: prometheus, delivery: { type: file, path: "${join(prom.rulesDir, "loaded", "x.yml")}", reload_url: "${prom.url}/-/reload" } }
    typo: { kind: prometheus, delivery: { type: file, path: "${join(prom.rulesDir, "deeper", "typo", "x.yml")}", reload_url: "${prom.url}/-/reload" }, verify: { timeout: 1s } }
`);
      expect(status).toBe(503);
      expect(verified).toEqual({ loaded: true, typo: false });
    }, 60_000);
  });

test("a target whose peer sees its file under another path (a container's mount) verifies by name, whatever another peer's target is called", async () => {
  // P1 loads <dir>/rules/*.yml; the worker writes <dir>/shared/alertagent.yml, which P1 sees as
  // rules/alertagent.yml through a symlink — as a container sees a host directory it mounts.
  const p1 = await startPrometheus({ relative: true });
  const p2 = await startPrometheus();
  try {
    const shared = join(p1.dir, "shared");
    rmSync(p1.rulesDir, { recursive: true, force: true });
    mkdirSync(shared);
    symlinkSync(shared, p1.rulesDir);
    const { status, verified } = await syncSame(`
    a: { kind: prometheus, delivery: { type: file, path: "${join(shared, "alertagent.yml")}", reload_url: "${p1.url}/-/reload" } }
    b: { kind: prometheus, delivery: { type: file, path: "${join(p2.rulesDir, "alertagent.yml")}", reload_url: "${p2.url.replace("127.0.0.1", "[::ffff:127.0.0.1]")}/-/reload" } }
`);
    expect(status).toBe(200);
    expect(verified).toEqual({ a: true, b: true });
  } finally {
    await Promise.all([p1.stop(), p2.stop()]);
  }
}, 60_000);
