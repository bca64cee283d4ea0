/**
 * A real Prometheus as many run it, behind basic auth on every endpoint (its web config's
 * basic_auth_users): the reload_url's user-info is the read-back's too, and refused credentials
 * are a 489 to fix, not a retry. And a Prometheus whose own config is broken: it refuses any
 * rules, which is not the rules' fault, so the sync is retried.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PEER_STOP_MS, type Peer, startPrometheus, startVmalert } from "../support/peers.ts";
import { makeSyncHarness } from "../support/sync-harness.ts";
import { rule } from "../support/sync-rules.ts";

const AUTH = { user: "promuser", password: "prom-pass-7731" };
let prom: Peer & { rulesDir: string };

beforeAll(async () => {
  prom = await startPrometheus({ basicAuth: AUTH });
}, 60_000);
afterAll(() => prom?.stop(), PEER_STOP_MS);

/** A `prom` file target at `path`, reloaded at `reloadUrl`, with `more` targets after it. */
const promTarget = (path: string, reloadUrl: string, more = "") =>
  makeSyncHarness(`
config_sync:
  targets:
    prom:
      kind: prometheus
      delivery: { type: file, path: "${path}", reload_url: "${reloadUrl}" }
${more}`);

/** A `prom` file target at `path` that the worker does not reload, only reads back. */
const readBackOnly = (path: string) =>
  makeSyncHarness(`
config_sync:
  targets:
    prom:
      kind: prometheus
      delivery: { type: file, path: "${path}" }
      verify: { url: "http://${AUTH.user}:${AUTH.password}@${prom.url.slice("http://".length)}", timeout: 300ms }
`);

const harness = (password: string, file: string) =>
  promTarget(
    join(prom.rulesDir, file),
    `http://${AUTH.user}:${password}@${prom.url.slice("http://".length)}/-/reload`,
  );

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

test("rules Prometheus refuses but vmalert runs: 489 config_refused, and the set keeps them, as vmalert runs them", async () => {
  const vm = await startVmalert("http://127.0.0.1:9", "http://127.0.0.1:9");
  try {
    const h = promTarget(
      join(prom.rulesDir, "split.yml"),
      `http://${AUTH.user}:${AUTH.password}@${prom.url.slice("http://".length)}/-/reload`,
      `    vm:
      kind: vmalert
      delivery: { type: file, path: "${join(vm.rulesDir, "split.yml")}", reload_url: "${vm.url}/-/reload" }
      omit_fields: [keep_firing_for, eval_offset]
`,
    );
    // A range vector summed: Prometheus' parser refuses it; vmalert's MetricsQL takes it.
    const split = rule({ id: "split", name: "SplitRule", expr: "sum(up[5m]) > 0" });
    const res = await h.sync({ operation: "full", rules: [split] });
    const body = (await res.json()) as {
      error: {
        code: string;
        details: { targets: { target: string; version: number; error?: { code: string } }[] };
      };
    };
    expect(res.status).toBe(489);
    const byName = Object.fromEntries(body.error.details.targets.map((t) => [t.target, t]));
    expect(byName.prom.error?.code).toBe("config_refused");
    expect(byName.vm).toMatchObject({ version: 1 });
    // The answer says the set kept it, and what to do about the target that refuses it.
    expect((body.error as unknown as { message: string }).message).toEndWith(
      "the rule set keeps this change all the same, as vm runs it: every later sync to prom is refused the same way until the rule is deleted, or kept off prom with its `targets`",
    );
    expect(byName.vm.error).toBeUndefined();
    // The set and vmalert agree: the plan has nothing to change there, and the rule can be deleted.
    const plan = await h.json<{ targets: { target: string; changed: boolean }[] }>("/v1/sync/plan");
    expect(plan.targets.find((t) => t.target === "vm")?.changed).toBe(false);
    const deleted = (await (await h.sync({ operation: "delete", rule_ids: ["split"] })).json()) as {
      deleted: string[];
    };
    expect(deleted.deleted).toEqual(["split"]);
  } finally {
    await vm.stop();
  }
}, 60_000);

