/**
 * Benchmark section "notifications": the compiled worker (dist/alertagent-worker, or --bin)
 * answering signed `POST /jobs/notification` jobs — one Alertmanager group of 2 alerts per job,
 * each a new message id and groupKey — delivered to a loopback webhook sink, under wrk in its
 * own process. Also checks that the sink received exactly what the worker counted as sent.
 * Prints a markdown section on stdout. Usage: bun run scripts/bench/notify.ts [--duration 10]
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import {
  cleanup,
  fail,
  fmt,
  freePort,
  loadOptions,
  markdownTable,
  rssMb,
  runWrk,
  spawnServer,
  stopServer,
  writePool,
  wrkLua,
} from "./lib.ts";

const ROOT = resolve(import.meta.dir, "../..");
const { load: LOAD, extra: opt } = loadOptions({ bin: join(ROOT, "dist/alertagent-worker") });
const POOL = Math.max(40_000, LOAD.durationS * 8_000);
const BIN = resolve(opt.bin);
const PAYLOAD = JSON.parse(readFileSync(join(ROOT, "test/fixtures/alertmanager-firing.json"), "utf8"));

let delivered = 0;
const sink = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    await req.arrayBuffer();
    delivered++;
    return Response.json({ ok: true });
  },
});

const scratch = join(tmpdir(), `alertagent-bench-notify-${process.pid}`);
const files = { config: `${scratch}.yaml`, pool: `${scratch}.tsv`, script: `${scratch}.lua` };
writeFileSync(
  files.config,
  `worker: { concurrency: 1024 }
qstash: { current_signing_key: ${DEV_SIGNING_KEYS.current}, next_signing_key: ${DEV_SIGNING_KEYS.next} }
channels:
  sink: { type: webhook, url: "http://127.0.0.1:${sink.port}/hook" }
`,
);
const port = freePort();
const url = `http://127.0.0.1:${port}`;
const worker = await spawnServer([BIN, "serve", "--config", files.config, "--port", String(port)], url, {
  cwd: tmpdir(),
  env: { ...process.env, ALERTAGENT_CONFIG: "" } as Record<string, string>,
});
let r: Awaited<ReturnType<typeof runWrk>>;
let metrics: string;
let idle: number;
try {
  const run = Date.now().toString(36);
  console.error(`bench-notify: signing ${POOL} jobs…`);
  await writePool(
    files.pool,
    url,
    "/jobs/notification",
    POOL,
    (n) =>
      JSON.stringify({
        channels: ["sink"],
        payload: { ...PAYLOAD, groupKey: `${PAYLOAD.groupKey}:bench-${run}-${n}` },
      }),
    300 + 3 * LOAD.durationS,
  );
  writeFileSync(files.script, wrkLua("/jobs/notification"));
  idle = rssMb(worker.proc.pid);
  console.error("bench-notify: loading…");
  r = await runWrk({ ...LOAD, url, script: files.script, pool: files.pool, pid: worker.proc.pid });
  metrics = await (await fetch(`${url}/metrics`)).text();
} finally {
  await stopServer(worker);
  sink.stop(true);
  for (const f of Object.values(files)) rmSync(f, { force: true });
}
if (!r || !metrics) fail("no result");

const count = (re: RegExp) => Number(re.exec(metrics)?.[1] ?? 0);
const succeeded = count(
  /^alertagent_jobs_total\{[^}]*family="notification"[^}]*outcome="succeeded"[^}]*\} (\S+)$/m,
);
const sent = count(/^alertagent_notifications_total\{[^}]*channel="sink"[^}]*status="sent"[^}]*\} (\S+)$/m);
console.log(`## Notifications to a loopback webhook (the binary)

Compiled worker, signed \`POST /jobs/notification\`, one Alertmanager group (2 alerts) per job, each a new message id and groupKey, to a loopback webhook sink; wrk ${LOAD.connections} connections, ${LOAD.threads} threads, ${LOAD.durationS} s. Command: \`bun run scripts/bench/notify.ts\`.

${markdownTable(
  ["metric", "value", "budget (issue 7)"],
  [
    ["throughput (jobs/s)", fmt(r.rps), `≥ 5,000 ${r.rps >= 5000 ? "✅" : "❌"}`],
    ["latency p50 / p99 (ms)", `${fmt(r.p50Ms, 2)} / ${fmt(r.p99Ms, 2)}`, ""],
    ["jobs answered (non-2xx, socket errors)", `${r.requests} (${r.non2xx}, ${r.errors})`, ""],
    ["jobs the worker counted as succeeded", String(succeeded), ""],
    ["deliveries the sink received / the worker counted as sent", `${delivered} / ${sent}`, ""],
    [
      "worker RSS idle → peak (MB)",
      `${fmt(idle, 1)} → ${fmt(r.peakRssMb, 1)}`,
      `peak < 150 MB ${r.peakRssMb < 150 ? "✅" : "❌"}`,
    ],
  ],
)}${r.wraps > 0 ? `\n\n**Warning:** the pool of ${POOL} jobs ran out ${r.wraps} time(s).` : ""}
`);
cleanup();
