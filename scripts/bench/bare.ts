/**
 * The baseline on Bun (scripts/bench/binary.ts): `scripts/build --bench` compiles it to
 * dist/bench-bare the same way as the worker. Usage: bench-bare serve --port N.
 */
import { bareApp } from "./bare-app.ts";

const i = process.argv.indexOf("--port");
const port = i > 0 ? Number(process.argv[i + 1]) : 8090;
const server = Bun.serve({ hostname: "127.0.0.1", port, fetch: bareApp.fetch });
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