test("a store that lost its state (a new, empty one on the same file) does not drop the rules Prometheus runs: a create or a full from the store is refused (503 target_ahead_of_store); full with the rules restores them", async () => {
  const lost = async () => (await loaded()).filter((n) => n.startsWith("Lost"));
  const before = harness(AUTH.password, "lost.yml");
  for (const r of [rule({ id: "la", name: "LostA" }), rule({ id: "lb", name: "LostB" })])
    expect((await before.sync({ operation: "create", rules: [r] })).status).toBe(200);
  expect(await lost()).toEqual(["LostA", "LostB"]);
  // A Redis restarted without its data: the same file, a store that remembers nothing.
  const after = harness(AUTH.password, "lost.yml");
  const res = await after.sync({ operation: "create", rules: [rule({ id: "lc", name: "LostC" })] });
  expect(res.status).toBe(503);
  const { error } = (await res.json()) as { error: { code: string; message: string } };
  expect(error.code).toBe("target_ahead_of_store");
  expect(error.message).toContain('operation "full"');
  expect(await lost()).toEqual(["LostA", "LostB"]);
  // The set the refused create would have made is not kept: the next create is refused too.
  expect((await after.sync({ operation: "create", rules: [rule({ id: "lc", name: "LostC" })] })).status).toBe(
    503,
  );
  // So is the scheduled `{operation: full}` (no rules, no source): it re-renders the store's set,
  // which is empty now, and would have emptied the file.
  const scheduled = await after.sync({ operation: "full" });
  expect(((await scheduled.json()) as { error: { code: string } }).error.code).toBe("target_ahead_of_store");
  expect(await lost()).toEqual(["LostA", "LostB"]);
  const full = await after.sync({
    operation: "full",
    rules: ["LostA", "LostB", "LostC"].map((name, i) => rule({ id: `l${i}`, name })),
  });
  expect(full.status).toBe(200);
  expect(await lost()).toEqual(["LostA", "LostB", "LostC"]);
  expect((await after.sync({ operation: "delete", rule_ids: ["l2"] })).status).toBe(200);
  expect(await lost()).toEqual(["LostA", "LostB"]);
});

test("a file a failed attempt left in place (written, not read back) is the store's own: the next create is not taken for lost state", async () => {
  const dir = mkdtempSync(join(tmpdir(), "alertagent-unread-"));
  // Prometheus does not load this directory: the read-back never shows the file.
  const h = readBackOnly(join(dir, "rules.yml"));
  const first = await h.sync({ operation: "create", rules: [rule({ id: "u1", name: "UnreadA" })] });
  expect(((await first.json()) as { error: { code: string } }).error.code).toBe("not_applied");
  expect(readFileSync(join(dir, "rules.yml"), "utf8")).toContain("UnreadA");
  const next = await h.sync({ operation: "create", rules: [rule({ id: "u2", name: "UnreadB" })] });
  expect(((await next.json()) as { error: { code: string } }).error.code).toBe("not_applied");
  expect(readFileSync(join(dir, "rules.yml"), "utf8")).toContain("UnreadB");
});

test("a rule file Prometheus reads by its group keeps its owner, group and mode through a sync and a refused one's rollback", async () => {
  const h = harness(AUTH.password, "grouped.yml");
  const path = join(prom.rulesDir, "grouped.yml");
  expect((await h.sync({ operation: "full", rules: [rule({ id: "g", name: "GroupedDown" })] })).status).toBe(
    200,
  );
  // As an operator sets it up: root's file, readable by the peer's group (docs/config-sync.md).
  const group = process.getuid?.() === 0 ? 65534 : (process.getgid?.() ?? 0);
  chownSync(path, process.getuid?.() ?? 0, group);
  chmodSync(path, 0o640);
  const kept = () => {
    const s = statSync(path);
    return { mode: s.mode & 0o7777, gid: s.gid };
  };
  // Refused by Prometheus and put back: as it was, or the peer cannot read it at its next start.
  const refused = await h.sync({
    operation: "update",
    rules: [rule({ id: "g", name: "GroupedDown", expr: "sum(up[5m]) > 0" })],
  });
  expect(refused.status).toBe(489);
  expect(kept()).toEqual({ mode: 0o640, gid: group });
  expect(
    (await h.sync({ operation: "update", rules: [rule({ id: "g", name: "GroupedDown", for: "3m" })] }))
      .status,
  ).toBe(200);
  expect(readFileSync(path, "utf8")).toContain('for: "3m"');
  expect(kept()).toEqual({ mode: 0o640, gid: group });
}, 60_000);

test("a Prometheus at its defaults (no --web.enable-lifecycle): 489 naming the flag, not the credentials; the file taken back", async () => {
  const plain = await startPrometheus({ lifecycle: false });
  try {
    const h = promTarget(join(plain.rulesDir, "alertagent.yml"), `${plain.url}/-/reload`);
    const res = await h.sync({ operation: "full", rules: [rule({ id: "l", name: "LifecycleDown" })] });
    expect(res.status).toBe(489);
    const said = ((await res.json()) as { error: { code: string; message: string } }).error;
    expect(said.code).toBe("reload_refused");
    expect(said.message).toContain("--web.enable-lifecycle");
    expect(said.message).not.toContain("credentials");
    expect(existsSync(join(plain.rulesDir, "alertagent.yml"))).toBe(false);
  } finally {
    await plain.stop();
  }
}, 60_000);

