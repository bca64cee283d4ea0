/**
 * A throw-away redis-server for fault tests: its own port and data dir, append-only file with
 * fsync on every write (so a stop and start keeps what was acknowledged), stop/start at will.
 */
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeDial } from "../../src/entry/node-net.ts";
import { RespConnection } from "../../src/store/resp.ts";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRedis() {
  if (!Bun.which("redis-server"))
    throw new Error("redis-server is missing: apt-get install redis-server (scripts/test.sh installs it)");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "redis-fault-"));
  let proc: ReturnType<typeof Bun.spawn> | undefined;
  const ping = async () => {
    const p = Bun.spawn(["redis-cli", "-p", String(port), "ping"], { stdout: "pipe", stderr: "ignore" });
    return (await new Response(p.stdout).text()).trim() === "PONG";
  };
  const start = async () => {
    proc = Bun.spawn(
      [
        "redis-server",
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    for (let i = 0; i < 100; i++) {
      if (await ping()) return;
      await Bun.sleep(20);
    }
    throw new Error(`redis-server did not start on ${port}`);
  };
  const stop = async () => {
    proc?.kill("SIGKILL");
    await proc?.exited;
    proc = undefined;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, start, stop };
}

/** Deletes the keys matching `pattern` (SCAN + DEL): tests leave nothing behind in a long-lived Redis. */
export async function deleteKeys(url: string, pattern: string): Promise<void> {
  const conn = new RespConnection(url, { dial: nodeDial });
  let cursor = "0";
  do {
    const [next, keys] = (await conn.command(["SCAN", cursor, "MATCH", pattern, "COUNT", 1000])) as [
      string,
      string[],
    ];
    if (keys.length) await conn.command(["DEL", ...keys]);
    cursor = next;
  } while (cursor !== "0");
  await conn.close();
}
