/**
 * The file delivery without a peer: temp file + rename, the previous version kept as .prev, a
 * path that cannot be written, and the start-up refusal on Workers. With peers: e2e.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { nodeFileAccess } from "../../src/entry/node-fs.ts";
import type { FileAccess } from "../../src/ports.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { fileDeliveryRefusal, writeAtomic } from "../../src/sync/file.ts";
import { tempDir } from "../support/peers.ts";
import { makeSyncHarness, SYNC_YAML_HEAD, type SyncHarness } from "../support/sync-harness.ts";
import { rule } from "../support/sync-rules.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Prometheus file targets by name and path (`extra`: more YAML for a target). */
const fileTargets = (paths: Record<string, string>, extra: Record<string, string> = {}) =>
  `config_sync: { targets: { ${Object.entries(paths)
    .map(([n, p]) => `${n}: { kind: prometheus, ${extra[n] ?? ""}delivery: { type: file, path: "${p}" } }`)
    .join(", ")} } }`;
/** A full sync with YDown beside r-1: the newer rendering another store writes. */
const writeYDown = async (h: SyncHarness, id = "m-1") =>
  expect(
    (await h.sync({ operation: "full", rules: [rule(), rule({ id: "r-2", name: "YDown" })] }, id)).status,
  ).toBe(200);
/** A create on top of the harness's stored set. */
const addZDown = (h: SyncHarness, id = "m-2") =>
  h.sync({ operation: "create", rules: [rule({ id: "r-3", name: "ZDown" })] }, id);

