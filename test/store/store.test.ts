/**
 * Runs the Store contract against every implementation — memory, SQLite (bun:sqlite), Redis over TCP, Upstash REST
 * through the shim in front of the same Redis — and tests the RESP client, the TCP requester and
 * the shim's own REST contract. The Redis suites need REDIS_URL (scripts/test.sh sets it) and fail
 * without it: they are never skipped.
 */

import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Redis } from "@upstash/redis";
import { main } from "../../src/cli/main.ts";
import { nodeDial } from "../../src/entry/node-net.ts";
import { bunSqlite } from "../../src/entry/sqlite-bun.ts";
import { createStore } from "../../src/store/create.ts";
import { Ledger } from "../../src/store/ledger.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { tcpStore, upstashStore } from "../../src/store/redis.ts";
import { RespConnection, RespError, StoreUnavailableError, tcpRequester } from "../../src/store/resp.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { fakePlatform } from "../support/fake-platform.ts";
import { deleteKeys, startRedis } from "../support/redis-server.ts";
import { freePort } from "../support/runtimes.ts";
import { makeCert } from "../support/smtp-sink.ts";
import { startUpstashShim, type UpstashShim } from "../support/upstash-shim.ts";
import { storeContract } from "./contract.ts";

const REDIS_URL = process.env.REDIS_URL;
const NO_REDIS =
  "REDIS_URL is not set: run scripts/test.sh, or install redis-server (apt-get install redis-server) and export REDIS_URL=redis://127.0.0.1:PORT";
const RUN = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const prefix = (suite: string) => `test:${RUN}:${suite}:`;
const TOKEN = `token-${RUN}`;

const memory = new MemoryStore();
storeContract("memory", async () => memory);

// The durable embedded store on Bun's SQLite, two connections to one WAL file for the cross-instance tests.
const sqliteFile = join(mkdtempSync(join(tmpdir(), "alertagent-sqlite-")), "store.db");
storeContract("sqlite (bun:sqlite, WAL)", async () => new SqliteStore(bunSqlite(sqliteFile)));

/** A suite that needs Redis: runs `body`, or fails loudly when REDIS_URL is missing. */
function withRedis(name: string, body: (url: string) => void): void {
  if (REDIS_URL) body(REDIS_URL);
  else
    describe(name, () => {
      test("needs a Redis server", () => {
        throw new Error(NO_REDIS);
      });
    });
}

let shim: UpstashShim | undefined;
const getShim = async (url: string) => {
  shim ??= await startUpstashShim({ redisUrl: url, token: TOKEN });
  return shim;
};

afterAll(async () => {
  await shim?.stop();
  if (!REDIS_URL) return;
  // Leave nothing behind in a long-lived Redis.
  await deleteKeys(REDIS_URL, `test:${RUN}:*`);
});

withRedis("redis over TCP", (url) => {
  storeContract("redis (tcp)", async () => tcpStore({ url, prefix: prefix("tcp"), dial: nodeDial }));
});

withRedis("upstash REST", (url) => {
  storeContract("upstash (rest shim)", async () => {
    const { url: restUrl, token } = await getShim(url);
    return upstashStore({ url: restUrl, token, prefix: prefix("rest") });
  });
  storeContract("upstash (rest shim, automaticDeserialization: false)", async () => {
    const { url: restUrl, token } = await getShim(url);
    return upstashStore({ url: restUrl, token, prefix: prefix("raw"), automaticDeserialization: false });
  });
});

