/**
 * A fake of QStash's publish API on loopback (CONTRACTS §1): Bearer token required,
 * `POST /v2/publish/<destination>`, flow-control headers recorded, answers
 * `{messageId}` as QStash does. Only the parts the worker uses.
 */
export interface Published {
  destination: string;
  headers: Record<string, string>;
  body: string;
}

export function startFakeQstash(token: string) {
  const published: Published[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.headers.get("authorization") !== `Bearer ${token}`)
        return Response.json({ error: "Unauthorized" }, { status: 401 });
      if (req.method === "POST" && url.pathname.startsWith("/v2/publish/")) {
        const destination = decodeURIComponent(url.pathname.slice("/v2/publish/".length));
        if (!/^https?:\/\//.test(destination))
          return Response.json({ error: "invalid destination url" }, { status: 400 });
        published.push({ destination, headers: Object.fromEntries(req.headers), body: await req.text() });
        return Response.json({ messageId: `msg_${published.length}` }, { status: 201 });
      }
      return Response.json({ error: "not found" }, { status: 404 });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, published, stop: () => server.stop(true) };
}
