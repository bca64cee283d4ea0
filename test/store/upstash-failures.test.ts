/**
 * Upstash REST failing the way networks do (docs/contracts.md#upstash-redis-rest): an answer lost
 * after Redis ran the request, an endpoint that never answers, a 500 in the middle of a job. Each
 * is a 503 store_unavailable — the job retried by QStash — and nothing is made twice. Upstash
 * itself is the shim in front of a real redis-server.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server, type Socket } from "node:net";
import { JobError } from "../../src/errors.ts";
import { Ledger } from "../../src/store/ledger.ts";
import { upstashStore } from "../../src/store/redis.ts";
import type { Store } from "../../src/store/store.ts";
import { fixture } from "../support/alert-groups.ts";
import { makeHarness } from "../support/harness.ts";
import { startQuotingPeer } from "../support/quoting-peer.ts";
import { startRedis } from "../support/redis-server.ts";
import { startUpstashShim, type UpstashShim } from "../support/upstash-shim.ts";
import { startWebhookSink } from "../support/webhook-sink.ts";

const TOKEN = "tok";
let redis: Awaited<ReturnType<typeof startRedis>>;
let shim: UpstashShim;
let failing: (body: string) => boolean = () => false;

beforeAll(async () => {
  redis = await startRedis();
  shim = await startUpstashShim({ redisUrl: redis.url, token: TOKEN, fail: (body) => failing(body) });
});
afterAll(async () => {
  await shim.stop();
  await redis.stop();
});

/** A TCP server on a free loopback port; its URL. */
async function listen(onSocket: (s: Socket) => void): Promise<{ url: string; server: Server }> {
  const server = createServer(onSocket);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

/** What a call's promise came to within `ms`. */
async function settle(p: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([
    p.then(
      () => "resolved",
      (e) => e,
    ),
    new Promise((r) => setTimeout(() => r("still pending"), ms)),
  ]);
}

describe("Upstash REST failing", () => {
  test("an answer lost after Redis ran the request: the call fails store_unavailable and is not sent again", async () => {
    // Forwards each request to the shim; the first one's answer is dropped with the connection.
    let dropped = 0;
    const target = new URL(shim.url);
    const proxy = await listen((client) => {
      const upstream = Bun.connect({
        hostname: target.hostname,
        port: Number(target.port),
        socket: {
          data(_s, chunk) {
            if (dropped++ === 0) client.destroy();
            else client.write(chunk);
          },
          close() {
            client.end();
          },
        },
      });
      client.on("data", async (chunk) => (await upstream).write(chunk));
      client.on("error", () => {});
    });
    try {
      const store = upstashStore({ url: proxy.url, token: TOKEN, prefix: "lost:" });
      const got = await settle(store.writeMany([{ op: "push", key: "recent", value: "a", max: 10 }]), 5000);
      expect(got).toBeInstanceOf(JobError);
      expect((got as JobError).code).toBe("store_unavailable");
      // Redis ran it once; the client did not send it again.
      const direct = upstashStore({ url: shim.url, token: TOKEN, prefix: "lost:" });
      expect(await direct.list("recent", 10)).toEqual(["a"]);
    } finally {
      proxy.server.close();
    }
  });

  /** An Upstash store whose endpoint takes requests and never answers, for `fn`. */
  async function onSilentEndpoint(timeoutMs: number, fn: (store: Store) => Promise<void>) {
    const silent = await listen(() => {});
    try {
      await fn(upstashStore({ url: silent.url, token: TOKEN, prefix: "silent:", timeoutMs }));
    } finally {
      silent.server.close();
    }
  }

  test("an endpoint that never answers: the call fails store_unavailable after the timeout", () =>
    onSilentEndpoint(300, async (store) => {
      const started = Date.now();
      const got = await settle(store.get("k"), 5000);
      expect(got).toBeInstanceOf(JobError);
      expect((got as JobError).code).toBe("store_unavailable");
      expect(Date.now() - started).toBeLessThan(2000);
    }));

  test("an endpoint that never answers: a claim fails after one timeout, not two (the let-go does not hold the answer)", () =>
    onSilentEndpoint(500, async (store) => {
      const ledger = new Ledger(store, { leaseMs: 60_000, retentionMs: 60_000 });
      const started = Date.now();
      const got = await settle(ledger.claim("msg_silent", "failure", { retried: 0 }), 5000);
      const ms = Date.now() - started;
      expect((got as JobError).code).toBe("store_unavailable");
      expect(ms).toBeGreaterThanOrEqual(450);
      // Two timeouts would be 1000 ms.
      expect(ms).toBeLessThan(850);
    }));

  test("every store operation, Upstash answering an error: store_unavailable (retried), never a crash", async () => {
    const store = upstashStore({ url: shim.url, token: TOKEN, prefix: "every:" });
    const calls: [string, () => Promise<unknown>][] = [
      ["get", () => store.get("k")],
      ["mget", () => store.mget(["k", "l"])],
      ["set", () => store.set("k", 1, { ttlMs: 1000 })],
      ["del", () => store.del("k")],
      ["delIfEquals", () => store.delIfEquals("k", 1)],
      ["expireIfEquals", () => store.expireIfEquals("k", 1, 1000)],
      ["acquire", () => store.acquire("k", 1, 1000, "l", ["m"])],
      ["writeMany", () => store.writeMany([{ op: "set", key: "k", value: 1 }])],
      ["pttl", () => store.pttl("k")],
      ["incr", () => store.incr("n", 1, 1000)],
      ["hincr", () => store.hincr("h", "f", 1)],
      ["hgetall", () => store.hgetall("h")],
      ["pushCapped", () => store.pushCapped("list", "a", 10, 1000)],
      ["list", () => store.list("list", 10)],
      ["hset", () => store.hset("j", { f: 1 })],
      ["hmget", () => store.hmget("j", ["f"])],
      ["hdel", () => store.hdel("j", ["f"])],
      ["zadd", () => store.zadd("z", [{ member: "a", score: 1 }])],
      ["zrem", () => store.zrem("z", ["a"])],
      ["zcard", () => store.zcard("z")],
      ["zrange", () => store.zrange("z", { limit: 5 })],
      ["ztopMany", () => store.ztopMany(["z"], 5)],
    ];
    failing = () => true;
    try {
      for (const [name, call] of calls) {
        const got = await settle(call(), 5000);
        expect(got instanceof JobError ? got.code : got, name).toBe("store_unavailable");
      }
    } finally {
      failing = () => false;
    }
  });

  test("Upstash failing once in the middle of a notification (recording a channel's 503): 503 with Retry-After, not 500", async () => {
    const sink = startWebhookSink();
    sink.answers.push(() => new Response("busy", { status: 503 }));
    try {
      const h = makeHarness(`channels:\n  hook: { type: webhook, url: "${sink.url}" }\n`, {
        store: upstashStore({ url: shim.url, token: TOKEN, prefix: "midjob:" }),
      });
      // The first request after the channel answered: the record of its failure.
      let failed = false;
      failing = () => {
        if (failed || sink.requests.length === 0) return false;
        failed = true;
        return true;
      };
      const job = { channels: ["hook"], payload: fixture("alertmanager-firing.json") };
      const res = await h.job("/jobs/notification", job, { messageId: "msg_mid" });
      expect(res.status).toBe(503);
      // The store's 5 s hint, raised to QStash's own first backoff: sooner would only spend a retry.
      expect(res.headers.get("retry-after")).toBe("13");
      expect(JSON.stringify(await res.json())).toContain("store_unavailable");
      const retry = await h.job("/jobs/notification", job, { messageId: "msg_mid" });
      expect(retry.status).toBe(200);
      // The refused attempt, then the page.
      expect(sink.requests).toHaveLength(2);
    } finally {
      failing = () => false;
      await sink.stop();
    }
  });

  test("a gateway in front of Upstash quoting the request's token: masked in the error, /health and /v1 (no token needed for /health)", async () => {
    const token = "AXk2ACQgNzU5Y2-upstash+token/9=";
    const gateway = startQuotingPeer(
      401,
      (req) => `unauthorized request auth=${req.headers.get("authorization")} (${encodeURIComponent(token)})`,
    );
    try {
      const store = upstashStore({ url: gateway.url, token, prefix: "gw:" });
      const err = await store.get("k").then(
        () => undefined,
        (e) => e,
      );
      expect(err).toBeInstanceOf(JobError);
      expect((err as JobError).code).toBe("store_unavailable");
      expect((err as JobError).message).toContain("unauthorized request auth=******** (********)");
      const h = makeHarness("", { store });
      const seen = [
        await (await h.request("/health/ready")).text(),
        await (await h.request("/health")).text(),
        await (await h.request("/v1/jobs/x")).text(),
        String((err as JobError).message),
        String(((err as JobError).cause as Error | undefined)?.message),
      ].join("\n");
      expect(seen).toContain("store");
      for (const spelled of [token, encodeURIComponent(token), token.slice(0, 20)])
        expect(seen).not.toContain(spelled);
    } finally {
      gateway.stop();
    }
  });
});
