/**
 * vmalert as Debian starts it, at its default -evaluationInterval (1m): an update to an existing
 * group is applied at that group's next evaluation, so the read-back must wait for it — and a
 * file vmalert accepted is never rolled back.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PEER_STOP_MS, type Peer, startVmalert } from "../support/peers.ts";
import { makeSyncHarness, type SyncHarness } from "../support/sync-harness.ts";
import { rule } from "../support/sync-rules.ts";

let vm: Peer & { rulesDir: string };
let h: SyncHarness;
const file = () => join(vm.rulesDir, "alertagent.yml");

beforeAll(async () => {
  // Nothing answers the datasource or the notifier: rules load, evaluations fail, which is fine here.
  vm = await startVmalert("http://127.0.0.1:9", "http://127.0.0.1:9", { defaults: true });
  h = makeSyncHarness(`
config_sync:
  targets:
    vmalert:
      kind: vmalert
      delivery: { type: file, path: "${file()}", reload_url: "${vm.url}/-/reload" }
      omit_fields: [keep_firing_for, eval_offset]
`);
}, 60_000);

afterAll(async () => {
  await vm?.stop();
}, PEER_STOP_MS);

async function listed(): Promise<{ name: string; query: string }[]> {
  const res = await fetch(`${vm.url}/api/v1/rules`);
  const groups = (
    (await res.json()) as { data: { groups: { rules: { name: string; query: string }[] }[] | null } }
  ).data.groups;
  return (groups ?? []).flatMap((g) => g.rules);
}

const ruleNames = async () => (await listed()).map((r) => r.name).sort();

describe("vmalert at its default evaluation interval", () => {
  test("a full sync that deletes one rule of a live group is verified after the group's interval, not rolled back", async () => {
    const two = [rule({ id: "a", name: "AlphaDown" }), rule({ id: "b", name: "BetaDown", expr: "up == 2" })];
    const created = await h.sync({ operation: "full", rules: two });
    expect(created.status).toBe(200);
    expect(await ruleNames()).toEqual(["AlphaDown", "BetaDown"]);
    const t = performance.now();
    const res = await h.sync({ operation: "full", rules: [two[0]] });
    const body = (await res.json()) as { targets: { verified: boolean; version: number }[] };
    expect(res.status).toBe(200);
    expect(body.targets[0]).toMatchObject({ verified: true, version: 2 });
    expect(await ruleNames()).toEqual(["AlphaDown"]);
    expect(readFileSync(file(), "utf8")).not.toContain("BetaDown");
    // It took vmalert's evaluation, not the default 10 s verify timeout, to show it.
    expect(performance.now() - t).toBeLessThan(70_000);
  }, 120_000);

  test("a change of a live rule's expression alone is verified only once vmalert runs the new one", async () => {
    const before = rule({ id: "a", name: "AlphaDown", expr: "up == 0" });
    expect((await h.sync({ operation: "full", rules: [before] })).status).toBe(200);
    expect(await listed()).toEqual([expect.objectContaining({ name: "AlphaDown", query: "up == 0" })]);
    const res = await h.sync({ operation: "full", rules: [{ ...before, expr: "up == 0 or absent(up)" }] });
    const body = (await res.json()) as { targets: { verified: boolean; changed: boolean }[] };
    expect(res.status).toBe(200);
    expect(body.targets[0]).toMatchObject({ changed: true, verified: true });
    // What the answer says verified, vmalert runs now.
    expect(await listed()).toEqual([
      expect.objectContaining({ name: "AlphaDown", query: "up == 0 or absent(up)" }),
    ]);
  }, 150_000);
});

test("vmalert started without -notifier.url refuses any alerting rule: the 489 says so, the old file stays", async () => {
  const bare = await startVmalert("http://127.0.0.1:9", undefined);
  try {
    const h = makeSyncHarness(`
config_sync:
  targets:
    vmalert:
      kind: vmalert
      delivery: { type: file, path: "${join(bare.rulesDir, "alertagent.yml")}", reload_url: "${bare.url}/-/reload" }
      omit_fields: [keep_firing_for, eval_offset]
`);
    const res = await h.sync({ operation: "full", rules: [rule({ id: "n", name: "NoNotifier" })] });
    expect(res.status).toBe(489);
    const said = ((await res.json()) as { error: { code: string; message: string } }).error;
    expect(said.code).toBe("config_refused");
    expect(said.message).toContain("-notifier.url");
  } finally {
    await bare.stop();
  }
}, 60_000);

test("vmalert with a notifier but no -remoteWrite.url refuses a recording rule: the 489 names -remoteWrite.url, not the notifier", async () => {
  const noWrite = await startVmalert("http://127.0.0.1:9", "http://127.0.0.1:9");
  try {
    const h = makeSyncHarness(`
config_sync:
  targets:
    vmalert:
      kind: vmalert
      delivery: { type: file, path: "${join(noWrite.rulesDir, "alertagent.yml")}", reload_url: "${noWrite.url}/-/reload" }
      omit_fields: [keep_firing_for, eval_offset]
`);
    const recording = { id: "rec", group: "availability", record: "job:up:sum", expr: "sum(up)" };
    const res = await h.sync({
      operation: "full",
      rules: [rule({ id: "a", name: "WithNotifier" }), recording],
    });
    expect(res.status).toBe(489);
    const said = ((await res.json()) as { error: { message: string } }).error.message;
    expect(said).toContain("-remoteWrite.url");
    expect(said).not.toContain("-notifier.url");
  } finally {
    await noWrite.stop();
  }
}, 60_000);
