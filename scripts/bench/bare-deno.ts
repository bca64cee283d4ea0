/** The baseline on Deno (scripts/bench/runtimes.ts). Usage: deno run -A scripts/bench/bare-deno.ts --port N. */
import { bareApp } from "./bare-app.ts";

const i = Deno.args.indexOf("--port");
Deno.serve(
  { hostname: "127.0.0.1", port: i >= 0 ? Number(Deno.args[i + 1]) : 8091, onListen: () => {} },
  bareApp.fetch,
);
