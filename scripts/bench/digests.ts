/**
 * Benchmark section "digests": what the signature check's two digests cost per request on Bun
 * and on Deno, with each implementation an entry could pick (src/entry/*-digests.ts, and
 * node:crypto's, the default), over bodies of the sizes jobs have. The entries' choices rest on
 * this table. Runs itself under Deno (`--inner`) for the Deno rows. Prints a markdown section.
 * Usage: bun run scripts/bench/digests.ts
 */
import { resolve } from "node:path";
import { denoDigests, jsDigests } from "../../src/entry/js-digests.ts";
import { nodeDigests, type SignatureDigests } from "../../src/qstash/verify.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "../..");
/**
 * Small failure callbacks (the runtimes section's are ~130 bytes), around where the two SHA-256s cross on
 * Deno, a failure callback (examples/jobs/failure.json), then bigger: an Alertmanager group of 100 alerts is ~50 KB.
 */
const SIZES = [128, 256, 384, 512, 674, 4096, 65536];
/** The JWT's signing input (header.claims) of a QStash signature is about this long. */
const SIGNED = "e".repeat(430);
const KEY = "sig_benchKey0123456789abcdefghij";

/** Mean µs per call over ~0.2 s, after a warm-up. */
function usPer(fn: () => unknown): number {
  for (let i = 0; i < 2000; i++) fn();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 200) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
  }
  return ((performance.now() - t0) * 1000) / n;
}

type Row = { what: string; impl: string; us: number };

function measure(impls: Record<string, SignatureDigests>): Row[] {
  const rows: Row[] = [];
  for (const [impl, d] of Object.entries(impls)) {
    const mac = d.hmac(KEY);
    rows.push({ what: `HMAC of a ${SIGNED.length}-byte token`, impl, us: usPer(() => mac(SIGNED)) });
    for (const size of SIZES) {
      const body = new Uint8Array(size).map((_, i) => 32 + (i % 90));
      rows.push({ what: `SHA-256 of a ${size}-byte body`, impl, us: usPer(() => d.sha256(body)) });
    }
  }
  return rows;
}

const deno = (globalThis as { Deno?: { args: string[] } }).Deno;
if (deno?.args.includes("--inner")) {
  console.log(
    JSON.stringify(
      measure({
        javascript: jsDigests,
        "node:crypto": nodeDigests,
        "the entry's (denoDigests)": denoDigests,
      }),
    ),
  );
} else {
  const { bunDigests } = await import("../../src/entry/bun-digests.ts");
  const bun = measure({ "Bun.CryptoHasher": bunDigests, javascript: jsDigests, "node:crypto": nodeDigests });
  const p = Bun.spawnSync(
    [
      resolve(ROOT, "node_modules/.bin/deno"),
      "run",
      "-A",
      resolve(ROOT, "scripts/bench/digests.ts"),
      "--inner",
    ],
    { cwd: ROOT, stderr: "inherit" },
  );
  if (p.exitCode !== 0) {
    console.error("digests: the Deno run failed");
    process.exit(1);
  }
  const onDeno = JSON.parse(p.stdout.toString()) as Row[];
  const table = (runtime: string, rows: Row[]) => {
    const impls = [...new Set(rows.map((r) => r.impl))];
    const whats = [...new Set(rows.map((r) => r.what))];
    const head = `| ${runtime}: µs per call | ${impls.join(" | ")} |\n|---|${impls.map(() => "---:").join("|")}|`;
    const body = whats.map(
      (w) =>
        `| ${w} | ${impls.map((i) => rows.find((r) => r.what === w && r.impl === i)?.us.toFixed(2)).join(" | ")} |`,
    );
    return [head, ...body].join("\n");
  };
  console.log(`## The signature check's digests on each runtime

Mean µs per call, in one process per runtime (about 0.2 s of calls each, after 2000 warm-up calls). The HMAC is keyed once per signing key, as the verifier does. The Bun entry uses Bun.CryptoHasher for both; the Deno entry the JavaScript HMAC, and for the body the JavaScript SHA-256 under 384 bytes and node:crypto's from there (\`denoDigests\`, its own column). Command: \`bun run scripts/bench/digests.ts\`.

${table("Bun", bun)}

${table("Deno", onDeno)}`);
}
