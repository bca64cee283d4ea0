/**
 * The read routes of analysis (README, "Operations"), registered by createApp under /v1 (behind the admin
 * token): GET /v1/analyses/:alertId — the latest analysis and its status — and
 * GET /v1/alerts/:alertId/similar?k= — the indexed alert's best matches with scores. The HTTP
 * edge of the analysis module: the work is done by status.ts and similarity.ts.
 */
import type { Hono } from "hono";
import { z } from "zod";
import { similarTo } from "../analysis/similarity.ts";
import { getAnalysis } from "../analysis/status.ts";
import { notFound } from "../errors.ts";
import type { Deps } from "../jobs/deps.ts";
import { idParam, queryInt, valid } from "./validate.ts";

const MAX_K = 100;

const similarQuery = z.object({ k: queryInt(1, MAX_K).optional() });

export function registerAnalysisRoutes(app: Hono, deps: Deps): void {
  app.get("/v1/analyses/:alertId", valid("param", idParam("alertId")), async (c) => {
    const id = c.req.valid("param").alertId;
    const rec = await getAnalysis(deps.store, id);
    if (!rec) throw notFound(`analysis of alert ${id}`);
    return c.json(rec);
  });
  app.get(
    "/v1/alerts/:alertId/similar",
    valid("param", idParam("alertId")),
    valid("query", similarQuery),
    async (c) => {
      const k = c.req.valid("query").k ?? deps.config.ai.similar.top_k;
      return c.json(await similarTo(deps, c.req.valid("param").alertId, k));
    },
  );
}