withRedis("RESP client", (url) => {
  describe("RESP client", () => {
    test("parses every reply type", async () => {
      const c = new RespConnection(url, { dial: nodeDial });
      const k = `${prefix("resp")}types`;
      expect(await c.command(["PING"])).toBe("PONG");
      expect(await c.command(["SET", k, "héllo\r\n✓"])).toBe("OK");
      expect(await c.command(["GET", k])).toBe("héllo\r\n✓");
      expect(await c.command(["GET", `${k}:missing`])).toBeNull();
      expect(await c.command(["INCRBY", `${k}:n`, 41])).toBe(41);
      expect(await c.command(["MGET", k, `${k}:missing`, `${k}:n`])).toEqual(["héllo\r\n✓", null, "41"]);
      expect(await c.command(["LRANGE", `${k}:missing`, 0, -1])).toEqual([]);
      await expect(c.command(["INCR", k])).rejects.toBeInstanceOf(RespError);
      expect(await c.command(["GET", k])).toBe("héllo\r\n✓"); // still in step after an error
      await c.close();
    });

    test("replies that arrive a few bytes at a time, and a large one in many chunks, parse whole", async () => {
      // The server's replies cut into 3-byte pieces, each its own write (a slow or fragmenting network).
      const proxy = createServer((client) => {
        const target = new URL(url);
        const up = connect(Number(target.port || 6379), target.hostname);
        client.pipe(up);
        up.on("data", (data: Buffer) => {
          up.pause();
          let at = 0;
          const next = () => {
            if (at >= data.length) return up.resume();
            const n = data.length > 1000 ? 4096 : 3;
            client.write(data.subarray(at, at + n), () => setImmediate(next));
            at += n;
          };
          next();
        });
        const end = () => {
          client.destroy();
          up.destroy();
        };
        client.on("close", end).on("error", end);
        up.on("close", end).on("error", end);
      });
      await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
      const port = (proxy.address() as { port: number }).port;
      const viaUrl = new URL(url);
      viaUrl.hostname = "127.0.0.1";
      viaUrl.port = String(port);
      const c = new RespConnection(viaUrl.toString(), { dial: nodeDial });
      const k = `${prefix("resp")}slow`;
      try {
        const big = `${"y".repeat(2_000_000)}✓`;
        expect(await c.command(["SET", k, "héllo\r\n✓"])).toBe("OK");
        const replies = await c.pipeline([
          ["GET", k],
          ["MGET", k, `${k}:missing`],
          ["INCR", k],
          ["SET", `${k}:big`, big],
          ["GET", `${k}:big`],
          ["PING"],
        ]);
        expect(replies[0]).toBe("héllo\r\n✓");
        expect(replies[1]).toEqual(["héllo\r\n✓", null]);
        expect(replies[2]).toBeInstanceOf(RespError);
        expect(replies[3]).toBe("OK");
        expect(replies[4]).toBe(big);
        expect(replies[5]).toBe("PONG");
      } finally {
        await c.close();
        proxy.close();
      }
    });

    test("pipelines many commands and large values", async () => {
      const c = new RespConnection(url, { dial: nodeDial });
      const k = `${prefix("resp")}big`;
      const big = `${"x".repeat(300_000)}✓`;
      await c.command(["SET", k, big]);
      const results = await Promise.all(
        Array.from({ length: 300 }, (_, i) => c.command(i % 3 ? ["PING"] : ["GET", k])),
      );
      for (const [i, r] of results.entries()) expect(r).toBe(i % 3 ? "PONG" : big);
      const replies = await c.pipeline([
        ["SET", `${k}:a`, "1"],
        ["INCR", k],
        ["GET", `${k}:a`],
      ]);
      expect(replies[0]).toBe("OK");
      expect(replies[1]).toBeInstanceOf(RespError);
      expect(replies[2]).toBe("1");
      await c.close();
    });

    test("multi runs atomically; a queueing error discards everything", async () => {
      const c = new RespConnection(url, { dial: nodeDial });
      const k = `${prefix("resp")}multi`;
      expect(
        await c.multi([
          ["SET", k, "1"],
          ["INCR", k],
        ]),
      ).toEqual(["OK", 2]);
      await expect(c.multi([["SET", k, "10"], ["INCR"]])).rejects.toThrow(/EXECABORT/);
      expect(await c.command(["GET", k])).toBe("2");
      await c.close();
    });

    test("selects the database from the URL", async () => {
      const db0 = new RespConnection(url, { dial: nodeDial });
      const db3 = new RespConnection(`${url.replace(/\/\d*$/, "")}/3`, { dial: nodeDial });
      const k = `${prefix("resp")}db`;
      await db3.command(["SET", k, "in-3", "PX", 60_000]);
      expect(await db3.command(["GET", k])).toBe("in-3");
      expect(await db0.command(["GET", k])).toBeNull();
      await db3.command(["DEL", k]);
      await Promise.all([db0.close(), db3.close()]);
    });

    test("a failed AUTH is reported as unavailable", async () => {
      const u = new URL(url);
      u.username = "nobody";
      u.password = "wrong";
      const c = new RespConnection(u.toString(), { dial: nodeDial });
      await expect(c.command(["PING"])).rejects.toThrow(/store unavailable: .*handshake failed/);
      await c.close();
    });

    test("no server: the command rejects with 'store unavailable'", async () => {
      const c = new RespConnection("redis://127.0.0.1:1", { dial: nodeDial });
      const err = await c.command(["PING"]).catch((e: Error) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toContain("store unavailable");
    });

    test("a dropped connection rejects what was in flight, then reconnects", async () => {
      const c = new RespConnection(url, { dial: nodeDial });
      const admin = new RespConnection(url, { dial: nodeDial });
      const id = await c.command(["CLIENT", "ID"]);
      const inFlight = c.command(["BLPOP", `${prefix("resp")}never`, 5]).catch((e: Error) => e);
      await new Promise((r) => setTimeout(r, 50));
      expect(await admin.command(["CLIENT", "KILL", "ID", String(id)])).toBe(1);
      const err = await inFlight;
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toMatch(/^store unavailable/);
      expect(await c.command(["PING"])).toBe("PONG");
      expect(await c.command(["CLIENT", "ID"])).not.toBe(id);
      await Promise.all([c.close(), admin.close()]);
    });

    test("a closed connection refuses commands", async () => {
      const c = new RespConnection(url, { dial: nodeDial });
      await c.command(["PING"]);
      await c.close();
      await expect(c.command(["PING"])).rejects.toBeInstanceOf(StoreUnavailableError);
    });
  });
});

withRedis("upstash shim", (url) => {
  describe("upstash shim (REST contract)", () => {
    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const { url: base, token } = await getShim(url);
      const res = await fetch(base + path, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
    const k = (s: string) => `${prefix("shim")}${s}`;

    test("401 without a token or with a wrong one", async () => {
      const { url: base } = await getShim(url);
      const tries: Record<string, string>[] = [
        {},
        { Authorization: "Bearer wrong" },
        { Authorization: TOKEN },
      ];
      for (const headers of tries) {
        const res = await fetch(base, { method: "POST", headers, body: JSON.stringify(["PING"]) });
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({ error: "Unauthorized" });
      }
    });

    test("one command, plain JSON", async () => {
      expect(await post("/", ["SET", k("plain"), "héllo ✓", "PX", 60_000])).toEqual({
        status: 200,
        body: { result: "OK" },
      });
      expect((await post("/", ["GET", k("plain")])).body).toEqual({ result: "héllo ✓" });
      expect((await post("/", ["GET", k("missing")])).body).toEqual({ result: null });
      expect((await post("/", ["INCRBY", k("n"), 5])).body).toEqual({ result: 5 });
      expect((await post("/", ["PING"])).body).toEqual({ result: "PONG" });
    });

    test("Upstash-Encoding: base64 encodes every string but a top-level OK", async () => {
      const h = { "Upstash-Encoding": "base64" };
      expect((await post("/", ["SET", k("b64"), "héllo ✓", "PX", 60_000], h)).body).toEqual({ result: "OK" });
      expect((await post("/", ["GET", k("b64")], h)).body).toEqual({ result: b64("héllo ✓") });
      expect((await post("/", ["PING"], h)).body).toEqual({ result: b64("PONG") });
      expect((await post("/", ["INCRBY", k("b64n"), 7], h)).body).toEqual({ result: 7 });
      expect((await post("/", ["MGET", k("b64"), k("missing")], h)).body).toEqual({
        result: [b64("héllo ✓"), null],
      });
      expect((await post("/", ["SET", k("ok"), "OK"], h)).body).toEqual({ result: "OK" });
      expect((await post("/", ["GET", k("ok")], h)).body).toEqual({ result: b64("OK") });
      const pipe = await post(
        "/pipeline",
        [
          ["SET", k("b64p"), "v"],
          ["GET", k("b64p")],
          ["INCR", k("b64p")],
        ],
        h,
      );
      expect(pipe.body).toEqual([
        { result: "OK" },
        { result: b64("v") },
        { error: expect.stringMatching(/^ERR /) },
      ]);
    });

    test("a command error is HTTP 400 with the Redis error", async () => {
      await post("/", ["SET", k("str"), "abc"]);
      const r = await post("/", ["INCR", k("str")]);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error: expect.stringMatching(/^ERR value is not an integer/) });
      expect((await post("/", ["NOSUCHCOMMAND"])).body).toEqual({
        error: expect.stringMatching(/^ERR unknown command/),
      });
      expect((await post("/", ["MULTI"])).status).toBe(400);
      expect((await post("/", "not an array")).status).toBe(400);
    });

    test("pipeline is not atomic: a failed command leaves the others applied", async () => {
      const r = await post("/pipeline", [["SET", k("p"), "1"], ["INCR"], ["INCR", k("p")]]);
      expect(r.status).toBe(200);
      expect(r.body).toEqual([
        { result: "OK" },
        { error: expect.stringMatching(/^ERR wrong number/) },
        { result: 2 },
      ]);
    });

    test("multi-exec is atomic: a queueing error applies nothing; run-time errors are per command", async () => {
      const bad = await post("/multi-exec", [["SET", k("m"), "1"], ["INCR"]]);
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual({ error: expect.stringMatching(/^EXECABORT/) });
      expect((await post("/", ["GET", k("m")])).body).toEqual({ result: null });
      const ok = await post("/multi-exec", [
        ["SET", k("m"), "x"],
        ["INCR", k("m")],
        ["GET", k("m")],
      ]);
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual([{ result: "OK" }, { error: expect.stringMatching(/^ERR /) }, { result: "x" }]);
    });

    test("@upstash/redis gives the same answers over HTTP (base64 and plain) and over TCP", async () => {
      const { url: base, token } = await getShim(url);
      const requester = tcpRequester(url, { dial: nodeDial });
      const clients = {
        base64: new Redis({ url: base, token, enableTelemetry: false }),
        plain: new Redis({ url: base, token, enableTelemetry: false, responseEncoding: false }),
        tcp: new Redis(requester),
      };
      const answers: Record<string, unknown[]> = {};
      for (const [name, r] of Object.entries(clients)) {
        const p = k(`parity:${name}:`);
        const a: unknown[] = [];
        a.push(
          await r.set(`${p}s`, "12"),
          await r.get(`${p}s`),
          await r.set(`${p}j`, { a: [1, "✓"] }),
          await r.get(`${p}j`),
        );
        a.push(
          await r.set(`${p}s`, "x", { nx: true }),
          await r.incrby(`${p}n`, 3),
          await r.mget(`${p}s`, `${p}n`, `${p}none`),
        );
        a.push(
          await r.hincrbyfloat(`${p}h`, "f", 1.25),
          await r.hgetall(`${p}h`),
          await r.lpush(`${p}l`, "a", "b"),
        );
        a.push(
          await r.lrange(`${p}l`, 0, -1),
          await r.eval("return {1, 'two', ARGV[1]}", [], ["OK"]),
          await r.ping(),
        );
        a.push(await r.pipeline().set(`${p}q`, "1").incr(`${p}q`).get(`${p}q`).exec());
        a.push(await r.multi().set(`${p}q`, "OK").get(`${p}q`).exec());
        a.push(await r.get(`${p}s`).catch(String), await r.incr(`${p}s`).catch((e: Error) => e.name));
        answers[name] = a;
      }
      await requester.close();
      expect(answers.plain).toEqual(answers.base64);
      expect(answers.tcp).toEqual(answers.base64);
      // The client's own JSON parsing turns a raw "12" into 12: why RedisStore stores JSON text.
      expect(answers.base64?.[1]).toBe(12);
    });
  });
});

