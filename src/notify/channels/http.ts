/**
 * The HTTP side shared by the webhook-style channels: one JSON request through the injected
 * fetch with a timeout, and the JobErrors a channel answers with — permanent (489: the
 * message or the credentials are wrong), transient (503: the service is down or slow) and
 * rate-limited (429 + Retry-After).
 */
import { type JobError, permanent, rateLimited, transient } from "../../errors.ts";
import { fetchFailure } from "../../fetch-failure.ts";
import { credentialsOf, quotedAnswer } from "../../mask.ts";
import { readAnswer } from "../../read-limited.ts";
import type { SendContext } from "./channel.ts";

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/** The most of a channel's answer the worker reads. */
export const CHANNEL_ANSWER_LIMIT = 64 * 1024;

/** The default time a robot gets to answer. */
export const ROBOT_TIMEOUT_MS = 10_000;

export async function requestJson(
  ctx: SendContext,
  channel: string,
  url: string,
  body: unknown,
  opts: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const timeoutMs = opts.timeoutMs ?? ROBOT_TIMEOUT_MS;
  // Outside the try: a body that cannot be serialised is our bug, not an unreachable receiver.
  const json = JSON.stringify(body);
  let res: Response;
  try {
    res = await ctx.fetch(url, {
      method: opts.method ?? "POST",
      headers: { "content-type": "application/json; charset=utf-8", ...opts.headers },
      body: json,
      signal: AbortSignal.timeout(timeoutMs),
      // Not followed: a 301-303 turns the POST into a GET without the alert, whose 200 would read
      // as delivered; and a redirect elsewhere would carry the channel's headers there.
      redirect: "manual",
    });
  } catch (e) {
    const timedOut = (e as Error)?.name === "TimeoutError" || (e as Error)?.name === "AbortError";
    throw transient(
      "channel_unavailable",
      timedOut
        ? `channel ${channel}: ${originOf(url)} did not answer within ${timeoutMs} ms`
        : `channel ${channel}: cannot reach ${originOf(url)}: ${fetchFailure(e)}`,
      undefined,
      // No answer in time: the receiver may have taken it (stages.ts keeps the state's claim).
      timedOut ? { channel, maybe_sent: true } : { channel },
    );
  }
  // A downstream that quotes the request in its refusal must not hand its credentials to our
  // answers, records and logs (README, "Security").
  const sent = credentialsOf(url, opts.headers);
  // The send is judged by the status and a short JSON answer (a robot's errcode): a longer body
  // is cut, not read into memory (README, "Security").
  const answer = await readAnswer(res, CHANNEL_ANSWER_LIMIT, { cut: true }).catch(() => ({ text: "" }));
  return { status: res.status, headers: res.headers, ...quotedAnswer(answer.text, sent) };
}

/** Only the origin of a webhook URL: its path and query often are the credential (Slack, Feishu). */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "the webhook";
  }
}

/** Retry-After as seconds (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterOf(headers: Headers, now: number): number | undefined {
  const v = headers.get("retry-after");
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(1, Math.ceil((at - now) / 1000)) : undefined;
}

/** The usual meaning of an HTTP status from a downstream: 2xx ok, else the error to throw. */
export function httpError(channel: string, a: HttpAnswer, now: number): JobError | undefined {
  if (a.status >= 200 && a.status < 300) return undefined;
  const details = { channel, status: a.status, response: a.text.slice(0, 500) };
  if (a.status >= 300 && a.status < 400) {
    // Only where it points, not the path or query of that URL (they may carry a token).
    const to = a.headers.get("location");
    const where = !to
      ? ""
      : /^[a-z][a-z0-9+.-]*:/i.test(to)
        ? originOf(to)
        : to.startsWith("//")
          ? `//${originOf(`https:${to}`).replace(/^https:\/\//, "")}`
          : "another path of the same host";
    return permanent(
      "channel_redirected",
      `channel ${channel}: HTTP ${a.status}, a redirect${where && ` to ${where}`}: not followed, the alert was not delivered; set the channel's URL to where the service is`,
      { channel, status: a.status },
    );
  }
  const what = `channel ${channel}: HTTP ${a.status}${a.text ? `: ${a.text.slice(0, 200)}` : ""}`;
  if (a.status === 429)
    return rateLimited("channel_rate_limited", what, retryAfterOf(a.headers, now) ?? 60, details);
  // 409 and 425: a request with this Idempotency-Key is still being processed there (the IETF
  // Idempotency-Key draft), as after a timeout: come back later, not give up.
  if (a.status === 408 || a.status === 409 || a.status === 425 || a.status >= 500)
    return transient("channel_unavailable", what, retryAfterOf(a.headers, now), details);
  return permanent(
    a.status === 401 || a.status === 403 ? "channel_auth_failed" : "channel_rejected",
    what,
    details,
  );
}

export type RobotErrorKind = "permanent" | "transient" | "rate" | "auth" | "too_long";

/** The robot refused a message as too large: deliver() splits that part smaller and sends again. */
export const TOO_LONG = "message_too_long";

/** An error code answered under HTTP 200 (DingTalk errcode, WeCom errcode, Feishu code). */
export function robotError(
  channel: string,
  kind: RobotErrorKind,
  code: number,
  msg: string,
  retryAfterS?: number,
): JobError {
  const details = { channel, errcode: code, errmsg: msg };
  // DingTalk's "keywords not in content", Feishu's "Key Words Not Found": a setting of ours fixes it.
  const hint = /key ?words? not/i.test(msg)
    ? `; the robot has keyword security: list its keywords in channels.${channel}.keywords`
    : "";
  const what = `channel ${channel}: the robot answered ${code} ${msg}${hint}`;
  if (kind === "rate") return rateLimited("channel_rate_limited", what, retryAfterS ?? 60, details);
  if (kind === "transient") return transient("channel_unavailable", what, retryAfterS, details);
  if (kind === "too_long") return permanent(TOO_LONG, what, details);
  return permanent(kind === "auth" ? "channel_auth_failed" : "channel_rejected", what, details);
}

/**
 * A robot that answers `{errcode, errmsg}` (DingTalk, WeCom): the answer to record when errcode
 * is 0, else throws what the code means — `codes` names the robot's own (rate limit, auth), -1
 * is the robots' "system busy" (transient), any other code is a permanent refusal.
 */
export function errcodeAnswer(
  channel: string,
  a: HttpAnswer,
  now: number,
  codes: Record<number, { kind: RobotErrorKind; retryAfterS?: number }>,
): unknown {
  const err = httpError(channel, a, now);
  if (err) throw err;
  const r = a.json as { errcode?: number; errmsg?: string } | undefined;
  if (typeof r?.errcode !== "number")
    throw robotError(channel, "transient", -1, `unexpected answer: ${a.text.slice(0, 200)}`);
  if (r.errcode === 0) return answerOf(a);
  const known = codes[r.errcode] ?? { kind: r.errcode === -1 ? "transient" : "permanent" };
  throw robotError(channel, known.kind, r.errcode, r.errmsg ?? "", known.retryAfterS);
}

/** The downstream answer as recorded: parsed JSON, or the text (at most 2 KB). */
export function answerOf(a: HttpAnswer): unknown {
  return a.json !== undefined ? a.json : a.text.slice(0, 2048);
}
