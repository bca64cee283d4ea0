/**
 * The Deno entry: `deno task start` (and `deno compile`). Wires Deno's server, signals and
 * files into the runtime-free CLI. Two ports differ from the defaults, as on Bun: answers are
 * handed to the server once per turn of the loop (turn-batch.ts), and the signature check's
 * HMAC is plain JavaScript (js-digests.ts) instead of Deno's node:crypto polyfill, which
 * costs two to four times as much per call (BENCHMARKS.md, the digests section).
 */
import { dirname, resolve } from "node:path";
import { main } from "../cli/main.ts";
import { PromMetrics } from "../telemetry/prom-metrics.ts";
import { denoDigests } from "./js-digests.ts";
import { nodeFileAccess } from "./node-fs.ts";
import { nodeDial, nodeTcp } from "./node-net.ts";
import { nodeSqlite } from "./sqlite-node.ts";
import { turnBatchedAnswers } from "./turn-batch.ts";
import { utf8Text } from "./utf8-file.ts";
import { writeAll } from "./write-all.ts";

const startedAt = Date.now();

await main(
  Deno.args,
  {
    runtime: "deno",
    env: Deno.env.toObject(),
    readFile: async (path, strict) => utf8Text(await Deno.readFile(path), path, strict),
    serve(fetch, hostname, port) {
      // Answers of one turn of the loop are handed to the server together (turn-batch.ts).
      let server: Deno.HttpServer<Deno.NetAddr>;
      try {
        server = Deno.serve({ hostname, port, onListen: () => {} }, turnBatchedAnswers(fetch));
      } catch (e) {
        // Deno's own text ("Address already in use (os error 98)") names no address.
        if (e instanceof Deno.errors.AddrInUse)
          throw new Error(`${hostname}:${port} is in use: cannot listen there`);
        throw e;
      }
      return { port: server.addr.port, stop: () => server.shutdown() };
    },
    onSignal: (signal, fn) => Deno.addSignalListener(signal, fn),
    // Whole, whatever the pipe takes at once (write-all.ts).
    stdout: (text) => writeAll((b) => Deno.stdout.writeSync(b), text),
    stderr: (text) => writeAll((b) => Deno.stderr.writeSync(b), text),
    exit: (code) => Deno.exit(code),
    // Deno keeps /proc/self from prom-client unless run with --allow-all: RSS comes from Deno itself.
    newMetrics: () => new PromMetrics({ process: true, rss: () => Deno.memoryUsage().rss }),
    fs: nodeFileAccess,
    // Files are written beside `file` (a temporary one, then renamed), so its directory is asked for.
    // Under /dev, /proc and /sys Deno wants --allow-all whatever --allow-write says; --allow-run,
    // which deno-run does not give, stands for it.
    mayWrite: (file) => {
      const dir = resolve(dirname(file));
      const granted = (d: Deno.PermissionDescriptor) => Deno.permissions.querySync(d).state === "granted";
      return (
        granted({ name: "write", path: dir }) &&
        (!/^\/(dev|proc|sys)(\/|$)/.test(dir) || granted({ name: "run" }))
      );
    },
    dial: nodeDial,
    openSqlite: nodeSqlite,
    tcp: nodeTcp,
    digests: denoDigests,
  },
  startedAt,
);
