/**
 * Ports Deno's fetch refuses ("Requests to port 10080 are blocked"): the Fetch standard's bad
 * ports (fetch.spec.whatwg.org, "port blocking"). Bun's fetch and workerd's do not block them, so
 * a webhook, an engine or a sync target on one works on the binary and fails on Deno at every send,
 * retried into the DLQ: refused at start on Deno instead, naming the key (README, "Runtimes and deploy").
 */
import { ConfigError } from "../errors.ts";
import type { RuntimeName } from "../ports.ts";
import type { Config } from "./schema.ts";

const BAD_PORTS = new Set([
  0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
  109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
  526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** The keys of the URLs the worker fetches (a store, QStash, an engine, a channel, a sync target, OTLP). */
const FETCHED = new Set(["url", "webhook", "reload_url", "prometheus_url", "otlp_url"]);

/**
 * The config's fetched URLs on a port Deno's fetch refuses: not a header's or a template's text,
 * nor worker.public_url (QStash's to call).
 */
export function blockedPortRefusal(config: Config, runtime: RuntimeName): ConfigError | undefined {
  if (runtime !== "deno") return undefined;
  const issues: { path: string; message: string }[] = [];
  const walk = (v: unknown, path: string[]): void => {
    if (typeof v === "string") {
      const key = path.at(-1) ?? "";
      if (!FETCHED.has(key) || path.at(-2) === "headers" || path.join(".") === "worker.public_url") return;
      if (!/^https?:\/\//i.test(v)) return;
      let port: string;
      try {
        port = new URL(v).port; // "" for the scheme's own (80, 443)
      } catch {
        return;
      }
      if (port && BAD_PORTS.has(Number(port)))
        issues.push({
          path: path.join("."),
          message: `port ${port} is one Deno's fetch refuses (the Fetch standard blocks it); use another port, or run the binary`,
        });
    } else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(config, []);
  if (!issues.length) return undefined;
  return new ConfigError(issues.map((i) => `${i.path}: ${i.message}`).join("; "), issues);
}