describe("sqlite: what was written survives a new connection (a restart)", () => {
  test("the ledger-like entry, a lease's TTL and a sorted set are there after reopening the file", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "alertagent-sqlite-")), "restart.db");
    const a = new SqliteStore(bunSqlite(file));
    await a.set("job:msg_1", { status: "succeeded" });
    await a.set("lease:msg_2", { token: "t" }, { ttlMs: 60_000 });
    await a.zadd("z", [{ member: "m", score: 1 }]);
    await a.close();
    const b = new SqliteStore(bunSqlite(file));
    expect(await b.get("job:msg_1")).toEqual({ status: "succeeded" });
    expect(await b.pttl("lease:msg_2")).toBeGreaterThan(50_000);
    expect(await b.zrange("z", { limit: 5 })).toEqual([{ member: "m", score: 1 }]);
    await b.close();
  });
});

describe("sqlite: operations of one turn share a commit, and fail alone", () => {
  test("one failing operation among concurrent ones rolls back only itself; each resolves after its commit", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "alertagent-sqlite-")), "group.db");
    const a = new SqliteStore(bunSqlite(file));
    const results = await Promise.allSettled([
      a.set("g:1", "one"),
      a.writeMany([
        { op: "set", key: "g:half", value: "written then rolled back" },
        { op: "set", key: "g:bad", value: 10n },
      ]),
      a.set("g:3", "three"),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    // What resolved is in the file: a second connection sees it.
    const b = new SqliteStore(bunSqlite(file));
    expect(await b.mget(["g:1", "g:half", "g:bad", "g:3"])).toEqual(["one", null, null, "three"]);
    await a.close();
    await b.close();
  });
});

