/**
 * The README's commands, typed as written: the quick start (`npm start`, then the `npx
 * alertagent-worker publish …` and `curl` lines), the compiled binary's block, the Go-flags
 * example next to the running worker, `plan` on the embedded default, the runtime table's
 * `cp examples/worker.yaml worker.yaml` + `serve --config worker.yaml` (checked with
 * check-config), and Deno's `npx deno task cli`. They run in a scratch folder whose entries
 * link to the repository, so `./data` lands there, on the ports the README names (8081, 8082).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, ROOT, type Started, startGroup, toolEnv } from "../support/runtimes.ts";

const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** The fenced ```sh blocks of the README, each as its command lines (comments kept: bash ignores them). */
function shBlocks(): string[][] {
  return [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].split("\n").filter((l) => l.trim()));
}

function block(containing: string): string[] {
  const found = shBlocks().find((b) => b.some((l) => l.includes(containing)));
  if (!found) throw new Error(`README has no sh block with "${containing}"`);
  return found;
}

const portBusy = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.on("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });

let dir = "";
const env = toolEnv();
/** Runs one README line with bash in the scratch folder. */
function sh(line: string): { code: number; out: string; err: string } {
  const r = Bun.spawnSync(["bash", "-c", line], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

let worker: Started;

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run scripts/build first`);
  for (const port of [8081, 8082])
    if (await portBusy(port))
      throw new Error(`port ${port} is in use: the README's quick start runs on it; stop what listens there`);
  dir = mkdtempSync(join(tmpdir(), "alertagent-readme-"));
  for (const entry of readdirSync(ROOT))
    if (![".git", "data", "worker.yaml"].includes(entry)) symlinkSync(join(ROOT, entry), join(dir, entry));
  // `npm ci && npm start`: node_modules is the repository's own (linked), so `npm start` is what runs.
  worker = await startGroup("npm start", "npm", ["start"], 8081, { cwd: dir, env });
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the README's commands, as written", () => {
  test("the quick start: every publish and curl line works and shows what the README says", async () => {
    const lines = block("npx alertagent-worker publish notification");
    const results = lines.map((l) => ({ line: l, ...sh(l) }));
    for (const r of results) expect({ line: r.line, code: r.code, err: r.err }).toMatchObject({ code: 0 });
    const outOf = (needle: string) => results.find((r) => r.line.includes(needle))!.out;
    expect(JSON.parse(outOf("/v1/jobs/msg_demo "))).toMatchObject({ status: "succeeded", family: "failure" });
    expect(JSON.parse(outOf("/v1/jobs/msg_example_dead_notification"))).toMatchObject({ status: "failed" });
    expect(existsSync(join(dir, "data/prometheus/alertagent.rules.yml"))).toBe(true);
    // The console channel printed a block a person reads, not an escaped JSON line.
    for (let i = 0; i < 50 && !worker.proc.output().includes("── console"); i++) await Bun.sleep(100);
    const printed = worker.proc.output();
    expect(printed).toMatch(/^── console · msg_\w+ ─+$/m);
    // …and its first line is the one the README shows.
    const shown = /── console · msg_… ─+\n(.+)\n/.exec(README)?.[1];
    expect(shown).toBeDefined();
    expect(printed).toContain(shown as string);
    expect(printed).not.toContain('"msg":"notification"');
  });

  test("the compiled binary's block (scripts/build has run) carries the id its curl reads", () => {
    const lines = block("dist/alertagent-worker publish failure").filter((l) => l !== "scripts/build");
    const results = lines.map((l) => ({ line: l, ...sh(l) }));
    for (const r of results) expect({ line: r.line, code: r.code, err: r.err }).toMatchObject({ code: 0 });
    expect(JSON.parse(results.at(-1)!.out)).toMatchObject({ status: "succeeded" });
  });

  test("the Go-flags example starts next to the quick-start worker, on its own port", async () => {
    const [line] = block("-queues=ai_analysis");
    const go = await startGroup("Go flags", "bash", ["-c", `exec ${line}`], 8082, { cwd: dir, env });
    try {
      const health = (await (await fetch("http://127.0.0.1:8082/health")).json()) as Record<string, unknown>;
      expect(health).toMatchObject({ name: "ai-worker-1", type: "ai-analysis", concurrency: 2 });
      expect(health.families).toEqual(["analysis", "failure"]);
    } finally {
      await go.stop();
    }
  });

  test("plan on the embedded default reads the running worker's SQLite store: the quick start's rules, applied", () => {
    const r = sh("npx alertagent-worker plan");
    expect(r.code).toBe(0);
    expect(r.out).toContain("# rule set from store:");
    expect(r.out).toContain("# local-prometheus (prometheus, file):");
    expect(r.out).toContain("no changes (version 1,");
  });

  test("the runtime table: the example copied to worker.yaml is a config the binary accepts", () => {
    expect(README).toContain("`cp examples/worker.yaml worker.yaml`");
    expect(README).toContain("dist/alertagent-worker serve --config worker.yaml");
    expect(sh("cp examples/worker.yaml worker.yaml").code).toBe(0);
    const r = sh("dist/alertagent-worker check-config --config worker.yaml");
    expect({ code: r.code, err: r.err }).toMatchObject({ code: 0 });
    expect(r.out).toStartWith("# worker.yaml: valid");
  });

  test("check-config on the example and Deno's task, as the README writes them", () => {
    expect(sh("npx alertagent-worker check-config --config examples/worker.yaml").code).toBe(0);
    expect(README).toContain("`npx deno task cli check-config …`");
    const r = sh("npx deno task cli --version");
    expect({ code: r.code, err: r.err }).toMatchObject({ code: 0 });
    expect(r.out).toContain("(deno)");
  });
});
