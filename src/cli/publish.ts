/**
 * `publish <family> JOB.json [--to URL] [--qstash]`: sign a job with the configured keys and
 * POST it to a worker (default: this config's host and port), or publish it through QStash.
 */
import { FAMILIES, type Family } from "../config/schema.ts";
import { maskCredentials, secretValuesOf } from "../mask.ts";
import { publishDirect, publishViaQstash } from "../qstash/publish.ts";
import { type ParsedArgs, UsageError } from "./args.ts";
import { loadCliConfig } from "./load.ts";
import type { Platform } from "./platform.ts";

export async function publish(args: ParsedArgs, p: Platform): Promise<number> {
  const [familyArg, file] = args.positionals;
  const family = familyArg as Family;
  if (!family || !(FAMILIES as readonly string[]).includes(family))
    throw new UsageError(`publish: name a job family (${FAMILIES.join(", ")})`);
  if (!file) throw new UsageError("publish: name the JOB.json file to send");
  const { config } = await loadCliConfig(args, p);
  let body: string;
  try {
    body = await p.readFile(file, true);
  } catch (e) {
    throw new UsageError(
      `publish: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  const path = `/jobs/${family}`;
  const publicUrl = config.worker.public_url?.replace(/\/+$/, "");
  if (args.qstash) {
    const destination = args.flags.to
      ? routeUnder(args.flags.to, path)
      : publicUrl
        ? publicUrl + path
        : undefined;
    if (!destination)
      throw new UsageError(
        "publish --qstash: set worker.public_url (or --to) so QStash knows where to deliver",
      );
    // QStash reports the job to /jobs/failure beside it when it gives up (the job's own query is not the callback's).
    const failureCallback = new URL(routeUnder(args.flags.to ?? (publicUrl as string), "/jobs/failure"));
    failureCallback.search = "";
    const id = await publishViaQstash(config, family, {
      destination,
      failureCallback: failureCallback.href,
      body,
      deduplicationId: args.flags["message-id"],
    });
    const shown = maskCredentials(destination, secretValuesOf(config));
    p.stdout(`${JSON.stringify({ published: true, message_id: id, destination: shown })}\n`);
    return 0;
  }
  const host = ["0.0.0.0", "::", "[::]"].includes(config.worker.host) ? "127.0.0.1" : config.worker.host;
  const url = routeUnder(
    args.flags.to ?? `http://${host.includes(":") ? `[${host}]` : host}:${config.worker.port}`,
    path,
  );
  const messageId = args.flags["message-id"] ?? `msg_${crypto.randomUUID().replace(/-/g, "")}`;
  let res: Response;
  try {
    res = await publishDirect({
      url,
      // QStash signs the URL it calls: public_url, the route and the query --to gave it.
      subject: publicUrl ? publicUrl + path + new URL(url).search : url,
      body: new TextEncoder().encode(body),
      signingKey: config.qstash.current_signing_key,
      messageId,
      fetch: (i, init) => fetch(i, init),
    });
  } catch (e) {
    p.stderr(`alertagent-worker: publish: cannot reach ${url}: ${(e as Error).message}\n`);
    return 1;
  }
  const text = await res.text();
  p.stderr(`HTTP ${res.status} ${url} message_id=${messageId}\n`);
  p.stdout(`${text}\n`);
  return res.ok ? 0 : 1;
}

/** The job route under a base URL that may carry a path prefix and a query (`http://host/prefix?x=1`). */
export function routeUnder(base: string, route: string): string {
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw new UsageError(`--to: "${base}" is not a URL`);
  }
  // "localhost:8081" parses as a URL of scheme "localhost:": the job went to "/".
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new UsageError(
      `--to: "${base}" is not an http(s) URL (http://${base.replace(/^[a-z]+:\/\//i, "")}?)`,
    );
  u.pathname = u.pathname.replace(/\/+$/, "") + route;
  return u.toString();
}
