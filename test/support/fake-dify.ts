/**
 * A fake Dify service API on 127.0.0.1 that holds clients to docs/contracts.md#dify: `Authorization: Bearer
 * <app key>` per app (401 otherwise); `POST /v1/chat-messages` only for chat apps, `POST
 * /v1/workflows/run` only for workflow apps, each checking its required fields (`user`, `query`,
 * the workflow's inputs `alert`/`type`/`language`); a request without `response_mode: "blocking"`
 * gets a server-sent-event stream, as Dify sends; agent apps refuse blocking ("Agent Chat App
 * does not support blocking mode", invalid_param) and stream their answer as Dify does —
 * `agent_thought`, the answer in `agent_message` pieces, `message_end` with the usage — or an
 * `error` event, or a stream cut short (`breakAfter`); conversations must exist to be
 * continued. What an app answers is scripted per call by `respond`.
 */
import { afterAll, beforeAll, beforeEach } from "bun:test";
import { goodAnalysis } from "./analysis.ts";
import { endlessResponse } from "./endless-body.ts";

export type DifyMode = "workflow" | "chat" | "advanced-chat" | "agent-chat";

export interface DifyApp {
  key: string;
  mode: DifyMode;
  name?: string;
}

export interface DifyCall {
  path: string;
  app: DifyApp;
  body: Record<string, unknown>;
}

export type DifyReply =
  /** A chat answer; streamed to an agent app, `breakAfter` pieces then the stream stops. */
  | {
      answer: string;
      usage?: { prompt_tokens: number; completion_tokens: number };
      breakAfter?: number;
      /** Output moderation's replacement, streamed as `message_replace` after the answer. */
      replacedBy?: string;
    }
  /** An agent app's stream that reports an error after it started. */
  | { streamError: { status: number; code: string; message: string } }
  /** A workflow run, HTTP 200 whatever its status. */
  | {
      outputs: Record<string, unknown> | null;
      status?: "succeeded" | "failed" | "stopped" | "partial-succeeded" | "paused" | "running";
      error?: string;
      total_tokens?: number;
    }
  /** A Dify error body `{code, message, status}`. */
  | { http: number; code: string; message: string; headers?: Record<string, string> }
  /** Wait, then answer. */
  | { delayMs: number; reply: DifyReply }
  /** A 200 whose JSON body runs on (a runaway app or proxy; endless-body.ts). */
  | { endless: true };

export interface FakeDify {
  /** The API base, ending in /v1 (what ai.dify.url takes). */
  url: string;
  calls: DifyCall[];
  respond: (call: DifyCall) => DifyReply | Promise<DifyReply>;
  /** Bytes of `endless` bodies handed to the reader as it asked for them (a chunk ahead at most). */
  streamed: number;
  stop(): Promise<void>;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
const problem = (status: number, code: string, message: string, headers?: Record<string, string>) =>
  json(status, { code, message, status }, headers);

export async function startFakeDify(opts: {
  apps: DifyApp[];
  respond?: (call: DifyCall) => DifyReply | Promise<DifyReply>;
}): Promise<FakeDify> {
  const conversations = new Set<string>();
  const fake: FakeDify = {
    url: "",
    calls: [],
    respond: opts.respond ?? (() => ({ answer: "ok" })),
    streamed: 0,
    stop: async () => {},
  };

  const reply = async (r: DifyReply, call: DifyCall, chat: boolean): Promise<Response> => {
    if ("delayMs" in r) {
      await Bun.sleep(r.delayMs);
      return reply(r.reply, call, chat);
    }
    if ("http" in r) return problem(r.http, r.code, r.message, r.headers);
    if ("endless" in r) return endlessResponse('{"answer":"', fake);
    const now = Math.floor(Date.now() / 1000);
    if (call.app.mode === "agent-chat") return agentStream(r, call, conversations);
    if ("answer" in r) {
      if (!chat) throw new Error("fake-dify: a chat answer scripted for a workflow call");
      const conversation = (call.body.conversation_id as string | undefined) ?? crypto.randomUUID();
      conversations.add(conversation);
      const usage = r.usage ?? { prompt_tokens: 0, completion_tokens: 0 };
      return json(200, {
        event: "message",
        task_id: crypto.randomUUID(),
        id: crypto.randomUUID(),
        message_id: crypto.randomUUID(),
        conversation_id: conversation,
        mode: "chat",
        answer: r.answer,
        metadata: {
          usage: {
            ...usage,
            total_tokens: usage.prompt_tokens + usage.completion_tokens,
            total_price: "0.0001",
            currency: "USD",
            latency: 0.5,
          },
        },
        created_at: now,
      });
    }
    if (chat || "streamError" in r) throw new Error("fake-dify: a workflow reply scripted for a chat call");
    const status = r.status ?? "succeeded";
    const id = crypto.randomUUID();
    return json(200, {
      task_id: crypto.randomUUID(),
      workflow_run_id: id,
      data: {
        id,
        workflow_id: "wf-1",
        status,
        outputs: r.outputs,
        error: r.error ?? null,
        elapsed_time: 0.4,
        total_tokens: r.total_tokens ?? 0,
        total_steps: 3,
        created_at: now,
        finished_at: now,
      },
    });
  };

  const handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const key = /^Bearer (.+)$/.exec(req.headers.get("authorization") ?? "")?.[1];
    const app = opts.apps.find((a) => a.key === key);
    if (!app) return problem(401, "unauthorized", "Access token is invalid");
    if (req.method === "GET" && url.pathname === "/v1/info")
      return json(200, { name: app.name ?? `app-${app.mode}`, description: "", tags: [], mode: app.mode });
    if (req.method !== "POST") return problem(405, "method_not_allowed", "Method Not Allowed");
    let body: Record<string, unknown>;
    try {
      body = (await req.json()) as Record<string, unknown>;
    } catch {
      return problem(400, "invalid_param", "The request body is not valid JSON");
    }
    if (typeof body.user !== "string" || !body.user) return problem(400, "invalid_param", "user is required");
    if (body.inputs === undefined || typeof body.inputs !== "object" || body.inputs === null)
      return problem(400, "invalid_param", "inputs is required");
    const call: DifyCall = { path: url.pathname, app, body };
    if (url.pathname === "/v1/chat-messages") {
      if (app.mode === "workflow") return problem(400, "not_chat_app", "App mode mismatch");
      if (typeof body.query !== "string" || !body.query)
        return problem(400, "invalid_param", "query is required");
      if (body.conversation_id !== undefined && !conversations.has(String(body.conversation_id)))
        return problem(404, "not_found", "Conversation Not Exists.");
      if (app.mode === "agent-chat") {
        if (body.response_mode !== "streaming")
          return problem(400, "invalid_param", "Agent Chat App does not support blocking mode");
        fake.calls.push(call);
        return reply(await fake.respond(call), call, true);
      }
      if (body.response_mode !== "blocking") {
        if (body.response_mode === "streaming" || body.response_mode === undefined) return sse();
        return problem(400, "invalid_param", "response_mode must be blocking or streaming");
      }
      fake.calls.push(call);
      return reply(await fake.respond(call), call, true);
    }
    if (url.pathname === "/v1/workflows/run") {
      if (app.mode !== "workflow")
        return problem(400, "not_workflow_app", "Please check if your app mode matches");
      const inputs = body.inputs as Record<string, unknown>;
      for (const name of ["alert", "type", "language"])
        if (typeof inputs[name] !== "string" || !inputs[name])
          return problem(400, "invalid_param", `${name} is required in input form`);
      if (body.response_mode !== "blocking") return sse();
      fake.calls.push(call);
      return reply(await fake.respond(call), call, false);
    }
    return problem(404, "not_found", "Not Found");
  };

  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handle });
  fake.url = `http://127.0.0.1:${server.port}/v1`;
  fake.stop = async () => {
    await server.stop(true);
  };
  return fake;
}

