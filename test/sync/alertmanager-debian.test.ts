/**
 * Alertmanager as Debian runs it: its unit's own user (`prometheus`) reading root's
 * /etc/prometheus/alertmanager.yml, which the package ships 0644 — as "others". A sync must leave
 * it readable, or Alertmanager refuses the reload and cannot start again (docs/config-sync.md).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, statSync } from "node:fs";
import { PEER_STOP_MS, type Peer, startAlertmanager } from "../support/peers.ts";
import { makeSyncHarness } from "../support/sync-harness.ts";
import { rule } from "../support/sync-rules.ts";

/** Debian's `prometheus` user, as its package creates it; nobody where it does not exist. */
function peerUser(): { uid: number; gid: number } {
  const id = Bun.spawnSync(["id", "prometheus"]).stdout.toString();
  const [, uid, gid] = /uid=(\d+).*gid=(\d+)/.exec(id) ?? [];
  return uid ? { uid: Number(uid), gid: Number(gid) } : { uid: 65534, gid: 65534 };
}

let am: Peer & { configPath: string };
beforeAll(async () => {
  am = await startAlertmanager(undefined, undefined, { asUser: peerUser() });
}, 60_000);
afterAll(() => am?.stop(), PEER_STOP_MS);

test("a config Alertmanager reads as others (root's, 0644): synced, reloaded, verified, and still readable", async () => {
  chmodSync(am.configPath, 0o644);
  const h = makeSyncHarness(`
config_sync:
  targets:
    am: { kind: alertmanager, delivery: { type: file, path: "${am.configPath}", reload_url: "${am.url}/-/reload" } }
`);
  const res = await h.sync({ operation: "full", rules: [rule({ notify: { channels: ["ops-mail"] } })] });
  expect(res.status, await res.clone().text()).toBe(200);
  expect(((await res.json()) as { targets: { verified: boolean }[] }).targets[0].verified).toBe(true);
  expect(statSync(am.configPath).mode & 0o777).toBe(0o644);
}, 60_000);

test("qstash_headers on Debian's Alertmanager (0.25, before http_headers): refused with its own words, the running config kept", async () => {
  const h = makeSyncHarness(`
config_sync:
  targets:
    am: { kind: alertmanager, delivery: { type: file, path: "${am.configPath}", reload_url: "${am.url}/-/reload" }, qstash_headers: true }
`);
  const res = await h.sync({ operation: "full", rules: [rule({ notify: { channels: ["ops-mail"] } })] });
  const text = await res.text();
  expect(res.status, text).toBe(489);
  expect(text).toContain("http_headers");
  expect(await (await fetch(`${am.url}/-/ready`)).text()).toContain("OK");
}, 60_000);
