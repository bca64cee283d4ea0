/**
 * A file target's reload, against a scripted reload endpoint: what its answer makes of the sync.
 * A 500 that the previous file reloads past is the new rules refused (489, not retried); a proxy's
 * 502 says nothing about them (503, retried). reload_url's user-info goes as Basic auth.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeSyncHarness } from "../support/sync-harness.ts";
import { rule } from "../support/sync-rules.ts";

let answers: number[] = [];
const auth: (string | null)[] = [];
const peer = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req) {
    auth.push(req.headers.get("authorization"));
    return new Response("failed to reload config", { status: answers.shift() ?? 200 });
  },
});
afterAll(() => peer.stop(true));

const harness = (userInfo = "") =>
  makeSyncHarness(`
config_sync:
  targets:
    prom:
      kind: prometheus
      delivery: { type: file, path: "${join(mkdtempSync(join(tmpdir(), "alertagent-reload-")), "r.yml")}", reload_url: "http://${userInfo}127.0.0.1:${peer.port}/-/reload" }
      verify: { url: "http://127.0.0.1:9" }
`);
type Problem = { error: { code: string; retryable: boolean } };

test("a 500 the previous file reloads past: 489 config_refused", async () => {
  answers = [500, 200];
  const res = await harness().sync({ operation: "full", rules: [rule()] });
  expect(res.status).toBe(489);
  expect(((await res.json()) as Problem).error).toMatchObject({ code: "config_refused", retryable: false });
});

test("a proxy's 502, then the previous file reloads: 503 reload_refused, retried", async () => {
  answers = [502, 200];
  const res = await harness().sync({ operation: "full", rules: [rule()] });
  expect(res.status).toBe(503);
  expect(((await res.json()) as Problem).error).toMatchObject({ code: "reload_refused", retryable: true });
});

test("user-info with a bare % and an escaped @ is sent as Basic auth, as written and as decoded", async () => {
  answers = [500, 200];
  auth.length = 0;
  await harness("ops%40corp:100%25%@").sync({ operation: "full", rules: [rule()] });
  expect(auth[0]).toBe(`Basic ${btoa("ops@corp:100%%")}`);
});