/** A support script's command on each runtime's SQLite: Bun's own, and node:sqlite on Deno. */
function onEachSqlite(name: string): (readonly [string, string[]])[] {
  const script = join(import.meta.dir, "../support", name);
  return [
    ["bun:sqlite", [process.execPath, script]],
    ["node:sqlite on Deno", [join(import.meta.dir, "../../node_modules/.bin/deno"), "run", "-A", script]],
  ];
}

describe("sqlite: a full disk fails the writes of its commit, each caller told, readiness says so, and the store recovers", () => {
  for (const [runtime, cmd] of onEachSqlite("sqlite-disk-full.ts")) {
    test(`${runtime}: every caller of the commit hears the error, and the store works once there is room`, () => {
      const run = Bun.spawnSync([...cmd], { stdout: "pipe", stderr: "pipe" });
      const out = run.stdout.toString();
      expect(run.exitCode, `${out}${run.stderr.toString()}`).toBe(0);
      const got = JSON.parse(out) as {
        full: string[] | string;
        pingFull: string;
        pingFreed: string;
        after: unknown;
        kept: unknown[];
        fullError: string;
        openedFull: unknown;
      };
      expect(got.full).toEqual([0, 1, 2].map(() => expect.stringContaining("database or disk is full")));
      // /health/ready is not ready while writes fail, and ready again once they work.
      expect([got.pingFull, got.pingFreed]).toEqual(["store_unavailable", "ok"]);
      expect(got.after).toBe("ok");
      // The commit's writes all went; what was there before stays.
      expect(got.kept).toEqual([1, null, null]);
      // Full when it opens (a restart on a full disk): it opens — readiness says the rest — and
      // writes once there is room, rather than refusing to start with a word about permissions.
      expect(got.fullError).toContain("full");
      expect(got.openedFull).toBe("ok");
    });
  }
});

