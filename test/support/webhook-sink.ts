/**
 * A loopback HTTP receiver for the generic webhook channel: records every request (method,
 * headers, JSON body) and answers what the test scripts (200 by default).
 */
export interface Hook {
  method: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export interface WebhookSink {
  url: string;
  requests: Hook[];
  /** The next answers, in order (a slow receiver: a promise); afterwards 200 `{"ok":true}`. */
  answers: (() => Response | Promise<Response>)[];
  stop(): Promise<void>;
}

export function startWebhookSink(): WebhookSink {
  const sink: WebhookSink = { url: "", requests: [], answers: [], stop: async () => {} };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const text = await req.text();
      sink.requests.push({
        method: req.method,
        headers: Object.fromEntries(req.headers),
        body: text ? JSON.parse(text) : {},
      });
      const next = sink.answers.shift();
      return next ? next() : Response.json({ ok: true });
    },
  });
  sink.url = `http://127.0.0.1:${server.port}/hook`;
  sink.stop = async () => {
    await server.stop(true);
  };
  return sink;
}
