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

/** What a vmalert started with `notifier` (none: no -notifier.url) and no -remoteWrite.url says to a full sync of `rules`. */
async function refusedBy(notifier: string | undefined, rules: unknown[]) {
  const peer = await startVmalert("http://127.0.0.1:9", notifier);
  try {
    const h = makeSyncHarness(`
config_sync:
  targets:
    vmalert:
      kind: vmalert
      delivery: { type: file, path: "${join(peer.rulesDir, "alertagent.yml")}", reload_url: "${peer.url}/-/reload" }
      omit_fields: [keep_firing_for, eval_offset]
`);
    const res = await h.sync({ operation: "full", rules });
    return {
      status: res.status,
      ...((await res.json()) as { error: { code: string; message: string } }).error,
    };
  } finally {
    await peer.stop();
  }
}

test("vmalert started without -notifier.url refuses any alerting rule: the 489 says so", async () => {
  const said = await refusedBy(undefined, [rule({ id: "n", name: "NoNotifier" })]);
  expect(said).toMatchObject({ status: 489, code: "config_refused" });
  expect(said.message).toContain("-notifier.url");
}, 60_000);

test("vmalert with a notifier but no -remoteWrite.url refuses a recording rule: the 489 names -remoteWrite.url, not the notifier", async () => {
  const recording = { id: "rec", group: "availability", record: "job:up:sum", expr: "sum(up)" };
  const said = await refusedBy("http://127.0.0.1:9", [rule({ id: "a", name: "WithNotifier" }), recording]);
  expect(said).toMatchObject({ status: 489, code: "config_refused" });
  expect(said.message).toContain("-remoteWrite.url");
  expect(said.message).not.toContain("-notifier.url");
}, 60_000);