test("sqlite: a start on a full disk after a clean stop (no -shm left, none can be made) is refused naming the full disk, not 'disk I/O error'", async () => {
  const file = join(mkdtempSync(join(tmpdir(), "alertagent-sqlite-")), "s.db");
  const store = new SqliteStore(bunSqlite(file));
  await store.set("job:answered", 1);
  await store.close();
  for (const f of [`${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  // The process may write no file past 8 KB: the -shm (32 KB) cannot be made, as on a full disk.
  const r = Bun.spawnSync(
    [
      "sh",
      "-c",
      `ulimit -f 8; exec "$0" -e "$1"`,
      process.execPath,
      `const { bunSqlite } = await import(${JSON.stringify(join(import.meta.dir, "../../src/entry/sqlite-bun.ts"))});
const { SqliteStore } = await import(${JSON.stringify(join(import.meta.dir, "../../src/store/sqlite.ts"))});
try { new SqliteStore(bunSqlite(${JSON.stringify(file)})); console.log("opened"); } catch (e) { console.log(e.message); }`,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const said = r.stdout.toString() + r.stderr.toString();
  expect(said).toContain("no room to write beside the database");
  expect(said).toContain("the disk holding it is full");
});

describe("sqlite: as on the memory store", () => {
  const fresh = () =>
    new SqliteStore(bunSqlite(join(mkdtempSync(join(tmpdir(), "alertagent-sqlite-")), "s.db")));
  for (const [name, make] of [
    ["memory", () => new MemoryStore()],
    ["sqlite", fresh],
  ] as const) {
    test(`${name}: a read sees the writes asked for before it in the same turn`, async () => {
      const s = make();
      void s.hincr("h", "f", 1);
      void s.zadd("z", [{ member: "m", score: 1 }]);
      expect(await s.hgetall("h")).toEqual({ f: 1 });
      expect(await s.zcard("z")).toBe(1);
      expect(await s.zrange("z", { limit: 5 })).toEqual([{ member: "m", score: 1 }]);
    });

    test(`${name}: a member scored +Infinity is listed without maxScore`, async () => {
      const s = make();
      await s.zadd("z", [
        { member: "top", score: Number.POSITIVE_INFINITY },
        { member: "one", score: 1 },
      ]);
      expect((await s.zrange("z", { limit: 5 })).map((e) => e.member)).toEqual(["one", "top"]);
      expect(await s.ztopMany(["z"], 5)).toEqual([{ size: 2, members: ["top", "one"] }]);
    });
  }
});

/** Another process that takes `file`'s write lock and holds it for `ms`; resolves once it holds it. */
async function holdWriteLock(file: string, ms: number) {
  const holder = Bun.spawn(
    [
      process.execPath,
      "-e",
      `const { Database } = require("bun:sqlite"); const db = new Database(${JSON.stringify(file)});
       db.exec("BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS other (x)"); console.log("held");
       Bun.sleepSync(${ms}); db.exec("COMMIT");`,
    ],
    { stdout: "pipe" },
  );
  expect(new TextDecoder().decode((await holder.stdout.getReader().read()).value)).toContain("held");
  return holder;
}

describe("sqlite: another process holding the write lock", () => {
  for (const [runtime, cmd] of onEachSqlite("sqlite-busy.ts")) {
    test(`${runtime}: a write waits for the lock without stopping the event loop, then commits`, async () => {
      const file = join(mkdtempSync(join(tmpdir(), "alertagent-sqlite-")), "busy.db");
      await new SqliteStore(bunSqlite(file)).close();
      // Another process (an sqlite3 shell in a transaction, a second worker) holds the lock for 1.5 s.
      const holder = await holdWriteLock(file, 1500);
      const run = Bun.spawn([...cmd, file], { stdout: "pipe", stderr: "pipe" });
      const [out, err, code] = [
        await new Response(run.stdout).text(),
        await new Response(run.stderr).text(),
        await run.exited,
      ];
      expect(code, `${out}${err}`).toBe(0);
      const got = JSON.parse(out) as { value: unknown; ticks: number; waitedMs: number };
      expect(got.value).toBe("v");
      expect(got.waitedMs).toBeGreaterThan(300);
      // A 10 ms timer kept running while the write waited: about one tick per 10 ms, not none.
      expect(got.ticks).toBeGreaterThan(got.waitedMs / 40);
      expect(await holder.exited).toBe(0);
    });
  }
});

describe("sqlite: processes opening one new file at the same moment", () => {
  for (const [runtime, cmd] of onEachSqlite("sqlite-open-race.ts")) {
    test(`${runtime}: every one opens it and writes (none fails with "database is locked")`, async () => {
      const file = join(mkdtempSync(join(tmpdir(), "alertagent-sqlite-")), "new.db");
      // Far enough ahead for every process to have started; each spins until then.
      const at = Date.now() + 2500;
      const runs = Array.from({ length: 4 }, () =>
        Bun.spawn([...cmd, file, String(at)], { stdout: "pipe", stderr: "pipe" }),
      );
      const outs = await Promise.all(
        runs.map(async (r) => `${await new Response(r.stdout).text()}${await new Response(r.stderr).text()}`),
      );
      expect(outs.map((o) => o.trim())).toEqual(runs.map(() => '{"ok":true}'));
    });
  }
});

describe("sqlite: what operators do to the file", () => {
  for (const [runtime, cmd] of onEachSqlite("sqlite-hostile.ts")) {
    const run = (which: string, file: string, asUser: string[] = [], env: Record<string, string> = {}) => {
      const r = Bun.spawnSync([...asUser, ...cmd, which, file], {
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, ...env },
      });
      expect(r.exitCode, `${r.stdout}${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout.toString());
    };
    const fresh = () => join(mkdtempSync(join(tmpdir(), "alertagent-sqlite-")), "s.db");

    test(`${runtime}: close() lets the file go, and a closed store refuses writes (503 store_unavailable)`, () => {
      expect(run("close", fresh())).toEqual({ fds: 0, afterClose: "store_unavailable" });
    });

    test(`${runtime}: a file renamed or replaced while open fails every operation instead of writing where no restart reads`, () => {
      expect(run("moved", fresh())).toEqual({ ping: "store_unavailable", set: "store_unavailable" });
    });

    /**
     * What opening `file` as a SqliteStore says, run as nobody when this is root (root writes whatever
     * a mode says), from one bundled file in a directory nobody may read (the checkout may not be),
     * with a home (Deno's cache) of its own.
     */
    const openAsNobody = (file: string, dirMode = 0o755): string => {
      const root = process.getuid?.() === 0;
      const home = mkdtempSync(join(tmpdir(), "alertagent-nobody-"));
      chmodSync(home, 0o755);
      chmodSync(dirname(file), dirMode);
      const onBun = runtime === "bun:sqlite";
      const [port, open] = onBun ? ["sqlite-bun.ts", "bunSqlite"] : ["sqlite-node.ts", "nodeSqlite"];
      const src = (f: string) => JSON.stringify(join(import.meta.dir, "../../src", f));
      writeFileSync(
        join(home, "open.ts"),
        `import process from "node:process";
import { ${open} } from ${src(`entry/${port}`)};
import { SqliteStore } from ${src("store/sqlite.ts")};
try { new SqliteStore(${open}(process.argv.at(-1))); console.log(JSON.stringify({ opened: true })); }
catch (e) { console.log(JSON.stringify({ opened: false, error: e.message })); }
process.exit(0);`,
      );
      const built = Bun.spawnSync([
        process.execPath,
        "build",
        join(home, "open.ts"),
        `--target=${onBun ? "bun" : "node"}`,
        "--outfile",
        join(home, "open.js"),
      ]);
      expect(built.exitCode, built.stderr.toString()).toBe(0);
      if (root) chownSync(home, 65534, 65534);
      const asNobody = root ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
      const r = Bun.spawnSync([...asNobody, ...cmd.slice(0, -1), join(home, "open.js"), file], {
        cwd: home,
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, HOME: home, DENO_DIR: join(home, "deno") },
      });
      return `${r.stdout.toString().trim()}${r.stderr.toString()}`;
    };

    test(`${runtime}: a file this process may only read is refused at opening, not at the first job`, async () => {
      const file = fresh();
      await new SqliteStore(bunSqlite(file)).close();
      chmodSync(file, 0o444);
      expect(openAsNobody(file)).toBe(
        '{"opened":false,"error":"the database file is not writable by this process"}',
      );
    }, 60_000);

    test(`${runtime}: a file this process may write in a directory it may not (no room for the -wal) is refused naming both`, async () => {
      const file = fresh();
      await new SqliteStore(bunSqlite(file)).close();
      // As root the directory stays root's (nobody opens the file); otherwise it is made read-only.
      if (process.getuid?.() === 0) chownSync(file, 65534, 65534);
      const said = openAsNobody(file, 0o555);
      chmodSync(dirname(file), 0o755);
      expect(said).toStartWith('{"opened":false,"error":"cannot write the database');
      expect(said).toContain("its directory");
    }, 60_000);

    test(`${runtime}: another application's SQLite file at store.path is refused, untouched`, () => {
      const file = fresh();
      const theirs = new Database(file);
      theirs.exec(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT); INSERT INTO users VALUES (1, 'a@b');",
      );
      theirs.close();
      if (process.getuid?.() === 0) chownSync(file, 65534, 65534);
      expect(openAsNobody(file)).toBe(
        '{"opened":false,"error":"the file is another application\'s SQLite database (tables: users); give store.path a file of its own"}',
      );
      const after = new Database(file);
      expect(after.query("SELECT name FROM sqlite_master WHERE type = 'table'").all()).toEqual([
        { name: "users" },
      ]);
      expect(after.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "delete" });
      after.close();
    }, 60_000);

    test(`${runtime}: a store file a backup tool added its tables to (Litestream) still opens`, async () => {
      const file = fresh();
      await new SqliteStore(bunSqlite(file)).close();
      const tool = new Database(file);
      tool.exec(
        "CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER); CREATE TABLE _litestream_lock (id INTEGER);",
      );
      tool.close();
      if (process.getuid?.() === 0)
        for (const f of [dirname(file), file, `${file}-wal`, `${file}-shm`])
          if (existsSync(f)) chownSync(f, 65534, 65534);
      expect(openAsNobody(file)).toBe('{"opened":true}');
    }, 60_000);

    test(`${runtime}: a writable file whose WAL another user left behind (a run as root killed) is refused at opening`, () => {
      const file = fresh();
      // A process that dies with the store open leaves its -wal and -shm, owned by whoever ran it.
      const died = Bun.spawnSync([
        process.execPath,
        "-e",
        `const { bunSqlite } = await import(${JSON.stringify(join(import.meta.dir, "../../src/entry/sqlite-bun.ts"))});
const { SqliteStore } = await import(${JSON.stringify(join(import.meta.dir, "../../src/store/sqlite.ts"))});
const s = new SqliteStore(bunSqlite(${JSON.stringify(file)}));
await s.set("job:answered", { status: "succeeded" });
process.kill(process.pid, "SIGKILL");`,
      ]);
      expect(died.signalCode).toBe("SIGKILL");
      for (const f of [`${file}-wal`, `${file}-shm`]) chmodSync(f, 0o644);
      if (process.getuid?.() === 0) {
        chownSync(file, 65534, 65534);
        chownSync(dirname(file), 65534, 65534);
      } else for (const f of [`${file}-wal`, `${file}-shm`]) chmodSync(f, 0o444);
      const said = openAsNobody(file);
      expect(said).toStartWith('{"opened":false,"error":"cannot write the database');
      expect(said).toContain("readonly");
    }, 60_000);

    test(`${runtime}: a file damaged while stopped is refused at opening, not found out job by job`, () => {
      expect(run("damaged", fresh())).toStartWith(
        "Error: the database file is damaged (SQLite's quick_check: ",
      );
      // Damage SQLite meets before its check (a header overwritten, a copy cut short): the same advice.
      for (const how of ["header", "truncated"])
        expect({ how, said: run(how, fresh()) }).toEqual({
          how,
          said: expect.stringMatching(/^Error: the database file is damaged \(.+\); move it aside/),
        });
    }, 60_000);

    test(`${runtime}: the WAL a long reader made grow goes back to at most 16 MB once it lets go`, () => {
      const got = run("wal", fresh()) as { peakMb: number; afterMb: number };
      expect(got.peakMb).toBeGreaterThan(20);
      expect(got.afterMb).toBeLessThanOrEqual(16);
    }, 60_000);
  }
});

