/**
 * `npm run bench`: builds the binaries (scripts/build --bench), runs every benchmark section
 * script one after another (never in parallel: they share 2 cores), and writes BENCHMARKS.md —
 * machine, date and command on top, each section's markdown, and the hand-written notes below the
 * marker kept from the previous file. A section that fails is reported as failed, not hidden.
 * With --only, the other sections are kept as the previous run left them.
 * Usage: bun run scripts/bench/all.ts [--only binary,runtimes,…] [--duration 10]
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { machine } from "./lib.ts";

const ROOT = resolve(import.meta.dir, "../..");
const OUT = join(ROOT, "BENCHMARKS.md");
const MARKER = "<!-- notes: kept across bench runs -->";
const SECTIONS = [
  "binary",
  "runtimes",
  "digests",
  "workerd-cpu",
  "store-waits",
  "notify",
  "analysis",
  "evidence",
  "sync",
  "scaling",
];
const { values: opt } = parseArgs({ options: { only: { type: "string" }, duration: { type: "string" } } });
const only = opt.only?.split(",");

const build = Bun.spawnSync(["bash", join(ROOT, "scripts/build"), "--bench"], {
  cwd: ROOT,
  stdout: "inherit",
  stderr: "inherit",
});
if (build.exitCode !== 0) {
  console.error("bench: scripts/build --bench failed");
  process.exit(1);
}

const previous = existsSync(OUT) ? readFileSync(OUT, "utf8") : "";
/** The previous file's sections by name (each starts with a `<!-- section: name -->` line). */
const kept = new Map(
  [...previous.split(MARKER)[0].matchAll(/<!-- section: ([\w-]+) -->\n([\s\S]*?)(?=<!-- section: |$)/g)].map(
    (m) => [m[1], m[2].trim()],
  ),
);
const parts: string[] = [];
const section = (name: string, text: string) => parts.push(`<!-- section: ${name} -->\n${text}`);
// The Workers bundle, as `wrangler deploy` would upload it.
const workers = Bun.spawnSync(["bash", join(ROOT, "scripts/build"), "--workers"], {
  cwd: ROOT,
  stdout: "pipe",
  stderr: "pipe",
});
const size = /Workers bundle: \S+ (\S+), gzipped (\S+ \S+)/.exec(workers.stdout.toString());
section(
  "sizes",
  `## Sizes\n\n| artifact | size |\n|---|---:|\n| Workers bundle (\`scripts/build --workers\`) | ${size ? `${size[1]}, ${size[2]} gzipped` : "build failed"} |\n| binary (\`scripts/build\`) | see the table below |`,
);
for (const name of SECTIONS) {
  const file = join(ROOT, "scripts/bench", `${name}.ts`);
  if (!existsSync(file)) continue;
  if (only && !only.includes(name)) {
    const old = kept.get(name);
    if (old) section(name, old);
    continue;
  }
  console.error(`\n== ${name}`);
  const args = opt.duration && (name === "binary" || name === "runtimes") ? ["--duration", opt.duration] : [];
  const p = Bun.spawn([process.execPath, "run", file, ...args], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "inherit",
    timeout: 20 * 60_000,
  });
  const [code, out] = await Promise.all([p.exited, new Response(p.stdout).text()]);
  console.log(out);
  section(name, code === 0 ? out.trim() : `## ${name}\n\n**This section failed (exit ${code}).**`);
}

const notes = previous.includes(MARKER) ? previous.slice(previous.indexOf(MARKER)) : `${MARKER}\n`;
const args = process.argv.slice(2).join(" ");
writeFileSync(
  OUT,
  `# Benchmarks

${only ? `Sections re-measured on ${new Date().toISOString().slice(0, 10)} with \`bun run scripts/bench/all.ts ${args}\`: ${only.join(", ")}; the others are as earlier runs left them (each section names its command; the notes below say when each was run).` : `Measured side by side in one run of \`npm run bench\`${args ? ` (\`bun run scripts/bench/all.ts ${args}\`)` : ""} on ${new Date().toISOString().slice(0, 10)}.`}

- machine: ${machine()}
- runtime: Bun ${Bun.version}; Deno and wrangler as pinned in package.json
- numbers are from one run on a shared 2-core machine: read ratios and orders of magnitude, not the last digit. They never gate CI.

${parts.join("\n\n")}

${notes}`,
);
console.error(`bench: wrote ${OUT}`);
