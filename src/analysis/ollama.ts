/**
 * The Ollama engine (docs/contracts.md#ollama): `POST /api/chat` with `stream: false` (Ollama streams by
 * default) and `format` set to the JSON Schema of the analysis, so `message.content` is JSON
 * text; one repair turn when it does not fit. `POST /api/embed` gives the similarity index its
 * vectors when `embed_model` is set. Readiness: `GET /api/tags` lists the configured models.
 */

import { excerpt } from "../clip.ts";
import { type JobError, transient } from "../errors.ts";
import type { Services } from "../services.ts";
import {
  callHttp,
  type Engine,
  type EngineAnswer,
  engineFailed,
  type HttpAnswer,
  joinUrl,
  probe,
  retryAfterS,
} from "./engine.ts";
import { extractJson } from "./normalize.ts";
import { buildPrompt, repairPrompt } from "./prompts.ts";
import { ANALYSIS_JSON_SCHEMA, type Language } from "./schema.ts";

interface Message {
  role: "system" | "user" | "assistant";
  content: string;
}

/**
 * How long a cold model may take to load when the worker warms it, and how long Ollama keeps it
 * loaded after that (its own default is 5 minutes).
 */
const WARM_TIMEOUT_MS = 5 * 60_000;
const WARM_KEEP_ALIVE = "30m";

export function ollamaEngine(deps: Services): Engine {
  const cfg = deps.config.ai.ollama;
  let warming: Promise<unknown> | undefined;
  /**
   * Ollama loads a model within the request that asks for it and drops the load when that request
   * is cancelled: a model slower to load than the engine's timeout would never be ready. After a
   * timeout the model is loaded apart, without waiting (an empty generate), once at a time
   * (docs/analysis.md, "Pointing the worker at Ollama").
   */
  const warm = () => {
    if (warming || !cfg) return;
    warming = callHttp(deps.fetch, "ollama", joinUrl(cfg.url, "/api/generate"), {
      method: "POST",
      body: { model: cfg.model, keep_alive: WARM_KEEP_ALIVE },
      signal: AbortSignal.timeout(WARM_TIMEOUT_MS),
    })
      .then(
        () => deps.logger.info("ollama model loaded after a timeout", { model: cfg.model }),
        (e) =>
          deps.logger.warn("ollama model could not be loaded", {
            model: cfg.model,
            error: (e as Error).message,
          }),
      )
      .finally(() => {
        warming = undefined;
      });
    deps.background?.(warming);
  };

  const chat = async (
    messages: Message[],
    language: Language,
    signal: AbortSignal,
  ): Promise<EngineAnswer> => {
    if (!cfg) throw engineFailed("engine_not_configured", "ai.ollama is not configured");
    const res = await callHttp(deps.fetch, "ollama", joinUrl(cfg.url, "/api/chat"), {
      method: "POST",
      body: {
        model: cfg.model,
        messages,
        stream: false,
        format: ANALYSIS_JSON_SCHEMA,
        options: { temperature: 0.2 },
      },
      signal,
    }).catch((e: unknown) => {
      if (signal.aborted) warm();
      throw e;
    });
    if (res.status !== 200) throw ollamaError(res, deps.now());
    const json = res.json as
      | {
          message?: { content?: unknown };
          prompt_eval_count?: number;
          eval_count?: number;
          done_reason?: string;
        }
      | undefined;
    const content = json?.message?.content;
    if (typeof content !== "string")
      throw engineFailed(
        "engine_bad_answer",
        `ollama answered without message.content: ${excerpt(res.text)}`,
      );
    // Cut at the model's limit with the JSON unfinished: a repair would be cut the same way. (A
    // whole object padded with whitespace up to the limit, as JSON mode is known to do, is kept.)
    if (json?.done_reason === "length" && extractJson(content) === undefined)
      throw engineFailed(
        "engine_bad_answer",
        `ollama stopped at the model's length limit after ${json.eval_count ?? "?"} tokens (done_reason: length): raise the model's num_predict or num_ctx`,
      );
    const answer: EngineAnswer = {
      output: content,
      allowText: false,
      tokens: { prompt: json?.prompt_eval_count ?? 0, completion: json?.eval_count ?? 0 },
      repair: async (problems, rs) => {
        const follow: Message[] = [
          ...messages,
          { role: "assistant", content },
          { role: "user", content: repairPrompt(problems, language) },
        ];
        return { ...(await chat(follow, language, rs)), repair: undefined };
      },
    };
    return answer;
  };

  return {
    id: "ollama",
    nameFor: () => (cfg ? "ollama" : undefined),
    analyse(req, signal) {
      const p = buildPrompt(req, deps.now());
      const messages: Message[] = [
        { role: "system", content: p.system },
        { role: "user", content: p.user },
      ];
      return chat(messages, req.language, signal);
    },
    ready(signal) {
      return probe(deps.now, async () => {
        if (!cfg) throw new Error("ai.ollama is not configured");
        const res = await callHttp(deps.fetch, "ollama", joinUrl(cfg.url, "/api/tags"), {
          method: "GET",
          signal,
        });
        if (res.status !== 200) throw ollamaError(res, deps.now());
        const names = ((res.json as { models?: { name?: string; model?: string }[] })?.models ?? []).flatMap(
          (m) => [m.name, m.model].filter((x): x is string => !!x),
        );
        const wanted = [cfg.model, cfg.embed_model].filter((x): x is string => !!x);
        const missing = wanted.filter((w) => !names.some((n) => sameModel(n, w)));
        if (missing.length)
          throw new Error(`model ${missing.join(", ")} not present (ollama pull ${missing.join(" ")})`);
        // What `GET /api/version` says; nothing when it says nothing usable (a proxy, an error).
        const version = await callHttp(deps.fetch, "ollama", joinUrl(cfg.url, "/api/version"), {
          method: "GET",
          signal,
        }).then(
          (r) => {
            const v = (r.json as { version?: unknown } | undefined)?.version;
            return typeof v === "string" && /^v?\d+\.\d+\.\d+\S{0,20}$/.test(v) ? v : undefined;
          },
          () => undefined,
        );
        if (version && tooOld(version))
          throw new Error(
            `Ollama ${version} is older than ${SCHEMA_FORMAT_SINCE.join(".")}: it refuses the JSON Schema the worker sends as \`format\` (upgrade it)`,
          );
        return `models ${wanted.join(", ")} present${version ? ` (Ollama ${version})` : ""}`;
      });
    },
  };
}