test("sqlite: a store.path that cannot be opened says which path, with SQLite's or the system's reason", () => {
  const dir = mkdtempSync(join(tmpdir(), "alertagent-sqlite-"));
  writeFileSync(join(dir, "a-file"), "");
  const path = join(dir, "a-file/alertagent.db");
  const cfg = { kind: "sqlite", path, retention: 1000, max_keys: 10 } as Parameters<typeof createStore>[0];
  expect(() => createStore(cfg, { runtime: "bun", openSqlite: bunSqlite })).toThrow(
    new RegExp(`^store\\.path ${path.replaceAll(".", "\\.")}: .*(EEXIST|ENOTDIR)`),
  );
});

test("sqlite: a claim refused by another process's lock answers after the store's 5 s wait, not twice that", async () => {
  const file = join(mkdtempSync(join(tmpdir(), "alertagent-sqlite-")), "claim.db");
  const store = new SqliteStore(bunSqlite(file));
  await store.set("warm", 1);
  const holder = await holdWriteLock(file, 12_000);
  const ledger = new Ledger(store, { leaseMs: 60_000, retentionMs: 60_000 });
  const started = Date.now();
  const got = await ledger.claim("msg_locked", "failure", { retried: 0 }).then(
    () => "claimed",
    (e) => (e as { code?: string }).code,
  );
  const ms = Date.now() - started;
  holder.kill();
  expect(got).toBe("store_unavailable");
  // Before, the failed claim asked the store to let the lease go, and waited out the lock again.
  expect(ms).toBeGreaterThan(4500);
  expect(ms).toBeLessThan(8000);
}, 30_000);

