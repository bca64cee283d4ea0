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
import { readLimited } from "./read-body.ts";

export function registerNotificationRoutes(app: Hono, deps: Deps): void {
  const n = notifierFor(deps);
  app.get("/v1/notifications/:messageId", async (c) => {
    const id = c.req.param("messageId");
    const record = await n.records.get(id);
    if (!record) throw notFound(`notification ${id}`);
    return c.json(record);
  });
  app.post("/v1/templates/preview", async (c) => {
    // The same body limit as the jobs whose rendering it previews.
    const limit = deps.config.worker.body_limit;
    const raw = await readLimited(c.req.raw, limit);
    if (raw.byteLength > limit)
      throw new JobError({
        code: "payload_too_large",
        message: `the body is larger than worker.body_limit (${limit} bytes)`,
        status: 413,
        retryable: false,
        details: { limit },
      });
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(raw));
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
