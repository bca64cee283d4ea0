import { describe, expect, test } from "bun:test";
import { MemoryStore } from "../../src/store/memory.ts";
import type { Store } from "../../src/store/store.ts";
import { failureCallback, makeHarness } from "../support/harness.ts";

describe("/dashboard", () => {
  test("shows per-family figures, dead letters and refreshes itself; every value is escaped", async () => {
    const h = makeHarness("worker: { name: edge-1 }\n");
    await h.job("/jobs/failure", failureCallback("msg_<script>alert(1)</script>"), { messageId: "m1" });
    await h.job("/jobs/failure", failureCallback("msg_two"), { messageId: "m1" });
    await h.job("/jobs/failure", { nope: true });
    const res = await h.request("/dashboard");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain('<meta http-equiv="refresh" content="10">');
    expect(html).toContain('name="viewport"');
    expect(html).toContain("edge-1");
    // failure family: 3 received, 1 ok, 1 failed (the bad payload), 1 duplicate
    expect(html).toMatch(
      /<td><b>failure<\/b><\/td><td>3<\/td><td>1<\/td><td><span class="bad">1<\/span><\/td><td>0<\/td><td>1<\/td>/,
    );
    expect(html).toContain("msg_&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("downstream_unavailable");
  });

  test("a right-to-left override in an alert's text is shown as its code point, not obeyed (it reversed the text after it)", async () => {
    const h = makeHarness();
    const res = await h.job("/jobs/analysis", {
      type: "quick",
      alert: { labels: { alertname: "DiskFull\u202e", instance: "db-1\u2067" } },
    });
    expect(res.status).toBe(200);
    const html = await (await h.request("/dashboard")).text();
    expect(html).toContain("DiskFull[U+202E]");
    expect(html).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
  });

  test("a channel that only failed for now (to retry, rate limited) shows it, not zeros", async () => {
    const h = makeHarness(
      `channels:
  hook: { type: webhook, url: "http://hook.test/in" }
  ding: { type: dingtalk, webhook: "http://ding.test/robot/send?access_token=t0ken-for-test" }
`,
      {
        fetch: async (input) =>
          String(input).startsWith("http://hook.test")
            ? new Response("down", { status: 500 })
            : Response.json({ errcode: 130101, errmsg: "send too fast, exceed 20 times per minute" }),
      },
    );
    const alert = { labels: { alertname: "A" } };
    expect((await h.job("/jobs/notification", { channels: ["hook"], alerts: [alert] })).status).toBe(503);
    expect((await h.job("/jobs/notification", { channels: ["ding"], alerts: [alert] })).status).toBe(429);
    const html = await (await h.request("/dashboard")).text();
    expect(html).toContain("<th>to retry</th><th>rate limited</th>");
    expect(html).toMatch(
      /<td>hook<\/td><td>0<\/td><td>0<\/td><td><span class="warn">1<\/span><\/td><td>0<\/td>/,
    );
    expect(html).toMatch(
      /<td>ding<\/td><td>0<\/td><td>0<\/td><td>0<\/td><td><span class="warn">1<\/span><\/td>/,
    );
  });

  test("when the store does not answer, the page says which lists it cannot show instead of 'None.'", async () => {
    let down = false;
    const memory = new MemoryStore();
    // Every store call fails while `down`, as a Redis that went away does.
    const store = new Proxy(memory, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== "function" || prop === "kind") return v;
        return (...args: unknown[]) =>
          down ? Promise.reject(new Error("connection refused")) : v.apply(target, args);
      },
    }) as Store;
    const h = makeHarness("", { store });
    await h.job("/jobs/failure", failureCallback("msg_dead_1"), { messageId: "m1" });
    const up = await (await h.request("/dashboard")).text();
    expect(up).not.toContain("The store did not answer");
    expect(up).toContain("msg_dead_1");
    // The card counts with the metrics, from this process's start; its colour goes with its own count.
    expect(up).toContain('dead letters<b class="bad">1</b>given up by QStash since this process started');
    // After a restart (a new process on the same store) the list still shows it; the card counts 0, not in red.
    const restarted = await (await makeHarness("", { store }).request("/dashboard")).text();
    expect(restarted).toContain("msg_dead_1");
    expect(restarted).toContain('dead letters<b class="">0</b>');
    down = true;
    const res = await h.request("/dashboard");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(
      "The store did not answer: dead letters, analyses, config-sync state, autoscale decisions cannot be shown",
    );
    expect(html).not.toContain("msg_dead_1");
    expect(html).not.toContain("None.");
    expect(html.match(/Not shown: the store did not answer\./g)).toHaveLength(4);
  });

  test("is protected by the admin token when one is set", async () => {
    const h = makeHarness("worker: { admin_token: s3cret }\n");
    expect((await h.request("/dashboard")).status).toBe(401);
    expect((await h.request("/dashboard", { headers: { authorization: "Bearer s3cret" } })).status).toBe(200);
  });

  test("a browser is asked for the token (Basic, any user name) and can then open it", async () => {
    const h = makeHarness("worker: { admin_token: s3cret }\n");
    const basic = (user: string, pass: string) => ({ authorization: `Basic ${btoa(`${user}:${pass}`)}` });
    const refused = await h.request("/dashboard");
    // Without a challenge a browser shows the 401 and never asks (RFC 9110 §11.6.1).
    expect(refused.headers.get("www-authenticate")).toMatch(/^Basic realm="alertagent-worker"/);
    expect((await h.request("/dashboard", { headers: basic("oncall", "s3cret") })).status).toBe(200);
    expect((await h.request("/dashboard", { headers: basic("", "s3cret") })).status).toBe(200);
    expect((await h.request("/dashboard", { headers: basic("s3cret", "") })).status).toBe(401);
    expect((await h.request("/dashboard", { headers: basic("oncall", "wrong") })).status).toBe(401);
    expect((await h.request("/v1/sync/status", { headers: basic("oncall", "s3cret") })).status).toBe(200);
  });
});

describe("/dashboard config-sync state", () => {
  test("shows each target's applied version and verification from the sync status", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { nodeFileAccess } = await import("../../src/entry/node-fs.ts");
    const dir = mkdtempSync(join(tmpdir(), "dash-sync-"));
    const h = makeHarness(
      `config_sync:\n  targets:\n    local-rules: { kind: prometheus, delivery: { type: file, path: "${join(dir, "rules.yml")}" } }\n`,
    );
    (h.deps as { fs?: unknown }).fs = nodeFileAccess;
    const rules = [
      { id: "r1", name: "InstanceDown", group: "avail", severity: "critical", expr: "up == 0", for: "1m" },
    ];
    const res = await h.job("/jobs/config-sync", { operation: "full", rules });
    expect(res.status).toBe(200);
    const html = await (await h.request("/dashboard")).text();
    expect(html).toMatch(/<td>local-rules<\/td><td>prometheus<\/td><td>1<\/td>/);
    // No reload_url or verify.url: nothing to read back — neutral, not a red "no".
    expect(html).toContain('<span class="meta">not verifiable</span>');
    expect(html).not.toContain('<span class="bad">no</span>');
  });

  test("shows times in worker.timezone with the zone's name", async () => {
    const h = makeHarness("worker: { timezone: Asia/Shanghai }\n");
    await h.job("/jobs/failure", failureCallback("msg_tz"), { messageId: "m-tz" });
    const html = await (await h.request("/dashboard")).text();
    expect(html).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC\+8/);
  });
});
