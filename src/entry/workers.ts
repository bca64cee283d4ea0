/**
 * The Cloudflare Workers entry (`wrangler dev` / `wrangler deploy`). Config comes from the
 * ALERTAGENT_CONFIG var (YAML text) with ${VAR} filled from the other vars and secrets, or
 * the embedded default. Metrics are aggregated in the store (every isolate adds to one set)
 * and flushed after the response with ctx.waitUntil. The app is built once per isolate.
 */
import { connect } from "cloudflare:sockets";
import type { Hono } from "hono";
import { createApp } from "../app.ts";
import { addressedHere, isLoopback, usesDevKeys } from "../config/default.ts";
import { defaultConfig, loadConfig } from "../config/load.ts";
import { ConfigError, type JobError, transient } from "../errors.ts";
import { maskText } from "../mask.ts";
import { pacedForQstash, problemReply, retriedOf, toResponse } from "../qstash/outcome.ts";
import { fileDeliveryRefusal } from "../sync/file.ts";
import { createLogger } from "../telemetry/logger.ts";
import { StoreMetrics } from "../telemetry/store-metrics.ts";
import { asOnWorkers, buildDeps, storeFor, workersRefusal } from "../wire.ts";
import { webTcp } from "./web-tcp.ts";

type Env = Record<string, unknown>;
interface Ctx {
  waitUntil(p: Promise<unknown>): void;
}

let built:
  | { app: Hono; deps: ReturnType<typeof buildDeps>; devKeys: boolean }
  | { error: ConfigError }
  | undefined;

/**
 * QStash's local-development keys are public: anyone can sign with them. The binary refuses to
 * listen off loopback with them; a Worker has no address of its own, so it refuses each request
 * not from this machine (`wrangler dev`), as a config error that keeps QStash retrying.
 */
const DEV_KEYS_REFUSED =
  "this Worker runs with QStash's public local-development signing keys (the embedded default, or a config that names them), which anyone can sign with: they are accepted only from this machine (wrangler dev); set ALERTAGENT_CONFIG with your own qstash.current_signing_key and next_signing_key";
let pending: Promise<unknown>[] = [];

function build(env: Env) {
  // [vars] may be TOML numbers, booleans or JSON (Cloudflare's docs): a `${VAR}` reads their text.
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (typeof v === "string") vars[k] = v;
    else if (typeof v === "number" || typeof v === "boolean") vars[k] = String(v);
    else if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype)
      vars[k] = JSON.stringify(v);
  try {
    const config = asOnWorkers(
      vars.ALERTAGENT_CONFIG
        ? loadConfig(vars.ALERTAGENT_CONFIG, vars, "ALERTAGENT_CONFIG")
        : defaultConfig(vars),
    );
    // Everything a Worker refuses, named at once as check-config --workers names it (a file
    // delivery among them: the embedded default's only warns).
    const refused = vars.ALERTAGENT_CONFIG ? workersRefusal(config) : undefined;
    if (refused) throw refused;
    const noFiles = fileDeliveryRefusal(config, "Cloudflare Workers");
    const store = storeFor(config.store, { runtime: "workerd" });
    const logger = createLogger({ level: config.worker.log_level, base: { name: config.worker.name } });
    const deps = buildDeps({
      config,
      store,
      metrics: new StoreMetrics(store),
      runtime: "workerd",
      logger,
      background: (p) => void pending.push(p),
      // SMTP over Workers' TCP sockets (outbound port 25 is blocked there: refused at start-up).
      tcp: webTcp(connect),
    });
    if (noFiles) logger.warn(noFiles.message);
    if (store.kind === "memory")
      logger.warn(
        "store.kind memory on Workers keeps state per isolate; use store.kind upstash in production",
      );
    const devKeys = usesDevKeys(config.qstash);
    if (devKeys) logger.warn(DEV_KEYS_REFUSED);
    return { app: createApp(deps), deps, devKeys };
  } catch (e) {
    // Anything else here is a config the libraries refused (the Upstash client's UrlError): a 503
    // too, not a 500 page with a stack, and masked (its text may quote a URL's credentials).
    const error =
      e instanceof ConfigError
        ? e
        : new ConfigError(`the worker could not start: ${maskText((e as Error).message ?? String(e))}`);
    // Said once per isolate on the log (wrangler tail, the dashboard's logs), and on every answer.
    console.error(`alertagent-worker: config error: ${error.message}`);
    return { error };
  }
}

/**
 * A refusal before the app, paced for QStash as the app's answers are (outcome.ts): a 503 telling
 * QStash to come back sooner than its own backoff would spend a message's retries in minutes.
 */
function refusal(err: JobError, req: Request): Response {
  const reply = problemReply(err);
  return toResponse(
    req.headers.has("upstash-signature") ? pacedForQstash(reply, retriedOf(req.headers)) : reply,
  );
}

/**
 * Whether a request came from this machine and was addressed to it: Cloudflare's edge sets
 * CF-Connecting-IP to the client's address (a client cannot set it there), and `wrangler dev` to
 * 127.0.0.1 for every local connection — a browser on a page whose name its owner points at
 * 127.0.0.1 (DNS rebinding) included, which only the host it addressed tells apart.
 */
function fromThisMachine(req: Request): boolean {
  const client = req.headers.get("cf-connecting-ip");
  return addressedHere(req.url) && (!client || isLoopback(client));
}

export default {
  async fetch(req: Request, env: Env, ctx: Ctx): Promise<Response> {
    built ??= build(env);
    // Refuse every request with the reason (built logged it once).
    if ("error" in built)
      return refusal(transient("config_error", built.error.message, 60, built.error.issues), req);
    if (built.devKeys && !fromThisMachine(req))
      return refusal(
        transient("config_error", DEV_KEYS_REFUSED, 60, [
          { path: "qstash.current_signing_key", message: "the public development key, from another machine" },
        ]),
        req,
      );
    const res = await built.app.fetch(req);
    const work = pending;
    pending = [];
    for (const p of work) ctx.waitUntil(p.catch(() => {}));
    return res;
  },
};