describe("file delivery", () => {
  test("writes through a temp file and a rename, keeps the previous version as .prev, leaves nothing else", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir, "rules", "alertagent.yml");
    const renames: string[] = [];
    const fs: FileAccess = {
      ...nodeFileAccess,
      rename: (from, to) => {
        renames.push(`${from.slice(dir.length)} → ${to.slice(dir.length)}`);
        return nodeFileAccess.rename(from, to);
      },
    };
    const h = makeSyncHarness(
      `config_sync: { targets: { p: { kind: prometheus, delivery: { type: file, path: "${path}" } } } }`,
      { fs },
    );
    expect((await h.sync({ operation: "create", rules: [rule()] })).status).toBe(200);
    writeFileSync(path, `${readFileSync(path, "utf8")}# edited by hand\n`);
    expect((await h.sync({ operation: "update", rules: [rule({ for: "2m" })] })).status).toBe(200);
    // The file, then (on the update) .prev and the file again, each through a temp file and a rename.
    expect(renames).toHaveLength(3);
    expect(renames[0]).toMatch(/^\/rules\/alertagent\.yml\.tmp-[0-9a-f]{8} → \/rules\/alertagent\.yml$/);
    expect(renames[1]).toMatch(
      /^\/rules\/alertagent\.yml\.prev\.tmp-[0-9a-f]{8} → \/rules\/alertagent\.yml\.prev$/,
    );
    expect(readdirSync(join(dir, "rules")).sort()).toEqual(["alertagent.yml", "alertagent.yml.prev"]);
    expect(readFileSync(`${path}.prev`, "utf8")).toEndWith("# edited by hand\n");
    expect(readFileSync(path, "utf8")).toContain('for: "2m"');
  });

  test("a target the config now sends to another path: the same set is delivered there, not answered unchanged", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const [before, after] = [join(dir, "old", "alertagent.yml"), join(dir, "new", "alertagent.yml")];
    const target = (path: string) =>
      `config_sync: { targets: { p: { kind: prometheus, delivery: { type: file, path: "${path}" } } } }`;
    const store = new MemoryStore();
    const first = makeSyncHarness(target(before), { store });
    expect((await first.sync({ operation: "create", rules: [rule()] }, "m-1")).status).toBe(200);
    // The operator moves the rules file (Prometheus's rule_files now point there) and sends the set again.
    const moved = makeSyncHarness(target(after), { store });
    const plan = await moved.json<{ targets: { moved?: boolean; changed: boolean }[] }>("/v1/sync/plan");
    expect(plan.targets[0]).toMatchObject({ changed: true, moved: true });
    const res = await moved.sync({ operation: "create", rules: [rule()] }, "m-2");
    expect(res.status).toBe(200);
    expect(((await res.json()) as { targets: unknown[] }).targets[0]).toMatchObject({
      target: "p",
      changed: true,
      moved: true,
    });
    expect(readFileSync(after, "utf8")).toBe(readFileSync(before, "utf8"));
    // Delivered there: the next run is unchanged.
    const again = await moved.sync({ operation: "create", rules: [rule()] }, "m-3");
    expect(((await again.json()) as { targets: unknown[] }).targets[0]).toMatchObject({ changed: false });
  });

  test("two targets whose paths are swapped in the config: each is delivered to its new path, not refused as ahead of the store", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const [a, b] = [join(dir, "a.yml"), join(dir, "b.yml")];
    const targets = (p: string, q: string) =>
      `config_sync: { targets: { p: { kind: prometheus, self_rules: true, delivery: { type: file, path: "${p}" } }, q: { kind: prometheus, delivery: { type: file, path: "${q}" } } } }`;
    const store = new MemoryStore();
    const before = makeSyncHarness(targets(a, b), { store });
    expect((await before.sync({ operation: "create", rules: [rule()] }, "m-1")).status).toBe(200);
    const [pFile, qFile] = [readFileSync(a, "utf8"), readFileSync(b, "utf8")];
    expect(pFile).not.toBe(qFile);
    const swapped = makeSyncHarness(targets(b, a), { store });
    // One job for one of them: the other's file is named, and what to do.
    const alone = await swapped.sync(
      { operation: "update", rules: [rule({ for: "2m" })], targets: ["p"] },
      "m-1b",
    );
    expect(alone.status).toBe(503);
    expect(JSON.stringify(await alone.json())).toContain(
      'written as target \\"q\\", which this job does not sync',
    );
    const res = await swapped.sync({ operation: "update", rules: [rule({ for: "2m" })] }, "m-2");
    expect(res.status, await res.clone().text()).toBe(200);
    // Moved and changed at once: said so.
    const answered = (await res.clone().json()) as { targets: { moved?: boolean; changed: boolean }[] };
    expect(answered.targets.map((t) => [t.changed, t.moved])).toEqual([
      [true, true],
      [true, true],
    ]);
    expect(readFileSync(b, "utf8")).toContain('target "p"');
    expect(readFileSync(a, "utf8")).toContain('target "q"');
    expect(readFileSync(a, "utf8")).toContain('for: "2m"');
  });

  test("a moved target that finds its own rendering the store never recorded is still refused as ahead of the store", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const [a, b] = [join(dir, "a.yml"), join(dir, "b.yml")];
    const target = (path: string) =>
      `config_sync: { targets: { p: { kind: prometheus, delivery: { type: file, path: "${path}" } } } }`;
    // Store `old` recorded v1; another store (`newer`) wrote v2 to the same file since.
    const old = new MemoryStore();
    expect(
      (await makeSyncHarness(target(a), { store: old }).sync({ operation: "create", rules: [rule()] }, "m-1"))
        .status,
    ).toBe(200);
    const newer = makeSyncHarness(target(a), { store: new MemoryStore() });
    expect(
      (await newer.sync({ operation: "full", rules: [rule(), rule({ id: "r-2", name: "YDown" })] }, "m-2"))
        .status,
    ).toBe(200);
    // The file moves (mv a.yml b.yml), the config with it; the old store builds on what it knows.
    renameSync(a, b);
    const res = await makeSyncHarness(target(b), { store: old }).sync(
      { operation: "create", rules: [rule({ id: "r-3", name: "ZDown" })] },
      "m-3",
    );
    expect(res.status).toBe(503);
    expect(JSON.stringify(await res.json())).toContain("target_ahead_of_store");
    expect(readFileSync(b, "utf8")).toContain("YDown");
  });

  test("a file another worker's target wrote (a name this config does not have) is still refused as ahead of the store", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir, "a.yml");
    await writeYDown(makeSyncHarness(fileTargets({ prod: path }), { store: new MemoryStore() }));
    const res = await addZDown(makeSyncHarness(fileTargets({ staging: path }), { store: new MemoryStore() }));
    expect(res.status).toBe(503);
    expect(readFileSync(path, "utf8")).toContain("YDown");
  });

  test("another worker whose targets share this config's names: its file is still refused as ahead of the store", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const [p, q] = [join(dir, "p.yml"), join(dir, "q.yml")];
    const targets = (prod: string, staging: string) =>
      fileTargets({ prod, staging }, { staging: "self_rules: true, " });
    await writeYDown(makeSyncHarness(targets(p, q), { store: new MemoryStore() }));
    // The other worker names its targets alike, on the other paths, with a store of its own.
    const res = await addZDown(makeSyncHarness(targets(`${q}.x`, p), { store: new MemoryStore() }));
    expect(res.status).toBe(503);
    // Both targets were in the job: lost state or another worker, not a rename or a missing target.
    const said = JSON.stringify(await res.json());
    expect(said).toContain("another worker with another store syncs it");
    expect(said).not.toContain("which this job does not sync");
    expect(said).not.toContain("renamed?");
    expect(readFileSync(p, "utf8")).toContain("YDown");
  });

  test("a target renamed in the config (same path): refused, and the refusal says it may be a rename", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir, "a.yml");
    const target = (name: string) =>
      `config_sync: { targets: { ${name}: { kind: prometheus, delivery: { type: file, path: "${path}" } } } }`;
    const store = new MemoryStore();
    expect(
      (await makeSyncHarness(target("prod"), { store }).sync({ operation: "create", rules: [rule()] }, "m-1"))
        .status,
    ).toBe(200);
    const res = await makeSyncHarness(target("production"), { store }).sync(
      { operation: "create", rules: [rule({ id: "r-2", name: "YDown" })] },
      "m-2",
    );
    expect(res.status).toBe(503);
    expect(JSON.stringify(await res.json())).toContain('written as target \\"prod\\": renamed?');
  });

  test("a temp file a killed sync left beside the file (a rules/* glob would load it) is removed by the next write; others' files stay", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir, "alertagent.yml");
    const h = makeSyncHarness(
      `config_sync: { targets: { p: { kind: prometheus, delivery: { type: file, path: "${path}" } } } }`,
    );
    expect((await h.sync({ operation: "create", rules: [rule()] })).status).toBe(200);
    const left = ["alertagent.yml.tmp-7887be65", "alertagent.yml.prev.tmp-0badf00d"];
    const others = [
      "other.yml.tmp-12345678",
      "alertagent.yml.tmp-notours",
      "alertagent.yml.tmp-7887be65.bak",
    ];
    for (const f of [...left, ...others]) writeFileSync(join(dir, f), "groups: []\n");
    expect((await h.sync({ operation: "update", rules: [rule({ for: "2m" })] })).status).toBe(200);
    expect(readdirSync(dir).sort()).toEqual(["alertagent.yml", "alertagent.yml.prev", ...others].sort());
  });

  test("an Alertmanager config Debian ships 0644 keeps its mode (Alertmanager reads it as others); a new one is 0600", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir, "alertmanager.yml");
    writeFileSync(path, "old\n");
    chmodSync(path, 0o644);
    await writeAtomic(nodeFileAccess, path, "token: s3cret\n", 0o600);
    expect(statSync(path).mode & 0o777).toBe(0o644);
    const fresh = join(dir, "new.yml");
    await writeAtomic(nodeFileAccess, fresh, "token: s3cret\n", 0o600);
    expect(statSync(fresh).mode & 0o777).toBe(0o600);
  });

  test("a worker that is not root keeps the file's group when it is one of its groups (the peer reads by it)", () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir, "rules.yml");
    writeFileSync(path, "old\n");
    chmodSync(path, 0o640);
    chmodSync(dir, 0o777);
    // As root: the file root's, in group 1001 (the peer's); the worker nobody, a member of it.
    const root = process.getuid?.() === 0;
    const group = root ? 1001 : (process.getgid?.() ?? 0);
    chownSync(path, process.getuid?.() ?? 0, group);
    const script = join(dir, "write.ts");
    writeFileSync(
      script,
      `import { nodeFileAccess } from ${JSON.stringify(join(import.meta.dir, "../../src/entry/node-fs.ts"))};
import { writeAtomic } from ${JSON.stringify(join(import.meta.dir, "../../src/sync/file.ts"))};
await writeAtomic(nodeFileAccess, ${JSON.stringify(path)}, "new\\n");`,
    );
    // One bundled file in the open directory: the checkout may be one nobody can read.
    const bundle = join(dir, "write.js");
    const built = Bun.spawnSync([process.execPath, "build", script, "--target=bun", "--outfile", bundle]);
    expect(built.exitCode, built.stderr.toString()).toBe(0);
    const asWorker = root ? ["setpriv", "--reuid=65534", "--regid=65534", `--groups=${group}`] : [];
    const run = Bun.spawnSync([...asWorker, process.execPath, bundle], { stdout: "pipe", stderr: "pipe" });
    expect(run.exitCode, run.stderr.toString()).toBe(0);
    expect(readFileSync(path, "utf8")).toBe("new\n");
    const s = statSync(path);
    expect({ mode: s.mode & 0o777, gid: s.gid }).toEqual({ mode: 0o640, gid: group });
  });

  test("a path that cannot be a file (a parent is a file) is a 489 naming the path", async () => {
    const dir = tempDir();
    dirs.push(dir);
    writeFileSync(join(dir, "not-a-dir"), "");
    const path = join(dir, "not-a-dir", "rules.yml");
    const h = makeSyncHarness(
      `config_sync: { targets: { p: { kind: prometheus, delivery: { type: file, path: "${path}" } } } }`,
    );
    const res = await h.sync({ operation: "create", rules: [rule()] });
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect([res.status, error.code]).toEqual([489, "file_error"]);
    expect(error.message).toContain(`${path} failed: ENOTDIR`);
  });

  test("a file the worker may write in a directory it may not: the 489 names the directory, not the file", () => {
    if (process.getuid?.() !== 0)
      throw new Error("run as root (scripts/test.sh in CI): the worker is run as nobody");
    const dir = tempDir();
    dirs.push(dir);
    const rules = join(dir, "rules");
    mkdirSync(rules, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const path = join(rules, "alertagent.yml");
    writeFileSync(path, "old\n");
    chmodSync(path, 0o666);
    const script = join(dir, "write.js");
    for (const [src, out] of [
      ["sync/file.ts", "file.js"],
      ["entry/node-fs.ts", "node-fs.js"],
    ]) {
      const built = Bun.spawnSync([
        process.execPath,
        "build",
        join(import.meta.dir, "../../src", src),
        "--target=bun",
        "--outfile",
        join(dir, out),
      ]);
      expect(built.exitCode, built.stderr.toString()).toBe(0);
    }
    writeFileSync(
      script,
      `import { nodeFileAccess } from "./node-fs.js";
import { writeAtomic } from "./file.js";
try { await writeAtomic(nodeFileAccess, ${JSON.stringify(path)}, "new\\n"); } catch (e) { console.log(e.message); }`,
    );
    const run = Bun.spawnSync(
      ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, script],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    expect(run.stdout.toString().trim()).toBe(
      `creating a new file in ${rules} (it is written there, then renamed over alertagent.yml: the directory must be writable, not only the file) failed: EACCES`,
    );
    expect(readFileSync(path, "utf8")).toBe("old\n");
  });

  test("on Workers a file target is refused at start-up, naming it", () => {
    const config = loadConfig(`${SYNC_YAML_HEAD}
config_sync:
  targets:
    disk: { kind: prometheus, delivery: { type: file, path: /etc/prometheus/rules.yml } }
    remote: { kind: prometheus, delivery: { type: http, url: "https://rules.example.com/x" } }`);
    const refusal = fileDeliveryRefusal(config, "Cloudflare Workers");
    expect(refusal?.message).toBe(
      "config_sync target disk: a file delivery needs a file system, which Cloudflare Workers does not have; use delivery type http or mimir",
    );
    expect(refusal?.issues).toEqual([
      {
        path: "config_sync.targets.disk.delivery.type",
        message: "file is not available on Cloudflare Workers",
      },
    ]);
  });
});
