/**
 * A fake Ollama on 127.0.0.1 that holds clients to docs/contracts.md#ollama: `/api/tags` lists the pulled
 * models; `/api/chat` and `/api/embed` answer 404 `{"error": "model … not found"}` for a model
 * not pulled; `/api/chat` streams NDJSON unless `stream: false` is sent (Ollama's default is to
 * stream); embeddings are deterministic word hashes, so texts sharing words are close. What the
 * chat answers is scripted per call by `respond`.
 */
export interface OllamaCall {
  path: string;
  body: Record<string, unknown>;
}

export type OllamaReply =
  /** `done_reason: "length"`: the model stopped at num_predict / the context, the content cut there. */
  | { content: string; prompt_eval_count?: number; eval_count?: number; done_reason?: "stop" | "length" }
  | { http: number; error: string }
  | { delayMs: number; reply: OllamaReply };

export interface FakeOllama {
  url: string;
  models: string[];
  calls: OllamaCall[];
  /**
   * A model not loaded yet takes this long to load, as Ollama loads it inside the request that
   * asks — and drops the load when that request is cancelled (server/sched.go). An empty
   * `/api/generate` loads it and keeps it (`keep_alive`). 0: every model is loaded.
   */
  coldLoadMs: number;
  loaded: Set<string>;
  respond: (call: OllamaCall) => OllamaReply | Promise<OllamaReply>;
  /** Fail /api/embed with this status while set. */
  embedFailure?: number;
  /** What /api/version says; below 0.5 a JSON Schema `format` is refused. @default "0.12.0" */
  version: string;
  stop(): Promise<void>;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

const present = (models: string[], m: unknown) =>
  typeof m === "string" && models.some((x) => x === m || x === `${m}:latest`);

/** A deterministic 64-dimension embedding: hashed words, normalised. */
export function fakeEmbedding(text: string): number[] {
  const v = new Array(64).fill(0);
  for (const w of text
    .toLowerCase()
    .split(/[^a-z0-9\u3400-\u9fff]+/)
    .filter(Boolean)) {
    let h = 2166136261;
    for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 16777619);
    v[(h >>> 0) % 64] += 1;
  }
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / n);
}

export async function startFakeOllama(opts: {
  models: string[];
  respond?: (call: OllamaCall) => OllamaReply | Promise<OllamaReply>;
}): Promise<FakeOllama> {
  const fake: FakeOllama = {
    url: "",
    models: opts.models,
    calls: [],
    respond: opts.respond ?? (() => ({ content: "{}" })),
    coldLoadMs: 0,
    loaded: new Set(),
    version: "0.12.0",
    stop: async () => {},
  };
  /** Loads `model` unless loaded; false when the request went away first (the load is dropped). */
  const load = async (model: string, req: Request): Promise<boolean> => {
    if (!fake.coldLoadMs || fake.loaded.has(model)) return true;
    await Bun.sleep(fake.coldLoadMs);
    if (req.signal.aborted) return false;
    fake.loaded.add(model);
    return true;
  };

  const reply = async (r: OllamaReply, body: Record<string, unknown>): Promise<Response> => {
    if ("delayMs" in r) {
      await Bun.sleep(r.delayMs);
      return reply(r.reply, body);
    }
    if ("http" in r) return json(r.http, { error: r.error });
    const message = { role: "assistant", content: r.content };
    const base = {
      model: body.model,
      created_at: new Date().toISOString(),
      done: true,
      done_reason: r.done_reason ?? "stop",
      total_duration: 500_000_000,
      load_duration: 1_000_000,
      prompt_eval_count: r.prompt_eval_count ?? 0,
      prompt_eval_duration: 100_000_000,
      eval_count: r.eval_count ?? 0,
      eval_duration: 300_000_000,
    };
    if (body.stream === false) return json(200, { ...base, message });
    // Ollama's default: a stream of partial messages, one JSON object per line.
    const lines = [
      JSON.stringify({ model: body.model, created_at: base.created_at, message, done: false }),
      JSON.stringify({ ...base, message: { role: "assistant", content: "" } }),
    ];
    return new Response(`${lines.join("\n")}\n`, { headers: { "content-type": "application/x-ndjson" } });
  };

  const handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (req.method === "GET" && url.pathname === "/") return new Response("Ollama is running");
    if (req.method === "GET" && url.pathname === "/api/version") return json(200, { version: fake.version });
    if (req.method === "GET" && url.pathname === "/api/tags")
      return json(200, {
        models: fake.models.map((name) => ({
          name,
          model: name,
          modified_at: "2026-11-01T00:00:00Z",
          size: 4_700_000_000,
          digest: "sha256:0",
          details: { format: "gguf", family: "qwen2" },
        })),
      });
    if (req.method !== "POST") return json(405, { error: "method not allowed" });
    let body: Record<string, unknown>;
    try {
      body = (await req.json()) as Record<string, unknown>;
    } catch {
      return json(400, { error: "invalid JSON" });
    }
    const call: OllamaCall = { path: url.pathname, body };
    if (url.pathname === "/api/chat") {
      if (!present(fake.models, body.model))
        return json(404, { error: `model "${body.model}" not found, try pulling it first` });
      if (!Array.isArray(body.messages)) return json(400, { error: "messages is required" });
      const [major, minor] = fake.version.split(".").map(Number);
      if (major === 0 && minor > 0 && minor < 5 && body.format && typeof body.format === "object")
        return json(400, {
          error: "json: cannot unmarshal object into Go struct field ChatRequest.format of type string",
        });
      fake.calls.push(call);
      if (!(await load(String(body.model), req))) return json(499, { error: "client went away" });
      return reply(await fake.respond(call), body);
    }
    if (url.pathname === "/api/generate" && !body.prompt) {
      if (!present(fake.models, body.model))
        return json(404, { error: `model "${body.model}" not found, try pulling it first` });
      fake.calls.push(call);
      await load(String(body.model), req);
      return json(200, {
        model: body.model,
        created_at: new Date().toISOString(),
        response: "",
        done: true,
        done_reason: "load",
      });
    }
    if (url.pathname === "/api/embed") {
      if (!present(fake.models, body.model))
        return json(404, { error: `model "${body.model}" not found, try pulling it first` });
      fake.calls.push(call);
      if (fake.embedFailure) return json(fake.embedFailure, { error: "server busy, please try again" });
      const input = Array.isArray(body.input) ? body.input : [body.input];
      return json(200, { model: body.model, embeddings: input.map((t) => fakeEmbedding(String(t))) });
    }
    return json(404, { error: "not found" });
  };

  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handle });
  fake.url = `http://127.0.0.1:${server.port}`;
  fake.stop = async () => {
    await server.stop(true);
  };
  return fake;
}
