/**
 * The benchmark's baseline (scripts/bench.ts): a bare Hono app on Bun.serve with one POST
 * route that reads the body and answers {ok:true} — no signature, no ledger, no metrics.
 * `scripts/build --bench` compiles it to dist/bench-bare the same way as the worker, so both
 * sides of the comparison are the same runtime form. Usage: bench-bare --port N.
 */
import { Hono } from "hono";

const i = process.argv.indexOf("--port");
const port = i > 0 ? Number(process.argv[i + 1]) : 8090;
const app = new Hono();
app.post("/jobs/failure", async (c) => {
  await c.req.arrayBuffer();
  return c.json({ ok: true });
});
app.get("/health/ready", (c) => c.json({ status: "ready" }));

const server = Bun.serve({ hostname: "127.0.0.1", port, fetch: app.fetch });
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
console.log(JSON.stringify({ msg: "listening", port: server.port }));
