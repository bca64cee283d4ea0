/**
 * A fake of QStash's API on loopback, following docs/contracts.md#qstash: Bearer token required;
 * `POST /v2/publish/<destination>` (flow-control headers recorded, `{messageId}` back);
 * flow control `GET /v2/flowControl/<key>` (wait list and parallelism) and
 * `POST /v2/flowControl/<key>/pin?parallelism=&rate=&period=`; schedules
 * `POST /v2/schedules/<destination>` with `Upstash-Cron` (idempotent with
 * `Upstash-Schedule-Id`) and `GET /v2/schedules`. Tests set the wait lists.
 */
export interface Published {
  destination: string;
  headers: Record<string, string>;
  body: string;
}

export interface FakeKey {
  waitListSize: number;
  parallelismMax: number;
  parallelismCount: number;
  rateMax: number;
  ratePeriod: number;
  isPinnedParallelism: boolean;
}

const newKey = (): FakeKey => ({
  waitListSize: 0,
  parallelismMax: 1,
  parallelismCount: 0,
  rateMax: 0,
  ratePeriod: 1,
  isPinnedParallelism: false,
});

export interface FakeSchedule {
  scheduleId: string;
  destination: string;
  cron: string;
  body: string;
  headers: Record<string, string>;
  createdAt: number;
}

/**
 * `pinUnknownKey`: what pinning a key nothing was published under does. QStash's OpenAPI documents
 * only 200 and 400 for pin, so "create" (the default) is assumed; "not_found" is the other reading.
 */
export function startFakeQstash(token: string, opts: { pinUnknownKey?: "create" | "not_found" } = {}) {
  const published: Published[] = [];
  const keys = new Map<string, FakeKey>();
  const schedules = new Map<string, FakeSchedule>();
  const calls: string[] = [];
  let created = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      calls.push(`${req.method} ${url.pathname}${url.search}`);
      if (req.headers.get("authorization") !== `Bearer ${token}`)
        return Response.json({ error: "Unauthorized" }, { status: 401 });
      const path = url.pathname;
      if (req.method === "POST" && path.startsWith("/v2/publish/")) {
        // The destination's own query is part of it (Alertmanager's `?channels=`).
        const destination = decodeURIComponent(path.slice("/v2/publish/".length)) + url.search;
        if (!/^https?:\/\//.test(destination))
          return Response.json({ error: "invalid destination url" }, { status: 400 });
        published.push({ destination, headers: Object.fromEntries(req.headers), body: await req.text() });
        return Response.json({ messageId: `msg_${published.length}` });
      }
      const fc = /^\/v2\/flowControl\/([^/]+)(\/pin)?$/.exec(path);
      if (fc) {
        const key = decodeURIComponent(fc[1]);
        if (!keys.has(key) && req.method === "POST" && fc[2] && opts.pinUnknownKey !== "not_found")
          keys.set(key, newKey());
        const k = keys.get(key);
        if (!k) return Response.json({ error: `flow control key ${key} not found` }, { status: 404 });
        if (req.method === "GET" && !fc[2])
          return Response.json({
            flowControlKey: key,
            ...k,
            rateCount: 0,
            ratePeriodStart: 0,
            isPaused: false,
            isPinnedRate: false,
          });
        if (req.method === "POST" && fc[2]) {
          const p = url.searchParams.get("parallelism");
          if (p !== null) {
            if (!/^\d+$/.test(p) || Number(p) < 1)
              return Response.json({ error: "parallelism must be a positive integer" }, { status: 400 });
            k.parallelismMax = Number(p);
            k.isPinnedParallelism = true;
          }
          const r = url.searchParams.get("rate");
          if (r !== null) k.rateMax = Number(r);
          return new Response(null, { status: 200 });
        }
      }
      if (path.startsWith("/v2/schedules/") && req.method === "POST") {
        const destination = decodeURIComponent(path.slice("/v2/schedules/".length));
        const cron = req.headers.get("upstash-cron");
        if (!cron) return Response.json({ error: "Upstash-Cron header is required" }, { status: 400 });
        if (!/^https?:\/\//.test(destination))
          return Response.json({ error: "invalid destination url" }, { status: 400 });
        const scheduleId = req.headers.get("upstash-schedule-id") ?? `scd_${++created}`;
        if (!schedules.has(scheduleId)) created++;
        schedules.set(scheduleId, {
          scheduleId,
          destination,
          cron,
          body: await req.text(),
          headers: Object.fromEntries(req.headers),
          createdAt: Date.now(),
        });
        return Response.json({ scheduleId });
      }
      if (path === "/v2/schedules" && req.method === "GET")
        return Response.json([...schedules.values()].map(({ headers: _h, ...s }) => s));
      return Response.json({ error: "not found" }, { status: 404 });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    published,
    keys,
    schedules,
    calls,
    /** Schedules created (overwrites by the same id are not counted). */
    created: () => schedules.size,
    setKey(key: string, over: Partial<FakeKey> = {}) {
      keys.set(key, { ...newKey(), ...over });
    },
    stop: () => server.stop(true),
  };
}
