/**
 * The notification read and admin routes (README, "Operations"), registered by createApp under /v1
 * (behind the admin token): GET /v1/notifications/:messageId and POST /v1/templates/preview.
 * Registering builds the notifier, so a channel that cannot work here refuses the worker at
 * start-up (a ConfigError) rather than at send time.
 */
import type { Hono } from "hono";
import type { Deps } from "../deps.ts";
import { notFound } from "../errors.ts";
import { notifierFor } from "../notify/notifier.ts";
import { previewSchema, previewTemplates } from "../notify/preview.ts";
import { idParam, limitBody, valid } from "./validate.ts";

export function registerNotificationRoutes(app: Hono, deps: Deps): void {
  const n = notifierFor(deps);
  app.get("/v1/notifications/:messageId", valid("param", idParam("messageId")), async (c) => {
    const id = c.req.valid("param").messageId;
    const record = await n.records.get(id);
    if (!record) throw notFound(`notification ${id}`);
    return c.json(record);
  });
  // The jobs' body limit, then the preview's schema (previewSchema is what /v1/templates/preview takes).
  app.post(
    "/v1/templates/preview",
    limitBody(deps.config.worker.body_limit),
    valid("json", previewSchema),
    async (c) => c.json(await previewTemplates(deps, c.req.valid("json"))),
  );
}
