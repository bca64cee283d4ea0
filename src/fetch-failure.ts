/**
 * Why a fetch failed, in the runtime's own words, its URLs masked. Bun says it in the message
 * (`ECONNREFUSED`, `getaddrinfo ENOTFOUND host`); Deno and Node say only "fetch failed" and put the
 * reason in `cause` (a DNS error, a refused connection, a certificate), which an operator needs to
 * tell them apart.
 */
import { maskText } from "./mask.ts";

export function fetchFailure(e: unknown): string {
  const err = e as (Error & { code?: string; cause?: unknown }) | null;
  const said = String(err?.code && !err.message?.includes(err.code) ? err.code : (err?.message ?? e));
  const cause = err?.cause as (Error & { code?: string }) | null | undefined;
  const why =
    cause && typeof cause === "object"
      ? // Deno: "error sending request for url (<url>): client error (Connect): dns error: …"
        String(cause.code ?? cause.message ?? "").replace(/^error sending request for url \([^)]*\):\s*/, "")
      : "";
  return maskText(why && !said.includes(why) ? `${said}: ${why}` : said);
}
