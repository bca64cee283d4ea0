/**
 * The dashboard in a real browser: after a run of real signed jobs, headless Chromium (Debian's
 * chromium) loads /dashboard; the DOM it rendered shows the right numbers, and a screenshot is
 * written to test-artifacts/dashboard.png (phone-sized) for a person to look at.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../../src/app.ts";
import { failureCallback, makeHarness } from "../support/harness.ts";

const CHROMIUM = Bun.which("chromium") ?? Bun.which("chromium-browser");
const ARTIFACTS = join(import.meta.dir, "../../test-artifacts");

/** Runs Chromium without blocking: the page it loads is served by this same process. */
async function chromium(args: string[]): Promise<string> {
  if (!CHROMIUM)
    throw new Error("chromium is missing: apt-get install chromium (scripts/test.sh installs it)");
  const profile = mkdtempSync(join(tmpdir(), "chromium-"));
  const p = Bun.spawn(
    [
      CHROMIUM,
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      ...args,
    ],
    { stdout: "pipe", stderr: "pipe", timeout: 60_000 },
  );
  const [code, out, err] = await Promise.all([
    p.exited,
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
  ]);
  if (code !== 0) throw new Error(`chromium exited ${code}: ${err.slice(-2000)}`);
  return out;
}

describe("/dashboard in headless Chromium", () => {
  const h = makeHarness("worker: { name: edge-phone }\n");
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => createApp(h.deps).fetch(req) });
  const url = `http://127.0.0.1:${server.port}/dashboard`;
  afterAll(() => server.stop(true));

  test("shows the numbers of the jobs that ran, and a screenshot is written", async () => {
    for (let i = 0; i < 7; i++)
      expect((await h.job("/jobs/failure", failureCallback(`msg_dead_${i}`))).status).toBe(200);
    await h.job("/jobs/failure", failureCallback("msg_dead_0"), { messageId: "dup" });
    await h.job("/jobs/failure", failureCallback("msg_dead_0"), { messageId: "dup" });
    await h.job("/jobs/failure", { broken: true });
    const analysed = await h.job("/jobs/analysis", {
      type: "quick",
      alert: { labels: { alertname: "KubePodCrashLooping", namespace: "shop", pod: "checkout-1" } },
    });
    expect(analysed.status).toBe(200);
    const { summary } = (await analysed.json()) as { summary: string };
    const dom = await chromium(["--dump-dom", url]);
    expect(dom).toContain("edge-phone");
    // failure: 10 received, 8 ok, 1 failed, 1 duplicate
    expect(dom).toMatch(
      /<td><b>failure<\/b><\/td><td>10<\/td><td>8<\/td><td><span class="bad">1<\/span><\/td>/,
    );
    expect(dom).toContain("msg_dead_6");
    // The latest analysis, listed with its summary (escaped as the browser parsed it).
    expect(dom).toContain("Recent analyses");
    // (as the DOM dump writes text: &, < and > escaped, quotes not)
    expect(dom).toContain(
      summary.slice(0, 40).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"),
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, "dashboard.png");
    await chromium([`--screenshot=${shot}`, "--window-size=412,1400", "--hide-scrollbars", url]);
    expect(statSync(shot).size).toBeGreaterThan(10_000);
  }, 90_000);
});