/** Ollama takes a JSON Schema as `format` from 0.5 on (docs/contracts.md#ollama). */
const SCHEMA_FORMAT_SINCE = [0, 5, 0];

/** "0.4.7" (or "0.4.7-rc1") below SCHEMA_FORMAT_SINCE; "0.0.0" is a build from source, its version unknown. */
function tooOld(version: string): boolean {
  const parts = (/^v?(\d+)\.(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  if (parts.every((n) => n === 0)) return false;
  const i = parts.findIndex((n, k) => n !== SCHEMA_FORMAT_SINCE[k]);
  return i >= 0 && parts[i] < SCHEMA_FORMAT_SINCE[i];
}

/** Embeddings of `texts` with `ai.ollama.embed_model` (one call). */
export async function ollamaEmbed(deps: Services, texts: string[], signal: AbortSignal): Promise<number[][]> {
  const cfg = deps.config.ai.ollama;
  if (!cfg?.embed_model) throw engineFailed("engine_not_configured", "ai.ollama.embed_model is not set");
  const res = await callHttp(deps.fetch, "ollama", joinUrl(cfg.url, "/api/embed"), {
    method: "POST",
    body: { model: cfg.embed_model, input: texts },
    signal,
  });
  if (res.status !== 200) throw ollamaError(res, deps.now());
  const emb = (res.json as { embeddings?: unknown } | undefined)?.embeddings;
  if (
    !Array.isArray(emb) ||
    emb.length !== texts.length ||
    !emb.every((v) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number"))
  )
    throw engineFailed("engine_bad_answer", "ollama /api/embed answered without one vector per input");
  return emb as number[][];
}

/** "llama3" and "llama3:latest" are the same model. */
function sameModel(a: string, b: string): boolean {
  const norm = (s: string) => (s.includes(":") ? s : `${s}:latest`);
  return norm(a) === norm(b);
}

/** Ollama's `{"error": "…"}` answers as JobErrors: 404 model missing, 503 queue full. */
export function ollamaError(res: HttpAnswer, now: number): JobError {
  const msg = (res.json as { error?: string } | undefined)?.error ?? excerpt(res.text);
  const what = `ollama answered ${res.status}: ${msg}`;
  if (res.status === 404) return engineFailed("engine_model_missing", what);
  if (res.status === 429 || res.status >= 500)
    return transient("engine_unavailable", what, retryAfterS(res.headers, now));
  return engineFailed("engine_rejected", what);
}
