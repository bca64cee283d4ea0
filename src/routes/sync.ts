/**
 * The config-sync read routes (README, "Operations"), registered by createApp under /v1 (behind the
 * admin token): GET /v1/sync/status and GET /v1/sync/plan?target=<name>.
 */
import type { Hono } from "hono";
import { z } from "zod";
import type { Deps } from "../jobs/deps.ts";
import { planFullSync } from "../sync/plan.ts";
import { syncStatus } from "../sync/status.ts";
import { queryText, valid } from "./validate.ts";

export function registerSyncRoutes(app: Hono, deps: Deps): void {
  app.get("/v1/sync/status", async (c) => c.json(await syncStatus(deps)));
  app.get("/v1/sync/plan", valid("query", z.object({ target: queryText().optional() })), async (c) =>
    c.json(await planFullSync(deps, c.req.valid("query").target, true)),
  );
}
