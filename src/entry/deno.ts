/**
 * The Deno entry: `deno task start` (and `deno compile`). Wires Deno's server, signals and
 * files into the runtime-free CLI.
 */
import { main } from "../cli/main.ts";
import { PromMetrics } from "../telemetry/prom-metrics.ts";
import { nodeFileAccess } from "./node-fs.ts";
import { nodeDial, nodeTcp } from "./node-net.ts";
import { nodeSqlite } from "./sqlite-node.ts";

const startedAt = Date.now();

await main(
  Deno.args,
  {
    runtime: "deno",
    env: Deno.env.toObject(),
    readFile: (path) => Deno.readTextFile(path),
    serve(fetch, hostname, port) {
      const server = Deno.serve({ hostname, port, onListen: () => {} }, fetch);
      return { port: server.addr.port, stop: () => server.shutdown() };
    },
    onSignal: (signal, fn) => Deno.addSignalListener(signal, fn),
    stdout: (text) => void Deno.stdout.writeSync(new TextEncoder().encode(text)),
    stderr: (text) => void Deno.stderr.writeSync(new TextEncoder().encode(text)),
    exit: (code) => Deno.exit(code),
    newMetrics: () => new PromMetrics({ process: true }),
    fs: nodeFileAccess,
    dial: nodeDial,
    openSqlite: nodeSqlite,
    tcp: nodeTcp,
  },
  startedAt,
);
