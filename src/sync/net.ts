/**
 * Outbound HTTP for config sync (deliveries, reloads, read-backs) through the injected
 * fetch, with a timeout. Not reaching a target is a transient failure that names what was
 * being done, the URL and why.
 */

import { excerpt } from "../clip.ts";
import { type JobError, permanent, transient } from "../errors.ts";
import { fetchFailure } from "../fetch-failure.ts";
import { credentialsOf, maskCredentials } from "../mask.ts";
import type { Fetch } from "../ports.ts";
import { MiB, moreThan, readAnswer } from "../read-limited.ts";

export interface Answer {
  status: number;
  ok: boolean;
  /** The body as it came (what is read back and compared). */
  text: string;
  /** The body for messages: without the credentials the request carried. */
  shown: string;
}

/** Per request; a target slower than this is treated as down. */
export const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The most of an answer config sync reads: a rule set or read-back of thousands of rules is a
 * few MB; a runaway body must not fill the worker's memory (README, "Security").
 */
export const ANSWER_LIMIT = 32 * MiB;

export async function send(fetch: Fetch, what: string, url: string, init: RequestInit = {}): Promise<Answer> {
  let res: Response;
  let answer: { text: string; over: boolean };
  try {
    res = await fetch(url, {
      ...init,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      // A delivery is not followed elsewhere: a 303 would turn it into a GET whose 200 reads as
      // applied, and a redirect to another host would carry the target's headers there.
      ...(init.method && init.method !== "GET" ? { redirect: "manual" as const } : {}),
    });
    answer = await readAnswer(res, ANSWER_LIMIT);
  } catch (e) {
    const why =
      (e as Error)?.name === "TimeoutError"
        ? `no answer within ${REQUEST_TIMEOUT_MS / 1000}s`
        : fetchFailure(e);
    throw transient("target_unreachable", `${what}: cannot reach ${url} (${why})`, 30);
  }
  if (answer.over)
    throw permanent(
      "answer_too_large",
      `${what}: ${url} answered ${moreThan(ANSWER_LIMIT)} (HTTP ${res.status}); not read further`,
    );
  const text = answer.text;
  return {
    status: res.status,
    ok: res.ok,
    text,
    // Only an error message shows it: a target that quotes the request must not hand its
    // credentials to our records. Worked out then, not for every read-back.
    get shown() {
      return maskCredentials(text, credentialsOf(url, Object.fromEntries(new Headers(init.headers))));
    },
  };
}

/**
 * Why a peer that applies what it is sent (an http delivery, Mimir's ruler) did not take it:
 * its credentials refused (401, 403) or the config refused (any other 4xx but 408 and 429, with
 * the peer's own words) will be refused again, so 489; anything else (5xx, a proxy, a limit)
 * may pass on QStash's retry (docs/config-sync.md, "Answers that are not 200").
 */
export function refusedBy(what: string, res: Answer): JobError {
  const why = `${what} answered ${res.status}: ${snippet(res.shown) || "no body"}`;
  if (res.status >= 300 && res.status < 400)
    return permanent(
      "delivery_redirected",
      `${what} answered ${res.status}, a redirect: not followed; set the target's URL to where the service is`,
    );
  if (res.status === 401 || res.status === 403)
    return permanent("delivery_refused", `${why} (its credentials are refused: waiting will not fix it)`);
  if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
    return permanent(
      "config_refused",
      `${why} (the peer refuses this config: a retry would be refused the same way)`,
    );
  return transient("delivery_refused", why, 30);
}

/** The start of a response body, on one line, for error messages. */
export const snippet = (text: string, max = 300): string => excerpt(text, max);

/**
 * The API base beside a URL ("http://user:pass@host:port": its origin with its user-info), or
 * undefined when it does not parse: a reload_url's credentials are the read-back's too.
 */
export function baseOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username || u.password ? `${u.username}:${u.password}@` : ""}${u.host}`;
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