describe("redis over TLS (rediss://), a real redis-server with the test's certificate", () => {
  for (const host of ["127.0.0.1", "localhost"]) {
    test(`rediss://${host}: connects and answers (an IP is not sent as the TLS server name)`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "alertagent-redis-tls-"));
      const { key, cert } = makeCert();
      writeFileSync(join(dir, "key.pem"), key);
      writeFileSync(join(dir, "cert.pem"), cert);
      const port = freePort();
      const server = Bun.spawn(
        [
          "redis-server",
          "--port",
          "0",
          "--tls-port",
          String(port),
          "--tls-cert-file",
          join(dir, "cert.pem"),
          "--tls-key-file",
          join(dir, "key.pem"),
          "--tls-ca-cert-file",
          join(dir, "cert.pem"),
          "--tls-auth-clients",
          "no",
          "--save",
          "",
        ],
        { stdout: "ignore", stderr: "pipe" },
      );
      try {
        const tlsCli = ["redis-cli", "--tls", "--cacert", join(dir, "cert.pem"), "-p", String(port), "ping"];
        for (let i = 0; i < 50 && !Bun.spawnSync(tlsCli).stdout.toString().includes("PONG"); i++)
          await Bun.sleep(100);
        const run = Bun.spawn(
          [
            process.execPath,
            join(import.meta.dir, "../support/redis-tls-client.ts"),
            `rediss://${host}:${port}`,
          ],
          {
            stdout: "pipe",
            stderr: "pipe",
            env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, "cert.pem") },
          },
        );
        const out = await new Response(run.stdout).text();
        expect(out.trim(), await new Response(run.stderr).text()).toBe('{"got":1}');
      } finally {
        server.kill();
      }
    });
  }
});

/**
 * A real redis-server, set up by each `[setting, value]` list in turn (CONFIG SET), and the
 * hazards the TCP store names under each, by the list's values joined with spaces.
 */
async function hazardsUnder(
  settings: [string, string][][],
  more: (redis: { url: string; cli: (...args: string[]) => void }) => Promise<void>,
): Promise<Record<string, string[]>> {
  const redis = await startRedis();
  const cli = (...args: string[]) => void Bun.spawnSync(["redis-cli", "-p", String(redis.port), ...args]);
  const store = tcpStore({ url: redis.url, prefix: "hz:", dial: nodeDial });
  try {
    const seen: Record<string, string[]> = {};
    for (const set of settings) {
      for (const [name, value] of set) cli("CONFIG", "SET", name, value);
      seen[set.map(([, v]) => JSON.stringify(v)).join(" ")] = (await store.hazards?.()) ?? ["no hazards()"];
    }
    await more({ url: redis.url, cli });
    return seen;
  } finally {
    await store.close();
    await redis.stop();
  }
}

