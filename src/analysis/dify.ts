/**
 * The Dify engine (docs/contracts.md#dify): one app per analysis type from `ai.dify.apps`, each with its own
 * key. Workflow apps run `POST /workflows/run` (blocking; only `succeeded` counts, even under HTTP
 * 200) with inputs `alert` (JSON text), `type` and `language`, and answer outputs `analysis` or
 * `text`. Chat apps get the prompt as `query` on `POST /chat-messages` (blocking) and may answer
 * JSON or free text; one repair is asked in the same conversation. Agent apps answer only
 * streaming: the same `POST /chat-messages` with `response_mode: streaming`, read as server-sent
 * events (`agent_message` pieces of the answer, `agent_thought`, `message_end` with the usage,
 * `error`) — a stream that ends without `message_end` is a broken answer and the next engine
 * answers. Readiness: `GET /info`.
 */

import { excerpt } from "../clip.ts";
import { type JobError, transient } from "../errors.ts";
import type { Services } from "../services.ts";
import {
  callHttp,
  type Engine,
  type EngineAnswer,
  type EngineRequest,
  engineFailed,
  type HttpAnswer,
  joinUrl,
  type LlmType,
  probe,
  retryAfterS,
} from "./engine.ts";
import { alertJson, buildPrompt, repairPrompt } from "./prompts.ts";
import type { EngineName } from "./schema.ts";

type DifyConfig = NonNullable<Services["config"]["ai"]["dify"]>;
type DifyApp = NonNullable<DifyConfig["apps"][LlmType]>;

interface DifyError {
  code?: string;
  message?: string;
}

/** Workflow run states that may succeed when run again; the others never will in blocking mode. */
const TRANSIENT_RUN_STATES = new Set(["failed", "stopped", "running"]);

