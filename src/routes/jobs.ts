/**
 * The job read routes (README, "Operations"), registered by createApp under /v1 (behind the admin
 * token): GET /v1/jobs/:messageId (the ledger entry, with its dead letter) and
 * GET /v1/autoscale/decisions.
 */
import type { Hono } from "hono";
import { z } from "zod";
import { notFound } from "../errors.ts";
import type { Deps } from "../jobs/deps.ts";
import { deadLetterOf } from "../jobs/failure.ts";
import { recentDecisions } from "../scale/run.ts";
import { idParam, queryInt, valid } from "./validate.ts";

const decisionsQuery = z.object({ limit: queryInt(1, 200).optional() });

export function registerJobRoutes(app: Hono, deps: Deps): void {
  app.get("/v1/jobs/:messageId", valid("param", idParam("messageId")), async (c) => {
    const id = c.req.valid("param").messageId;
    const [entry, dead] = await Promise.all([deps.ledger.get(id), deadLetterOf(deps.store, id)]);
    if (!entry) throw notFound(`job ${id}`);
    return c.json({ ...entry, ...(dead ? { dead_letter: dead } : {}) });
  });
  app.get("/v1/autoscale/decisions", valid("query", decisionsQuery), async (c) =>
    c.json({ decisions: await recentDecisions(deps.store, c.req.valid("query").limit ?? 50) }),
  );
}