test("a file Prometheus reloads by itself (verify.url, no reload_url): a changed expression is verified only once Prometheus lists it", async () => {
  const h = readBackOnly(join(prom.rulesDir, "sidecar.yml"));
  // What a config-reloader sidecar does, some time after the file changed.
  const reload = () =>
    fetch(`${prom.url}/-/reload`, {
      method: "POST",
      headers: { authorization: `Basic ${btoa(`${AUTH.user}:${AUTH.password}`)}` },
    });
  const sync = async (expr: string) => {
    const res = await h.sync({ operation: "full", rules: [rule({ id: "s", name: "SidecarHigh", expr })] });
    const body = (await res.json()) as { error?: { code: string }; targets?: { verified: boolean }[] };
    return { status: res.status, said: body.error?.code ?? body.targets?.[0]?.verified };
  };
  expect(await sync("up > 1")).toEqual({ status: 503, said: "not_applied" });
  expect((await reload()).status).toBe(200);
  expect(await sync("up > 1")).toEqual({ status: 200, said: true });
  // Only the threshold changes: the names, labels and annotations Prometheus lists are the same.
  expect(await sync("up > 2")).toEqual({ status: 503, said: "not_applied" });
  expect((await reload()).status).toBe(200);
  expect(await sync("up > 2")).toEqual({ status: 200, said: true });
}, 60_000);

test("a scheduled full puts back a rule file edited or removed by hand (its header says edits are overwritten): Prometheus runs ours again", async () => {
  const h = harness(AUTH.password, "drift.yml");
  const path = join(prom.rulesDir, "drift.yml");
  const reloadByHand = () =>
    fetch(`${prom.url}/-/reload`, {
      method: "POST",
      headers: { authorization: `Basic ${btoa(`${AUTH.user}:${AUTH.password}`)}` },
    });
  expect((await h.sync({ operation: "full", rules: [rule({ id: "d", name: "DriftDown" })] })).status).toBe(
    200,
  );
  const ours = readFileSync(path, "utf8");
  writeFileSync(path, ours.replace("DriftDown", "HandEdited"));
  expect((await reloadByHand()).status).toBe(200);
  expect(await loaded()).toContain("HandEdited");
  // What a full sync would change now says so.
  const plan = (await h.json("/v1/sync/plan")) as { targets: { changed: boolean; drifted?: boolean }[] };
  expect(plan.targets[0]).toMatchObject({ changed: true, drifted: true });
  const res = await h.sync({ operation: "full" });
  expect(res.status).toBe(200);
  const { targets } = (await res.json()) as {
    targets: { changed: boolean; drifted?: boolean; verified: boolean }[];
  };
  expect(targets[0]).toMatchObject({ changed: true, drifted: true, verified: true });
  expect(readFileSync(path, "utf8")).toBe(ours);
  expect(await loaded()).toContain("DriftDown");
  expect(await loaded()).not.toContain("HandEdited");
  // Removed by hand: written again.
  rmSync(path);
  expect((await reloadByHand()).status).toBe(200);
  expect(await loaded()).not.toContain("DriftDown");
  expect((await h.sync({ operation: "full" })).status).toBe(200);
  expect(await loaded()).toContain("DriftDown");
  // Nothing drifted: nothing written, nothing reloaded.
  const again = (await (await h.sync({ operation: "full" })).json()) as { targets: { changed: boolean }[] };
  expect(again.targets[0].changed).toBe(false);
});

test("a scheduled full finding the file holding a rendering of ours the store never recorded (a sync killed before recording it) is refused, not undone", async () => {
  const h = harness(AUTH.password, "killed.yml");
  const path = join(prom.rulesDir, "killed.yml");
  expect((await h.sync({ operation: "full", rules: [rule({ id: "k1", name: "KilledA" })] })).status).toBe(
    200,
  );
  // What a sync adding KilledB writes before it is killed: another harness, same file, its own store.
  const other = harness(AUTH.password, "killed.yml");
  const both = [rule({ id: "k1", name: "KilledA" }), rule({ id: "k2", name: "KilledB" })];
  expect((await other.sync({ operation: "full", rules: both })).status).toBe(200);
  const written = readFileSync(path, "utf8");
  const res = await h.sync({ operation: "full" });
  expect(res.status).toBe(503);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe("target_ahead_of_store");
  expect(readFileSync(path, "utf8")).toBe(written);
});

