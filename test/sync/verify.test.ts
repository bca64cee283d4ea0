/**
 * The rules read-back (src/sync/verify.ts) against a scripted rules API: vmalert lists an
 * updated group's old rules until that group's next evaluation (the real one is in
 * vmalert-defaults.test.ts, whose timing cannot be forced), and Prometheus prints expressions in
 * its own form.
 */
import { afterAll, expect, test } from "bun:test";
import { peerOf } from "../../src/sync/read-back.ts";
import { verifyRules } from "../../src/sync/verify.ts";

let reads = 0;
let listed: (n: number) => { name: string; query: string }[] = () => [];
/** The file the API lists the group from. */
let listedFile = "/rules/alertagent.yml";
const api = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch() {
    const rules = listed(++reads).map((r) => ({
      ...r,
      type: "alerting",
      duration: 60,
      labels: {},
      annotations: {},
    }));
    return Response.json({
      status: "success",
      data: { groups: [{ name: "g", file: listedFile, interval: 1, rules }] },
    });
  },
});
afterAll(() => api.stop(true));

const check = (kind: "prometheus" | "vmalert", expr: string) => ({
  kind,
  base: `http://127.0.0.1:${api.port}`,
  expected: [{ name: "g", rules: [{ name: "Down", expr, for_s: 60, labels: {}, annotations: {} }] }],
  file: { path: "/rules/alertagent.yml", others: [] },
  managed: new Set<string>(),
  timeoutMs: 5_000,
});

test("vmalert still running a rule's old expression is not verified until it runs the new one", async () => {
  reads = 0;
  listed = (n) => [{ name: "Down", query: n < 4 ? "up == 0" : "up == 0 or absent(up)" }];
  const v = await verifyRules(fetch, Date.now, check("vmalert", "up == 0 or absent(up)"));
  expect(v.verified).toBe(true);
  expect(reads).toBe(4);
});

test("vmalert that never takes the new expression: not applied, naming what differs, after a few reads", async () => {
  reads = 0;
  listed = () => [{ name: "Down", query: "up == 0" }];
  // It waits the group's interval (1 s here) and vmalert's margin of 5 s before it says so.
  const c = { ...check("vmalert", "up == 1"), timeoutMs: 300 };
  await expect(verifyRules(fetch, Date.now, c)).rejects.toThrow(
    'group "g" has other rule names, expressions, durations, labels or annotations (not as sent: Down)',
  );
  // Reads back off to one per 5 s (each a subrequest on Workers): 7 in 6 s, not one a second.
  expect(reads).toBeLessThanOrEqual(8);
}, 10_000);

test("Prometheus prints the query in its own form: not a difference", async () => {
  reads = 0;
  listed = () => [{ name: "Down", query: 'sum by (job) (rate(x{a="b"}[5m])) > 0' }];
  const v = await verifyRules(fetch, Date.now, check("prometheus", "sum by(job)(rate(x{a='b'}[5m]))>0"));
  expect(v.verified).toBe(true);
  expect(reads).toBe(1);
});

test("a relative path the peer lists that ends both ours and another target's is named, not taken as ours", async () => {
  listed = () => [{ name: "Down", query: "up == 0" }];
  listedFile = "rules/alertagent.yml";
  try {
    const teamB = "/srv/team-b/rules/alertagent.yml";
    const ours = { path: "/etc/prometheus/rules/alertagent.yml", others: [teamB] };
    await expect(
      verifyRules(fetch, Date.now, { ...check("prometheus", "up == 0"), file: ours }),
    ).rejects.toThrow(
      "prometheus lists rules/alertagent.yml, which ends both /etc/prometheus/rules/alertagent.yml and /srv/team-b/rules/alertagent.yml",
    );
    // The other target read back from another peer: this peer's file is ours.
    const alone = { ...check("prometheus", "up == 0"), file: { ...ours, others: [] } };
    expect((await verifyRules(fetch, Date.now, alone)).verified).toBe(true);
  } finally {
    listedFile = "/rules/alertagent.yml";
  }
});

test("one peer however its URL is spelled; two servers on two loopback addresses are two", () => {
  const one = [
    "http://127.0.0.1:9090",
    "http://localhost:9090/",
    "http://[::1]:9090",
    "http://[::ffff:127.0.0.1]:9090",
    "http://0.0.0.0:9090//",
  ];
  expect(new Set(one.map(peerOf)).size).toBe(1);
  expect(peerOf("https://prom.example:443/")).toBe(peerOf("https://prom.example"));
  expect(peerOf("http://127.0.0.2:9090")).not.toBe(peerOf("http://127.0.0.3:9090"));
  expect(peerOf("http://127.0.0.2:9090")).not.toBe(peerOf("http://127.0.0.1:9090"));
});
