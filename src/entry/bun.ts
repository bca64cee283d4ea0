#!/usr/bin/env bun
/**
 * The Bun entry: the compiled binary (`bun build --compile`) and `bun run` from source.
 * Wires Bun's server, signals and files into the runtime-free CLI.
 */
import { writeSync } from "node:fs";
import { main } from "../cli/main.ts";
import { PromMetrics } from "../telemetry/prom-metrics.ts";
import { bunDigests } from "./bun-digests.ts";
import { nodeFileAccess } from "./node-fs.ts";
import { nodeDial, nodeTcp } from "./node-net.ts";
import { bunSqlite } from "./sqlite-bun.ts";
import { turnBatchedAnswers, turnBatchedFetch } from "./turn-batch.ts";
import { utf8Text } from "./utf8-file.ts";
import { writeAll } from "./write-all.ts";

const startedAt = Date.now();

// No top-level await: the binary is compiled to bytecode (CommonJS), which starts twice as fast.
void main(
  process.argv.slice(2),
  {
    runtime: "bun",
    env: process.env,
    readFile: async (path, strict) => utf8Text(await Bun.file(path).bytes(), path, strict),
    serve(fetch, hostname, port) {
      // Answers of one turn of the loop are written together (turn-batch.ts).
      const server = Bun.serve({ fetch: turnBatchedAnswers(fetch), hostname, port, idleTimeout: 255 });
      return { port: server.port ?? port, stop: () => server.stop(false) };
    },
    onSignal: (signal, fn) => void process.on(signal, fn),
    // Written whole before the call returns (write-all.ts): Bun's process.stdout queues what a
    // full pipe does not take, and process.exit dropped it (`check-config | jq` got 64 KB).
    stdout: (text) => writeAll((b) => writeSync(1, b), text),
    stderr: (text) => writeAll((b) => writeSync(2, b), text),
    exit: (code) => process.exit(code),
    newMetrics: () => new PromMetrics({ process: true }),
    fs: nodeFileAccess,
    dial: nodeDial,
    openSqlite: bunSqlite,
    tcp: nodeTcp,
    memory: { rss: () => process.memoryUsage.rss(), collect: () => Bun.gc(true) },
    digests: bunDigests,
    // Requests made in one turn of the loop share one wake-up of Bun's HTTP thread (turn-batch.ts).
    fetch: turnBatchedFetch((input, init) => fetch(input, init)),
  },
  startedAt,
);