export function difyEngine(deps: Services): Engine {
  const cfg = deps.config.ai.dify;
  const user = deps.config.worker.name;

  const post = async (app: DifyApp, name: string, path: string, body: unknown, signal: AbortSignal) => {
    const res = await callHttp(deps.fetch, name, joinUrl((cfg as DifyConfig).url, path), {
      method: "POST",
      headers: { authorization: `Bearer ${app.key}` },
      body,
      signal,
    });
    if (res.status !== 200) throw difyError(res, name, deps.now());
    if (!res.json || typeof res.json !== "object")
      throw engineFailed("engine_bad_answer", `${name} answered HTTP 200 without JSON: ${excerpt(res.text)}`);
    return res.json as Record<string, unknown>;
  };

  const workflow = async (app: DifyApp, req: EngineRequest, signal: AbortSignal): Promise<EngineAnswer> => {
    const name = "dify-workflow";
    const inputs = { alert: alertJson(req.alert), type: req.type, language: req.language };
    const json = await post(app, name, "/workflows/run", { inputs, user, response_mode: "blocking" }, signal);
    const data = (json.data ?? {}) as {
      status?: string;
      outputs?: Record<string, unknown> | null;
      error?: string | null;
      total_tokens?: number;
    };
    // partial-succeeded: a node failed and the app's error strategy (fail branch, default value)
    // handled it; the run ended with its outputs (docs/contracts.md#dify).
    if (data.status !== "succeeded" && data.status !== "partial-succeeded") {
      const msg = `${name} run ${data.status ?? "without a status"}${data.error ? `: ${data.error}` : ""}`;
      throw TRANSIENT_RUN_STATES.has(data.status ?? "")
        ? transient("engine_run_failed", msg)
        : engineFailed("engine_run_failed", msg);
    }
    const outputs = data.outputs ?? {};
    const output = outputs.analysis ?? outputs.text ?? ("summary" in outputs ? outputs : undefined);
    if (output === undefined)
      throw engineFailed(
        "engine_bad_answer",
        `${name} run succeeded without an "analysis" or "text" output (outputs: ${Object.keys(outputs).join(", ") || "none"})`,
      );
    return {
      output,
      allowText: outputs.analysis === undefined,
      // A workflow run reports only its total; it is recorded as prompt tokens.
      tokens: { prompt: Math.max(0, Math.round(data.total_tokens ?? 0)), completion: 0 },
    };
  };

  /** One turn of a conversation: the answer, the conversation it belongs to, its tokens. */
  type Turn = { answer: string; conversationId?: string; tokens: { prompt: number; completion: number } };

  /**
   * A conversation with a chat or agent app: the whole prompt as `query`, then at most one repair
   * turn in the same conversation; `turn` sends a body and reads the app's answer.
   */
  const converse = (
    req: EngineRequest,
    signal: AbortSignal,
    turn: (body: Record<string, unknown>, s: AbortSignal) => Promise<Turn>,
  ): Promise<EngineAnswer> => {
    const ask = async (query: string, conversationId: string | undefined, s: AbortSignal) => {
      const t = await turn(
        { inputs: {}, query, user, ...(conversationId ? { conversation_id: conversationId } : {}) },
        s,
      );
      const answer: EngineAnswer = {
        output: t.answer,
        allowText: true,
        tokens: t.tokens,
        repair: async (problems, rs) => ({
          ...(await ask(repairPrompt(problems, req.language), t.conversationId, rs)),
          repair: undefined,
        }),
      };
      return answer;
    };
    const p = buildPrompt(req, deps.now());
    return ask(`${p.system}\n\n${p.user}`, undefined, signal);
  };

  const chat = (app: DifyApp, req: EngineRequest, signal: AbortSignal) =>
    converse(req, signal, async (body, s) => {
      const name = "dify-chat";
      const json = await post(app, name, "/chat-messages", { ...body, response_mode: "blocking" }, s);
      if (typeof json.answer !== "string")
        throw engineFailed("engine_bad_answer", `${name} answered without an "answer"`);
      const usage = ((json.metadata as { usage?: Record<string, unknown> } | undefined)?.usage ?? {}) as {
        prompt_tokens?: number;
        completion_tokens?: number;
      };
      return {
        answer: json.answer,
        conversationId: typeof json.conversation_id === "string" ? json.conversation_id : undefined,
        tokens: { prompt: usage.prompt_tokens ?? 0, completion: usage.completion_tokens ?? 0 },
      };
    });

  const agent = (app: DifyApp, req: EngineRequest, signal: AbortSignal) =>
    converse(req, signal, async (body, s) => {
      const name = "dify-agent";
      const res = await callHttp(deps.fetch, name, joinUrl((cfg as DifyConfig).url, "/chat-messages"), {
        method: "POST",
        headers: { authorization: `Bearer ${app.key}` },
        body: { ...body, response_mode: "streaming" },
        signal: s,
      });
      if (res.status !== 200) throw difyError(res, name, deps.now());
      return readAgentStream(res, name, deps.now());
    });

  const nameOf = (app: DifyApp): EngineName =>
    app.mode === "workflow" ? "dify-workflow" : app.mode === "agent" ? "dify-agent" : "dify-chat";

  return {
    id: "dify",
    nameFor(type): EngineName | undefined {
      const app = cfg?.apps[type];
      return app ? nameOf(app) : undefined;
    },
    async analyse(req, signal) {
      const app = cfg?.apps[req.type];
      if (!app) throw engineFailed("engine_not_configured", `no Dify app is configured for ${req.type}`);
      if (app.mode === "workflow") return workflow(app, req, signal);
      return app.mode === "agent" ? agent(app, req, signal) : chat(app, req, signal);
    },
    async ready(signal) {
      return probe(deps.now, async () => {
        if (!cfg) throw new Error("ai.dify is not configured");
        const apps = Object.entries(cfg.apps).filter((e): e is [string, DifyApp] => !!e[1]);
        if (apps.length === 0) throw new Error("ai.dify.apps names no app");
        const seen: string[] = [];
        for (const [type, app] of apps) {
          const name = nameOf(app);
          const res = await callHttp(deps.fetch, name, joinUrl(cfg.url, "/info"), {
            method: "GET",
            headers: { authorization: `Bearer ${app.key}` },
            signal,
          });
          if (res.status !== 200) throw new Error(`${type}: ${difyError(res, name, deps.now()).message}`);
          const mode = (res.json as { mode?: string } | undefined)?.mode;
          if (mode && !modeFits(app.mode, mode))
            throw new Error(`${type}: the app is in ${mode} mode, configured as ${app.mode}`);
          seen.push(`${type}: ${mode ?? app.mode}`);
        }
        return seen.join(", ");
      });
    },
  };
}

