/** Why a fetch failed (src/fetch-failure.ts), as each runtime says it. */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { fetchFailure } from "../src/fetch-failure.ts";
import { toolEnv } from "./support/runtimes.ts";

const ROOT = join(import.meta.dir, "..");

describe("fetchFailure", () => {
  test("Bun says it in the message: kept as it is", async () => {
    const e = await fetch("http://127.0.0.1:1/").catch((x) => x);
    expect(fetchFailure(e)).toMatch(/ECONNREFUSED|Unable to connect/);
  });

  test("Deno says 'fetch failed' and puts the reason in its cause: both, the cause's URL left out", () => {
    const run = Bun.spawnSync(
      [
        join(ROOT, "node_modules/.bin/deno"),
        "eval",
        `import { fetchFailure } from "${join(ROOT, "src/fetch-failure.ts")}";
         await fetch("http://no-such-host.invalid/hook?token=s3cr3t-tok").catch((e) => console.log(fetchFailure(e)));
         await fetch("http://127.0.0.1:1023/").catch((e) => console.log(fetchFailure(e)));`,
      ],
      { env: toolEnv(), stdout: "pipe", stderr: "pipe" },
    );
    const [unknownHost, refused] = run.stdout.toString().trim().split("\n");
    expect(unknownHost).toStartWith("fetch failed: client error (Connect): dns error");
    expect(unknownHost).not.toContain("s3cr3t-tok");
    expect(refused).toStartWith(
      "fetch failed: client error (Connect): tcp connect error: Connection refused",
    );
  }, 60_000);

  test("a URL in the cause is masked", () => {
    const e = new TypeError("fetch failed", {
      cause: new Error("connect to https://hooks.example.com/x?access_token=abcdef123456 refused"),
    });
    expect(fetchFailure(e)).not.toContain("abcdef123456");
  });
});
