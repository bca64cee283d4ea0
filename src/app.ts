/**
 * createApp(deps): the whole product as a Hono app. Operations routes (no auth), read and
 * admin routes under /v1 (bearer token when worker.admin_token is set), and one POST route
 * per mounted job family, all run through the job runner. One onError turns every error
 * into a JSON problem.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { HANDLERS } from "../handlers/index.ts";
import { base64Text } from "./base64.ts";
import type { Family } from "./config/schema.ts";
import { invalid, JobError, notFound, toJobError, unauthorized } from "./errors.ts";
import type { Deps } from "./jobs/deps.ts";
import { bodyLimitOf, runJob } from "./jobs/runner.ts";
import { renderDashboard } from "./ops/dashboard.ts";
import { dashboardData } from "./ops/dashboard-data.ts";
import { engineChecks, readiness } from "./ops/health.ts";
import { buildStats } from "./ops/stats.ts";
import { problemReply, retriedOf, toResponse } from "./qstash/outcome.ts";
import { readLimited } from "./read-limited.ts";
import { registerAnalysisRoutes } from "./routes/analysis.ts";
import { registerJobRoutes } from "./routes/jobs.ts";
import { registerNotificationRoutes } from "./routes/notifications.ts";
import { registerSyncRoutes } from "./routes/sync.ts";
import { safeEqual } from "./safe-equal.ts";
import { JOB_OUTCOMES } from "./telemetry/metric-defs.ts";

/** The job families this worker answers: mounted by its type and implemented. */
export function mountedJobFamilies(deps: Deps): Family[] {
  return deps.families.filter((f) => HANDLERS[f]);
}