/** Agent apps ("agent-chat") answer only streaming; chatflow ("advanced-chat") apps take chat-messages. */
function modeFits(configured: DifyApp["mode"], actual: string): boolean {
  if (configured === "workflow") return actual === "workflow";
  if (configured === "agent") return actual === "agent-chat";
  return actual === "chat" || actual === "advanced-chat";
}

/**
 * An agent app's server-sent events (docs/contracts.md#dify): the answer is the `agent_message`
 * (or chatflow `message`) pieces in order, `message_end` closes it with the usage, `error` is a
 * Dify error in the stream. No `message_end`: the stream broke, the answer cannot be trusted.
 */
export function readAgentStream(
  res: HttpAnswer,
  name: string,
  now: number,
): { answer: string; conversationId?: string; tokens: { prompt: number; completion: number } } {
  let answer = "";
  let conversationId: string | undefined;
  for (const block of res.text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).trim())
      .join("\n");
    if (!data) continue;
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(data) as Record<string, unknown>;
    } catch {
      throw engineFailed("engine_bad_answer", `${name} streamed an event that is not JSON: ${excerpt(data)}`);
    }
    if (typeof event.conversation_id === "string") conversationId = event.conversation_id;
    if ((event.event === "agent_message" || event.event === "message") && typeof event.answer === "string")
      answer += event.answer;
    // Output moderation replaced what was said: the replacement is the whole answer.
    else if (event.event === "message_replace" && typeof event.answer === "string") answer = event.answer;
    else if (event.event === "error")
      throw difyError(
        { status: Number(event.status) || 500, headers: res.headers, json: event, text: data },
        name,
        now,
      );
    else if (event.event === "message_end") {
      const usage = ((event.metadata as { usage?: Record<string, number> } | undefined)?.usage ?? {}) as {
        prompt_tokens?: number;
        completion_tokens?: number;
      };
      return {
        answer,
        conversationId,
        tokens: { prompt: usage.prompt_tokens ?? 0, completion: usage.completion_tokens ?? 0 },
      };
    }
  }
  throw engineFailed(
    "engine_bad_answer",
    `${name}: the stream ended before message_end (${answer.length} characters)`,
  );
}

/** Dify's `{code, message, status}` errors (docs/contracts.md#dify) as JobErrors. */
export function difyError(res: HttpAnswer, name: string, now: number): JobError {
  const e = (res.json ?? {}) as DifyError;
  const what = `${name} answered ${res.status}${e.code ? ` ${e.code}` : ""}: ${e.message ?? excerpt(res.text)}`;
  // too_many_requests (the app's own limit) and rate_limit_error (the model provider's): both
  // a wait; a spent quota is provider_quota_exceeded (docs/contracts.md#dify).
  if (res.status === 429) return transient("engine_rate_limited", what, retryAfterS(res.headers, now) ?? 10);
  if (res.status >= 500) return transient("engine_unavailable", what, retryAfterS(res.headers, now));
  if (res.status === 401 || res.status === 403) return engineFailed("engine_unauthorized", what);
  if (e.code === "provider_quota_exceeded") return engineFailed("engine_quota_exhausted", what);
  // Dify answers 400 completion_request_error for every error of the model provider's, its message
  // "[provider] <class>, <detail>": a wait when the class says unreachable, unavailable or rate
  // limited; for good when the credentials or the request were refused (an expired key would
  // otherwise be retried into the DLQ); a wait when it says neither (docs/contracts.md#dify).
  if (e.code === "completion_request_error") {
    const m = e.message ?? "";
    if (/\b(Connection|Server Unavailable|Rate Limit) Error\b/i.test(m))
      return transient("engine_unavailable", what);
    return /credentials|Bad Request Error|Authori[sz]ation Error|api[ _-]?key|permission denied/i.test(m)
      ? engineFailed("engine_rejected", what)
      : transient("engine_unavailable", what);
  }
  return engineFailed("engine_rejected", what);
}