test("a rule Prometheus took while its read-back failed is removed by deleting it: the recorded file is written again, not only read back", async () => {
  const path = join(prom.rulesDir, "unread.yml");
  let readBackDown = false;
  const h = makeSyncHarness(
    `
config_sync:
  targets:
    prom:
      kind: prometheus
      delivery: { type: file, path: "${path}", reload_url: "http://${AUTH.user}:${AUTH.password}@${prom.url.slice("http://".length)}/-/reload" }
      verify: { timeout: 300ms }
`,
    {
      // Prometheus reloads, then its rules API stops answering (it died after the reload's 200).
      fetch: (input, init) =>
        readBackDown && String(input instanceof Request ? input.url : input).includes("/api/v1/rules")
          ? Promise.reject(new TypeError("fetch failed"))
          : fetch(input, init),
    },
  );
  expect((await h.sync({ operation: "full", rules: [rule({ id: "a", name: "UnreadKeep" })] })).status).toBe(
    200,
  );
  readBackDown = true;
  const failed = await h.sync({ operation: "create", rules: [rule({ id: "x1", name: "UnreadGone" })] });
  expect(failed.status).toBe(503);
  readBackDown = false;
  // The file stayed (Prometheus accepted it) and Prometheus runs the rule.
  expect(await loaded()).toContain("UnreadGone");
  const res = await h.sync({ operation: "delete", rule_ids: ["x1"] });
  expect(res.status).toBe(200);
  expect(readFileSync(path, "utf8")).not.toContain("UnreadGone");
  expect(await loaded()).not.toContain("UnreadGone");
  expect(await loaded()).toContain("UnreadKeep");
});

test("a Prometheus whose rule_files also matches the .prev file kept beside ours runs every rule twice: refused as verified, 489 naming the fix", async () => {
  const loose = await startPrometheus({ ruleGlobs: ["*"] });
  try {
    const path = join(loose.rulesDir, "alertagent.yml");
    const h = promTarget(path, `${loose.url}/-/reload`);
    expect((await h.sync({ operation: "full", rules: [rule({ id: "p1", name: "PrevA" })] })).status).toBe(
      200,
    );
    // The second sync keeps the first file as alertagent.yml.prev, which `*` loads too.
    const res = await h.sync({ operation: "create", rules: [rule({ id: "p2", name: "PrevB" })] });
    expect(res.status).toBe(489);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("previous_file_loaded");
    expect(error.message).toContain("alertagent.yml.prev");
    expect(error.message).toContain("*.yml");
  } finally {
    await loose.stop();
  }
}, 30_000);

test("a file put back to an older rendering of ours by hand (.prev copied over it) is written again by a full sync, not taken for lost state", async () => {
  const h = harness(AUTH.password, "rolled.yml");
  const path = join(prom.rulesDir, "rolled.yml");
  expect((await h.sync({ operation: "full", rules: [rule({ id: "ra", name: "RolledA" })] })).status).toBe(
    200,
  );
  expect((await h.sync({ operation: "create", rules: [rule({ id: "rb", name: "RolledB" })] })).status).toBe(
    200,
  );
  const ours = readFileSync(path, "utf8");
  writeFileSync(path, readFileSync(`${path}.prev`, "utf8"));
  const res = await h.sync({ operation: "full" });
  expect(res.status).toBe(200);
  const { targets } = (await res.json()) as { targets: { drifted?: boolean }[] };
  expect(targets[0].drifted).toBe(true);
  expect(readFileSync(path, "utf8")).toBe(ours);
  expect(await loaded()).toContain("RolledB");
});

test("a set one target refused is not kept because another target's drifted file was written again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "alertagent-drift-keep-"));
  const side = join(dir, "side.yml");
  const h = promTarget(
    join(prom.rulesDir, "keep.yml"),
    `http://${AUTH.user}:${AUTH.password}@${prom.url.slice("http://".length)}/-/reload`,
    `    side:\n      kind: prometheus\n      delivery: { type: file, path: "${side}" }\n`,
  );
  const good = rule({ id: "kg", name: "KeepGood" });
  expect((await h.sync({ operation: "full", rules: [good] })).status).toBe(200);
  writeFileSync(side, `${readFileSync(side, "utf8")}# edited by hand\n`);
  // Prometheus refuses the aggregation over a range vector; only `prom` gets that rule.
  const bad = rule({ id: "kb", name: "KeepBad", expr: "sum(up[5m]) > 0", targets: ["prom"] });
  const res = await h.sync({ operation: "full", rules: [good, bad] });
  expect(res.status).toBe(489);
  const set = (await h.json("/v1/sync/status")) as { rules: number };
  expect(set.rules).toBe(1);
  expect((await h.sync({ operation: "full" })).status).toBe(200);
});