function sse(): Response {
  const text = `data: {"event": "message", "answer": "partial"}\n\ndata: {"event": "message_end"}\n\n`;
  return new Response(text, { status: 200, headers: { "content-type": "text/event-stream" } });
}

/** An agent app's answer as Dify streams it: a thought, the answer in pieces, message_end. */
function agentStream(r: DifyReply, call: DifyCall, conversations: Set<string>): Response {
  const conversation = (call.body.conversation_id as string | undefined) ?? crypto.randomUUID();
  conversations.add(conversation);
  const base = {
    task_id: crypto.randomUUID(),
    message_id: crypto.randomUUID(),
    conversation_id: conversation,
  };
  const events: unknown[] = [
    { event: "agent_thought", ...base, thought: "Looking at the alert.", position: 1 },
  ];
  if ("streamError" in r) events.push({ event: "error", ...base, ...r.streamError });
  else if ("answer" in r) {
    const pieces = r.answer.match(/[\s\S]{1,16}/g) ?? [""];
    const sent = r.breakAfter === undefined ? pieces : pieces.slice(0, r.breakAfter);
    for (const answer of sent) events.push({ event: "agent_message", ...base, answer });
    if (r.replacedBy !== undefined) events.push({ event: "message_replace", ...base, answer: r.replacedBy });
    if (r.breakAfter === undefined) {
      const usage = r.usage ?? { prompt_tokens: 0, completion_tokens: 0 };
      events.push({ event: "message_end", ...base, metadata: { usage: { ...usage, total_tokens: 0 } } });
    }
  } else throw new Error("fake-dify: a workflow reply scripted for an agent app");
  const text = `event: ping\n\n${events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("")}`;
  return new Response(text, { status: 200, headers: { "content-type": "text/event-stream" } });
}

/**
 * One fake Dify with a workflow app (`app-wf`) for a whole test file: started before its tests,
 * stopped after them, and before each test cleared and answering a good analysis. The object
 * returned stands for the running fake.
 */
export function workflowDifyPerFile(): FakeDify {
  let dify: FakeDify | undefined;
  const running = (): FakeDify => {
    if (!dify) throw new Error("the fake Dify starts in beforeAll");
    return dify;
  };
  beforeAll(async () => {
    dify = await startFakeDify({ apps: [{ key: "app-wf", mode: "workflow" }] });
  });
  afterAll(() => running().stop());
  beforeEach(() => {
    const d = running();
    d.calls.length = 0;
    d.respond = () => ({ outputs: { analysis: goodAnalysis() } });
  });
  return {
    get url() {
      return running().url;
    },
    get calls() {
      return running().calls;
    },
    get respond() {
      return running().respond;
    },
    set respond(f) {
      running().respond = f;
    },
    get streamed() {
      return running().streamed;
    },
    stop: () => running().stop(),
  };
}
