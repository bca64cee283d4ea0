/**
 * The benchmark baseline as a Hono app: one POST route that reads the body and answers
 * {ok:true} — no signature, no ledger, no metrics. Served by bench-bare.ts (Bun),
 * bench-bare-deno.ts (Deno) and bench-bare-worker.ts (workerd), so each runtime's worker is
 * compared with the same app on the same runtime.
 */
import { Hono } from "hono";

export const bareApp = new Hono();
bareApp.post("/jobs/failure", async (c) => {
  await c.req.arrayBuffer();
  return c.json({ ok: true });
});
bareApp.get("/health/ready", (c) => c.json({ status: "ready" }));