export function createApp(deps: Deps): Hono {
  const app = new Hono();
  const { config } = deps;

  app.onError((err, c) => {
    if (err instanceof JobError) return toResponse(problemReply(err));
    // Hono's own refusals (a malformed JSON body for a validator) keep their status.
    if (err instanceof HTTPException)
      return toResponse(problemReply(invalid("bad_request", err.message), err.status));
    // Anything else is a bug: the stores fail as store_unavailable (a JobError, above), so a 503
    // here would send the operator to a store that is fine.
    deps.logger.error("request failed", { path: c.req.path, error: err, stack: err.stack });
    return toResponse(problemReply(toJobError(err)));
  });
  app.notFound((c) => toResponse(problemReply(notFound(`route ${c.req.method} ${c.req.path}`))));

  // ---- operations (README, "Operations")
  app.get("/health/live", (c) => c.json({ status: "ok" }));
  app.get("/health/ready", async (c) => {
    const r = await readiness(deps);
    const failed = Object.entries(r.checks)
      .filter(([, v]) => !v.ok)
      .map(([k, v]) => `${k}: ${v.detail}`);
    return c.json(
      r.ready ? { status: "ready", checks: r.checks } : { status: "not_ready", failed, checks: r.checks },
      r.ready ? 200 : 503,
    );
  });
  app.get("/health", async (c) => {
    const [r, engines] = await Promise.all([readiness(deps), engineChecks(deps)]);
    // An LLM engine being down degrades the worker (the built-in engine still answers), as a store
    // set up to lose keys does; the store down stops it.
    const enginesOk = Object.values(engines).every((e) => e.ok);
    const storeSound = !r.checks.store.warnings?.length;
    const status = !r.checks.store.ok ? "down" : r.ready && enginesOk && storeSound ? "ok" : "degraded";
    return c.json(
      {
        status,
        name: config.worker.name,
        type: config.worker.type,
        version: deps.version,
        runtime: deps.runtime,
        uptime_s: Math.round((deps.now() - deps.startedAt) / 1000),
        families: mountedJobFamilies(deps),
        in_flight: deps.gate.inFlight,
        concurrency: deps.gate.limit,
        checks: { ...r.checks, ...(Object.keys(engines).length ? { engines } : {}) },
      },
      status === "down" ? 503 : 200,
    );
  });
  app.get("/stats", async (c) => {
    const stats = buildStats(await deps.metrics.snapshot());
    return c.json({
      name: config.worker.name,
      scope: deps.metrics.scope,
      concurrency: deps.gate.limit,
      ...stats,
    });
  });
  app.get("/metrics", async (c) => {
    // One info series per process: a reload that renames the worker replaces it (two at 1 break
    // `group_left` joins on it).
    deps.metrics.setOnly(
      "info",
      { name: config.worker.name, type: config.worker.type, version: deps.version, runtime: deps.runtime },
      1,
    );
    // Store-aggregated metrics hold what was recorded until a flush: the info series too. A store
    // refusing writes (full) but answering reads still shows what it has; what failed is kept
    // for the next flush, and a scrape that fails would read as "worker down".
    await deps.metrics.flush()?.catch(() => {});
    return c.body(await deps.metrics.render(), 200, { "content-type": deps.metrics.contentType });
  });

  // ---- read and admin routes (README, "Operations")
  const adminOnly: MiddlewareHandler = async (c, next) => {
    const token = config.worker.admin_token;
    if (token && !safeEqual(adminCredential(c.req.header("authorization")), token)) {
      const reply = problemReply(
        unauthorized(
          "admin_token_required",
          "this route needs Authorization: Bearer <worker.admin_token> (or Basic, with the token as the password)",
          false,
        ),
      );
      // The challenge makes a browser ask for it: the dashboard opens with any user name and the token.
      reply.headers["WWW-Authenticate"] = 'Basic realm="alertagent-worker", charset="UTF-8"';
      return toResponse(reply);
    }
    await next();
  };
  app.use("/v1/*", adminOnly);
  app.use("/dashboard", adminOnly);
  app.get("/dashboard", async (c) => c.html(renderDashboard(await dashboardData(deps))));
  registerJobRoutes(app, deps);
  registerAnalysisRoutes(app, deps);
  registerSyncRoutes(app, deps);
  registerNotificationRoutes(app, deps);

  // ---- job routes (README, "How a job is handled")
  const publicUrl = config.worker.public_url?.replace(/\/+$/, "");
  for (const family of mountedJobFamilies(deps)) {
    // Every counter a rule reads exists from the start, at 0: a series born at 1 has no increase
    // Prometheus can see, and the first dead letter after a start would alert no one.
    for (const outcome of JOB_OUTCOMES) deps.metrics.inc("jobs", { family, outcome }, 0);
    deps.metrics.inc("retries", { family }, 0);
    deps.metrics.inc("deadLetters", { family }, 0);
    deps.metrics.add("inFlight", { family }, 0);
    const handler = HANDLERS[family] as NonNullable<(typeof HANDLERS)[Family]>;
    app.post(`/jobs/${family}`, async (c) => {
      const h = c.req.raw.headers;
      const reply = await runJob(deps, handler, {
        family: family as Family,
        body: () => readLimited(c.req.raw, bodyLimitOf(family as Family, config.worker.body_limit)),
        messageId: h.get("upstash-message-id") ?? h.get("idempotency-key") ?? undefined,
        retried: retriedOf(h),
        scheduleId: h.get("upstash-schedule-id") ?? undefined,
        signature: h.get("upstash-signature"),
        traceparent: h.get("traceparent"),
        query: c.req.url.includes("?") ? c.req.query() : {},
        subject: publicUrl ? publicUrl + pathAndQuery(c.req.url) : undefined,
      });
      const flushing = deps.metrics.flush();
      if (flushing && deps.background) deps.background(flushing);
      return toResponse(reply);
    });
  }
  return app;
}

/** The path and query of a URL, without parsing the whole URL. */
function pathAndQuery(url: string): string {
  const i = url.indexOf("/", url.indexOf("//") + 2);
  return i < 0 ? "/" : url.slice(i);
}

/**
 * The admin token an Authorization header gives: `Bearer <token>`, or `Basic` with the token as
 * the password (what a browser sends). Schemes are case-insensitive (RFC 9110 §11.1).
 */
function adminCredential(header: string | undefined): string {
  const [, scheme, value] = /^(bearer|basic) +(.*)$/i.exec(header ?? "") ?? [];
  if (!scheme) return "";
  if (scheme.toLowerCase() === "bearer") return value;
  try {
    const pair = base64Text(value.trim());
    return pair.slice(pair.indexOf(":") + 1);
  } catch {
    return "";
  }
}