describe("redis: how a server is set up to break the worker's promises is named at start (a real redis-server)", () => {
  test("a store that does not answer at start (a wrong password) is said on the log then, not only at the first job", async () => {
    const redis = await startRedis();
    try {
      Bun.spawnSync(["redis-cli", "-p", String(redis.port), "CONFIG", "SET", "requirepass", "the-password"]);
      const url = new URL(redis.url);
      url.password = "not-the-password";
      const f = fakePlatform({
        "w.yaml": `qstash: { current_signing_key: sig_live_cur_s3cret, next_signing_key: sig_live_next_s3cret }\nstore: { kind: redis, url: "${url.href}" }\n`,
      });
      await main(["--config", "w.yaml"], f.p);
      const said = () =>
        f
          .stdout()
          .split("\n")
          .find((l) => l.includes("store not reachable at start"));
      for (let i = 0; i < 100 && !said(); i++) await Bun.sleep(20);
      expect(JSON.parse(said() ?? "{}")).toMatchObject({ level: "error", store: "redis" });
      expect(said()).toContain("WRONGPASS");
      expect(f.stdout()).not.toContain("not-the-password");
    } finally {
      await redis.stop();
    }
  });

  test("/health shows a hazard as a warning of the store check and says degraded, still ready", async () => {
    const redis = await startRedis();
    try {
      Bun.spawnSync(["redis-cli", "-p", String(redis.port), "CONFIG", "SET", "maxmemory", "100mb"]);
      Bun.spawnSync([
        "redis-cli",
        "-p",
        String(redis.port),
        "CONFIG",
        "SET",
        "maxmemory-policy",
        "allkeys-lru",
      ]);
      const f = fakePlatform({
        "w.yaml": `qstash: { current_signing_key: sig_live_cur_s3cret, next_signing_key: sig_live_next_s3cret }\nstore: { kind: redis, url: "${redis.url}" }\n`,
      });
      await main(["--config", "w.yaml"], f.p);
      const health = (await (await f.fetch("/health")).json()) as {
        status: string;
        checks: { store: { ok: boolean; warnings?: string[] } };
      };
      expect(health.status).toBe("degraded");
      expect(health.checks.store).toMatchObject({
        ok: true,
        warnings: [expect.stringContaining("maxmemory-policy allkeys-lru")],
      });
      expect((await f.fetch("/health/ready")).status).toBe(200);
    } finally {
      await redis.stop();
    }
  });

  test("allkeys-lru and volatile-ttl under a maxmemory are hazards; noeviction, or no maxmemory, are not", async () => {
    const policies = [
      ["100mb", "allkeys-lru"],
      ["100mb", "volatile-ttl"],
      ["100mb", "noeviction"],
      ["0", "allkeys-lru"],
    ].map(([m, p]): [string, string][] => [
      ["maxmemory", m],
      ["maxmemory-policy", p],
    ]);
    let line: string | undefined;
    const seen = await hazardsUnder(policies, async ({ url, cli }) => {
      // serve says it on its log, as an error, once the store answers.
      cli("CONFIG", "SET", "maxmemory", "100mb");
      const f = fakePlatform({
        "w.yaml": `qstash: { current_signing_key: sig_live_cur_s3cret, next_signing_key: sig_live_next_s3cret }\nstore: { kind: redis, url: "${url}", prefix: "hz2:" }\n`,
      });
      await main(["--config", "w.yaml"], f.p);
      for (let i = 0; i < 50 && !f.stdout().includes("store hazard"); i++) await Bun.sleep(20);
      line = f
        .stdout()
        .split("\n")
        .find((l) => l.includes("store hazard"));
    });
    expect(seen['"100mb" "allkeys-lru"']).toEqual([expect.stringContaining("maxmemory-policy allkeys-lru")]);
    expect(seen['"100mb" "volatile-ttl"']).toEqual([expect.stringContaining("run twice")]);
    expect(seen['"100mb" "noeviction"']).toEqual([]);
    expect(seen['"0" "allkeys-lru"']).toEqual([]);
    expect(JSON.parse(line ?? "{}")).toMatchObject({ level: "error", store: "redis" });
  });

  test('appendonly no is a hazard (with save "" nothing is kept; with RDB snapshots a crash rolls back); AOF is not; Upstash is not asked', async () => {
    const persistence = [
      ["no", ""],
      ["no", "3600 1"],
      ["yes", ""],
    ].map(([aof, save]): [string, string][] => [
      ["appendonly", aof],
      ["save", save],
    ]);
    let upstash: string[] | undefined;
    const seen = await hazardsUnder(persistence, async ({ url, cli }) => {
      // Upstash keeps its data itself: the same server behind the REST shim is not flagged.
      cli("CONFIG", "SET", "appendonly", "no");
      const rest = await startUpstashShim({ redisUrl: url, token: TOKEN });
      const store = upstashStore({ url: rest.url, token: rest.token, prefix: "hp:" });
      upstash = await store.hazards?.();
      await store.close();
      await rest.stop();
    });
    expect(seen['"no" ""']).toEqual([expect.stringContaining("Redis keeps nothing on disk")]);
    expect(seen['"no" ""'][0]).toContain("sent again");
    expect(seen['"no" "3600 1"']).toEqual([
      expect.stringContaining('Redis keeps only RDB snapshots (appendonly no, save "3600 1")'),
    ]);
    expect(seen['"yes" ""']).toEqual([]);
    expect(upstash).toEqual([]);
  });
});

test("redis: a failover behind the same address — the demoted server fails readiness, and the next job reaches the new primary", async () => {
  const a = await startRedis();
  const b = await startRedis();
  // What a VIP or a DNS name does in a failover: new connections go to whichever server is primary.
  let target = a.port;
  const proxy = createServer((client) => {
    const up = connect(target, "127.0.0.1");
    client.pipe(up).on("error", () => up.destroy());
    up.pipe(client).on("error", () => client.destroy());
    client.on("close", () => up.destroy());
    up.on("close", () => client.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  const url = `redis://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  const store = tcpStore({ url, prefix: "fo:", dial: nodeDial });
  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => "ok",
      (e) => (e as { code?: string }).code ?? String(e),
    );
  try {
    expect(await outcome(store.set("k", 1))).toBe("ok");
    Bun.spawnSync(["redis-cli", "-p", String(a.port), "REPLICAOF", "127.0.0.1", String(b.port)]);
    // PING still works on a replica; the readiness probe writes, so it says what jobs will meet.
    expect(await outcome(store.ping())).toBe("store_unavailable");
    target = b.port;
    expect(await outcome(store.set("k", 2))).toBe("ok");
    expect(
      Bun.spawnSync(["redis-cli", "-p", String(b.port), "GET", "fo:k"])
        .stdout.toString()
        .trim(),
    ).toBe("2");
    expect(await outcome(store.ping())).toBe("ok");
  } finally {
    await store.close();
    proxy.close();
    await a.stop();
    await b.stop();
  }
});

test("redis: an ACL user without a password (redis://bob@host) is named to the server, not left as the default user", async () => {
  const redis = await startRedis();
  const cli = (...args: string[]) => Bun.spawnSync(["redis-cli", "-p", String(redis.port), ...args]);
  cli("ACL", "SETUSER", "bob", "on", "nopass", "~*", "&*", "+@all");
  cli("ACL", "SETUSER", "default", "off");
  const store = tcpStore({ url: `redis://bob@127.0.0.1:${redis.port}`, prefix: "acl:", dial: nodeDial });
  try {
    await store.set("k", "as bob");
    expect(await store.get("k")).toBe("as bob");
  } finally {
    await store.close();
    await redis.stop();
  }
});
