/**
 * A real Prometheus as many run it, behind basic auth on every endpoint (its web config's
 * basic_auth_users): the reload_url's user-info is the read-back's too, and refused credentials
 * are a 489 to fix, not a retry. And a Prometheus whose own config is broken: it refuses any
 * rules, which is not the rules' fault, so the sync is retried.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PEER_STOP_MS, type Peer, startPrometheus } from "../support/peers.ts";
import { makeSyncHarness } from "../support/sync-harness.ts";
import { rule } from "../support/sync-rules.ts";

const AUTH = { user: "promuser", password: "prom-pass-7731" };
let prom: Peer & { rulesDir: string };

beforeAll(async () => {
  prom = await startPrometheus({ basicAuth: AUTH });
}, 60_000);
afterAll(() => prom?.stop(), PEER_STOP_MS);

const harness = (password: string, file: string) =>
  makeSyncHarness(`
config_sync:
  targets:
    prom:
      kind: prometheus
      delivery: { type: file, path: "${join(prom.rulesDir, file)}", reload_url: "http://${AUTH.user}:${password}@${prom.url.slice("http://".length)}/-/reload" }
`);

async function loaded(): Promise<string[]> {
  const res = await fetch(`${prom.url}/api/v1/rules`, {
    headers: { authorization: `Basic ${btoa(`${AUTH.user}:${AUTH.password}`)}` },
  });
  const groups = ((await res.json()) as { data: { groups: { rules: { name: string }[] }[] } }).data.groups;
  return groups.flatMap((g) => g.rules.map((r) => r.name)).sort();
}

test("reload_url's credentials reload and read back: applied and verified", async () => {
  const h = harness(AUTH.password, "alertagent.yml");
  const res = await h.sync({ operation: "full", rules: [rule({ id: "a", name: "AuthDown" })] });
  const body = (await res.json()) as { targets: { verified: boolean; verified_how: string }[] };
  expect(res.status).toBe(200);
  expect(body.targets[0]).toMatchObject({ verified: true });
  expect(body.targets[0].verified_how).not.toContain(AUTH.password);
  expect(await loaded()).toEqual(["AuthDown"]);
});

test("a wrong password: 489 reload_refused naming reload_url, the file taken back, the password nowhere", async () => {
  const h = harness("wrong-pass-0000", "other.yml");
  const res = await h.sync({ operation: "full", rules: [rule({ id: "b", name: "OtherDown" })] });
  const text = await res.text();
  expect(res.status).toBe(489);
  expect(JSON.parse(text).error).toMatchObject({ code: "reload_refused", retryable: false });
  expect(text).toContain("give reload_url credentials the target accepts");
  expect(text).not.toContain("wrong-pass-0000");
  expect(existsSync(join(prom.rulesDir, "other.yml"))).toBe(false);
  expect(await loaded()).toEqual(["AuthDown"]);
});

test("a Prometheus whose own config broke refuses any rules: 503 reload_refused, retried, not blamed on the rules", async () => {
  const h = harness(AUTH.password, "third.yml");
  const main = join(prom.dir, "prometheus.yml");
  const good = readFileSync(main, "utf8");
  writeFileSync(main, `${good}scrape_configs: [{ job_name: }]\n`);
  try {
    const res = await h.sync({ operation: "full", rules: [rule({ id: "c", name: "ThirdDown" })] });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("30");
    expect(body.error.code).toBe("reload_refused");
    expect(body.error.message).toContain("but rolling back did not finish");
  } finally {
    writeFileSync(main, good);
  }
  // Its config mended, the retry applies the same rules.
  const retried = await h.sync({ operation: "full", rules: [rule({ id: "c", name: "ThirdDown" })] });
  expect(retried.status).toBe(200);
  expect(await loaded()).toEqual(["AuthDown", "ThirdDown"]);
});
