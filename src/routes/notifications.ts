/**
 * The notification read and admin routes (README, "Operations"), registered by createApp under /v1
 * (behind the admin token): GET /v1/notifications/:messageId and POST /v1/templates/preview.
 * Registering builds the notifier, so a channel that cannot work here refuses the worker at
 * start-up (a ConfigError) rather than at send time.
 */
import type { Hono } from "hono";
import type { Deps } from "../deps.ts";
import { JobError, notFound } from "../errors.ts";
import { notifierFor } from "../notify/notifier.ts";
import { previewTemplates } from "../notify/preview.ts";

export function registerNotificationRoutes(app: Hono, deps: Deps): void {
  const n = notifierFor(deps);
  app.get("/v1/notifications/:messageId", async (c) => {
    const id = c.req.param("messageId");
    const record = await n.records.get(id);
    if (!record) throw notFound(`notification ${id}`);
    return c.json(record);
  });
  app.post("/v1/templates/preview", async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new JobError({
        code: "invalid_json",
        message: "the body is not valid JSON",
        status: 400,
        retryable: false,
      });
    }
    return c.json(await previewTemplates(deps, body));
  });
}
