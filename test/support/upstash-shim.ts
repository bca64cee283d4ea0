/**
 * An Upstash-Redis-REST-compatible HTTP server in front of a real redis-server, for tests
 * (docs/contracts.md#upstash-redis-rest). There is no installable Upstash server, so this follows the documented
 * contract strictly: `POST /` one command → `{result}` (400 `{error}` on a command error),
 * `POST /pipeline` → `[{result}|{error}, …]` (not atomic), `POST /multi-exec` → the same inside
 * MULTI/EXEC (atomic), `Authorization: Bearer <token>` (401 otherwise), and `Upstash-Encoding:
 * base64`: every string in the result base64-encoded (UTF-8 bytes), except a simple-string "OK"
 * reply at the top of a result — which is exactly what @upstash/redis's decoder expects.
 */
import { Buffer } from "node:buffer";
import { nodeDial } from "../../src/entry/node-net.ts";
import { type Args, type Reply, RespConnection, RespError } from "../../src/store/resp.ts";

export interface UpstashShim {
  url: string;
  token: string;
  /** HTTP requests received so far (each one a round trip for the worker). */
  requests(): number;
  stop(): Promise<void>;
}

/** Commands that would change the shared connection's state; Upstash REST does not take them either. */
const REFUSED = new Set([
  "MULTI",
  "EXEC",
  "DISCARD",
  "WATCH",
  "UNWATCH",
  "SELECT",
  "AUTH",
  "HELLO",
  "QUIT",
  "RESET",
  "MONITOR",
  "SUBSCRIBE",
  "PSUBSCRIBE",
  "SSUBSCRIBE",
]);

class BadRequest extends Error {}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function toCommand(v: unknown): Args {
  if (!Array.isArray(v) || v.length === 0)
    throw new BadRequest("ERR the command must be a non-empty JSON array");
  const args = v.map((a) => {
    if (typeof a === "string" || typeof a === "number") return a;
    if (typeof a === "boolean") return String(a);
    throw new BadRequest("ERR command arguments must be strings or numbers");
  });
  const name = String(args[0]).toUpperCase();
  if (REFUSED.has(name)) throw new BadRequest(`ERR command '${name}' is not allowed over REST`);
  return args;
}

function toCommands(v: unknown): Args[] {
  if (!Array.isArray(v) || v.length === 0)
    throw new BadRequest("ERR the body must be a non-empty JSON array of commands");
  return v.map(toCommand);
}

/** A reply as JSON; with base64, every string except a top-level simple "OK" is encoded. */
function out(r: Reply, base64: boolean, top = true): unknown {
  if (r instanceof RespError) return r.message;
  if (Array.isArray(r)) return r.map((x) => out(x, base64, false));
  if (r instanceof Uint8Array) return Buffer.from(r).toString(base64 ? "base64" : "utf8");
  if (typeof r === "string")
    return base64 && !(top && r === "OK") ? Buffer.from(r, "utf8").toString("base64") : r;
  return r;
}

function entries(replies: Reply[], base64: boolean): unknown[] {
  return replies.map((r) => (r instanceof RespError ? { error: r.message } : { result: out(r, base64) }));
}

async function handle(req: Request, conn: RespConnection, token: string): Promise<Response> {
  if (req.headers.get("authorization") !== `Bearer ${token}`) return json(401, { error: "Unauthorized" });
  if (req.method !== "POST") return json(405, { error: "Method Not Allowed" });
  const path = new URL(req.url).pathname.replace(/\/+$/, "") || "/";
  if (path !== "/" && path !== "/pipeline" && path !== "/multi-exec")
    return json(404, { error: "Not Found" });
  const base64 = req.headers.get("upstash-encoding")?.toLowerCase() === "base64";
  try {
    let body: unknown;
    try {
      body = await req.json();
    } catch {
      throw new BadRequest("ERR the request body is not valid JSON");
    }
    if (path === "/")
      return json(200, { result: out((await conn.command(toCommand(body))) as Reply, base64) });
    const cmds = toCommands(body);
    const replies = path === "/pipeline" ? await conn.pipeline(cmds) : await conn.multi(cmds);
    return json(200, entries(replies, base64));
  } catch (e) {
    if (e instanceof RespError || e instanceof BadRequest) return json(400, { error: e.message });
    return json(500, { error: (e as Error).message });
  }
}

/** Starts the shim on 127.0.0.1 (a free port unless `port` is given). */
export async function startUpstashShim(opts: {
  redisUrl: string;
  token: string;
  port?: number;
  /** Holds a request back this many ms before running it, by its body (a slow network, one request at a time). */
  delay?: (body: string) => number;
  /** Answers a request 500 without running it, by its body (Upstash having a bad moment). */
  fail?: (body: string) => boolean;
}): Promise<UpstashShim> {
  const conn = new RespConnection(opts.redisUrl, { buffers: true, dial: nodeDial });
  await conn.command(["PING"]); // fail now, not on the first request, when Redis is not there
  let requests = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: opts.port ?? 0,
    fetch: async (req) => {
      requests++;
      const body = await req.clone().text();
      if (opts.fail?.(body)) return json(500, { error: "ERR internal server error" });
      const ms = opts.delay?.(body) ?? 0;
      if (ms > 0) await Bun.sleep(ms);
      return handle(req, conn, opts.token);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    token: opts.token,
    requests: () => requests,
    async stop() {
      await server.stop(true);
      await conn.close();
    },
  };
}
