/**
 * A/B of two checkouts of the worker on Deno, in one process: signed failure callbacks go to each
 * in alternating batches, so the host's swings (one build can cost 60 or 110 µs per job from one
 * run to the next here) fall on both sides alike. Each side runs the serve path's handler on the
 * memory store (`main serve` with the socket left out), with 32 callers. Not a section of
 * `npm run bench`: a tool for telling changes of a few percent apart (BENCHMARKS.md, thirteenth
 * session). Prints each side's CPU per job and the median of the per-batch ratios (B / A).
 * Usage, from the project directory:
 *   node_modules/.bin/deno run -A --config deno.json scripts/bench/deno-ab.ts <checkout A> <checkout B> [jobs per side]
 * Each checkout needs its node_modules (a symlink to this one's will do).
 */
import process from "node:process";

const [dirA, dirB, perSideArg] = Deno.args;
if (!dirA || !dirB) {
  console.error("usage: deno-ab.ts <checkout A> <checkout B> [jobs per side, default 60000]");
  Deno.exit(2);
}
const PER_SIDE = Number(perSideArg ?? 60_000);
const BATCH = 2_000;
const WARM_BATCHES = 5;
const CALLERS = 32;
const URL_BASE = "http://127.0.0.1:1";
const enc = new TextEncoder();
const devnull = Deno.openSync("/dev/null", { write: true });
const out = (t: string) => void devnull.writeSync(enc.encode(t));

/** Starts `main serve` of a checkout and returns its request handler (the answer-batching one, as the Deno entry serves). */
async function handlerOf(dir: string): Promise<(req: Request) => Promise<Response>> {
  const mod = (path: string) => import(`${Deno.realPathSync(dir)}/src/${path}`);
  const [
    { main },
    { PromMetrics },
    { denoDigests },
    { nodeFileAccess },
    net,
    { nodeSqlite },
    turns,
    defaults,
  ] = await Promise.all([
    mod("cli/main.ts"),
    mod("telemetry/prom-metrics.ts"),
    mod("entry/js-digests.ts"),
    mod("entry/node-fs.ts"),
    mod("entry/node-net.ts"),
    mod("entry/sqlite-node.ts"),
    mod("entry/turn-batch.ts"),
    mod("config/default.ts"),
  ]);
  let handler: ((req: Request) => Promise<Response>) | undefined;
  void main(
    ["serve", "--port", "1"],
    {
      runtime: "deno",
      env: {
        ...Deno.env.toObject(),
        ALERTAGENT_CONFIG: `${defaults.DEFAULT_CONFIG_YAML}store:\n  kind: memory\n`,
      },
      readFile: (p: string) => Deno.readTextFile(p),
      serve(fetch: (req: Request) => Promise<Response>) {
        handler = turns.turnBatchedAnswers(fetch);
        return { port: 1, stop: async () => {} };
      },
      onSignal: () => {},
      stdout: out,
      stderr: out,
      exit: (code: number) => Deno.exit(code),
      newMetrics: () => new PromMetrics({ process: true, rss: () => Deno.memoryUsage().rss }),
      fs: nodeFileAccess,
      mayWrite: () => true,
      dial: net.nodeDial,
      openSqlite: nodeSqlite,
      tcp: net.nodeTcp,
      digests: denoDigests,
    },
    Date.now(),
  );
  while (!handler) await new Promise((r) => setTimeout(r, 10));
  return handler;
}

/** Signed failure callbacks, each a new message: [id, signature, body] (signed by checkout A's code). */
async function pool(side: string): Promise<[string, string, string][]> {
  const { signRequest } = await import(`${Deno.realPathSync(dirA)}/src/qstash/sign.ts`);
  const { DEV_SIGNING_KEYS } = await import(`${Deno.realPathSync(dirA)}/src/config/default.ts`);
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const made: [string, string, string][] = [];
  for (let i = 0; i < PER_SIDE; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, PER_SIDE - i) }, async (_, j) => {
      const n = i + j;
      const body = JSON.stringify({
        status: 503,
        sourceMessageId: `src_ab_${side}_${n}`,
        url: "https://w.example.com/jobs/notification",
        retried: 3,
      });
      const sig = await signRequest({
        key: DEV_SIGNING_KEYS.current,
        url: `${URL_BASE}/jobs/failure`,
        body,
        claims: { exp },
      });
      return [`msg_ab_${side}_${n}`, sig, body] as [string, string, string];
    });
    made.push(...(await Promise.all(batch)));
  }
  return made;
}

const sides = [
  { dir: dirA, handle: await handlerOf(dirA), jobs: await pool("a"), next: 0, perJob: [] as number[] },
  { dir: dirB, handle: await handlerOf(dirB), jobs: await pool("b"), next: 0, perJob: [] as number[] },
];
let refused = 0;

async function runBatch(side: (typeof sides)[number]): Promise<number> {
  const end = side.next + BATCH;
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (side.next < end) {
        const [id, sig, body] = side.jobs[side.next++];
        const res = await side.handle(
          new Request(`${URL_BASE}/jobs/failure`, {
            method: "POST",
            body,
            headers: {
              "content-type": "application/json",
              "content-length": String(enc.encode(body).length),
              "upstash-message-id": id,
              "upstash-signature": sig,
              "upstash-retried": "0",
            },
          }),
        );
        if (res.status !== 200) refused++;
        await res.arrayBuffer();
      }
    }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / BATCH;
}

for (let k = 0; (k + 1) * BATCH <= PER_SIDE; k++) {
  // Each side goes first in every other round.
  for (const side of k % 2 ? [...sides].reverse() : sides) {
    const us = await runBatch(side);
    if (k >= WARM_BATCHES) side.perJob.push(us);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
for (const [name, side] of [
  ["A", sides[0]],
  ["B", sides[1]],
] as const)
  console.log(
    `${name} ${side.dir}: ${mean(side.perJob).toFixed(1)} µs of CPU per job (median batch ${median(side.perJob).toFixed(1)})`,
  );
const ratios = sides[0].perJob.map((a, i) => sides[1].perJob[i] / a);
console.log(
  `B / A: median ${median(ratios).toFixed(3)} over ${ratios.length} pairs of batches (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)})`,
);
if (refused > 0) {
  console.error(`${refused} jobs were not answered 200: the comparison is not of the same work`);
  Deno.exit(1);
}
Deno.exit(0);
