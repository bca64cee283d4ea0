/**
 * The read routes of analysis (README, "Operations"), registered by createApp under /v1 (behind the admin
 * token): GET /v1/analyses/:alertId — the latest analysis and its status — and
 * GET /v1/alerts/:alertId/similar?k= — the indexed alert's best matches with scores. The HTTP
 * edge of the analysis module: the work is done by status.ts and similarity.ts.
 */
import type { Hono } from "hono";
import { similarTo } from "../analysis/similarity.ts";
import { getAnalysis } from "../analysis/status.ts";
import type { Deps } from "../deps.ts";
import { JobError, notFound } from "../errors.ts";

const MAX_K = 100;

export function registerAnalysisRoutes(app: Hono, deps: Deps): void {
  app.get("/v1/analyses/:alertId", async (c) => {
    const id = c.req.param("alertId");
    const rec = await getAnalysis(deps.store, id);
    if (!rec) throw notFound(`analysis of alert ${id}`);
    return c.json(rec);
  });
  app.get("/v1/alerts/:alertId/similar", async (c) => {
    const raw = c.req.query("k");
    const k = raw === undefined ? deps.config.ai.similar.top_k : Number(raw);
    if (!Number.isInteger(k) || k < 1 || k > MAX_K)
      throw new JobError({
        code: "invalid_query",
        message: `k must be a whole number from 1 to ${MAX_K}`,
        status: 400,
        retryable: false,
        details: [{ path: "k", message: `got ${raw}` }],
      });
    return c.json(await similarTo(deps, c.req.param("alertId"), k));
  });
}
