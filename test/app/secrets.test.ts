/**
 * Every secret-bearing field of the config holds a sentinel; none may reach check-config, the
 * logs, a job's answer, /v1/*, /stats, /metrics, /health, the dashboard or a plan diff.
 */
import { describe, expect, test } from "bun:test";
import { main } from "../../src/cli/main.ts";
import { nodeDial } from "../../src/entry/node-net.ts";
import type { Fetch } from "../../src/ports.ts";
import { RespConnection } from "../../src/store/resp.ts";
import { exitCode, fakePlatform } from "../support/fake-platform.ts";
import { failureCallback, MINIMAL_YAML, makeHarness } from "../support/harness.ts";

const S = "SENTINEL";
/** A port on loopback where nothing listens: every send to it fails with its URL in the error. */
const DEAD = "127.0.0.1:9";

const CONFIG = `worker:
  admin_token: ${S}01
  tracing: { otlp_url: "http://${DEAD}/otlp?key=${S}02", headers: { X-Api-Key: ${S}03 } }
qstash:
  current_signing_key: sig_${S}04
  next_signing_key: sig_${S}05
  token: ${S}06
store: { kind: upstash, url: "https://user${S}07:${S}08@redis.example?auth=${S}09", token: ${S}10 }
ai:
  dify:
    url: "http://dify${S}11:${S}12@${DEAD}/v1?sig=${S}13"
    apps: { quick: { mode: chat, key: app-${S}14 } }
  ollama: { url: "http://${DEAD}/?token=${S}15", model: qwen }
  evidence: { prometheus_url: "http://p${S}40:${S}41@${DEAD}/?token=${S}42", headers: { Authorization: "Bearer ${S}43" } }
channels:
  ding: { type: dingtalk, webhook: "http://${DEAD}/robot/send?access_token=${S}16", secret: SEC${S}17 }
  wecom: { type: wecom, webhook: "http://${DEAD}/cgi-bin/webhook/send?key=${S}18" }
  feishu: { type: feishu, webhook: "http://${DEAD}/open-apis/bot/v2/hook/${S}19", secret: ${S}20 }
  slack: { type: slack, webhook: "http://${DEAD}/services/T0/B0/${S}21" }
  hook:
    type: webhook
    url: "http://u:${S}22@${DEAD}/in?sig=${S}23&auth=${S}24"
    headers: { Authorization: "Bearer ${S}25", X-Tenant-Credential: ${S}26 }
  mail:
    type: email
    smtp: { host: 127.0.0.1, port: 9, secure: none, user: ops, pass: ${S}27 }
    from: ops@example.com
    to: [oncall@example.com]
config_sync:
  source: { url: "http://${DEAD}/rules?token=${S}28", token: ${S}29 }
  targets:
    am: { kind: alertmanager, delivery: { type: http, url: "http://${DEAD}/am?key=${S}30", headers: { X-Auth: ${S}31 } } }
    prom: { kind: prometheus, delivery: { type: file, path: /tmp/never.yml, reload_url: "http://a:${S}32@${DEAD}/-/reload" } }
    mimir: { kind: vmalert, delivery: { type: mimir, url: "http://t:${S}33@${DEAD}", namespace: ns } }
`;

const leaks = (where: string, text: string) => (text.includes(S) ? [`${where}: ${text.slice(0, 400)}`] : []);

describe("secrets never leave the worker", () => {
  test("check-config prints every secret masked", async () => {
    const f = fakePlatform({ "/w.yaml": CONFIG });
    expect(await exitCode(main(["check-config", "--config", "/w.yaml"], f.p))).toBe(0);
    expect(f.stdout()).toContain("********");
    expect(leaks("check-config", f.stdout() + f.stderr())).toEqual([]);
  });

  test("a store URL with a # or ? in its password: refused naming store.url, the password shown nowhere", async () => {
    for (const url of [
      `redis://:${S}#44@127.0.0.1:6379/0`,
      `redis://u:${S}?45@127.0.0.1:6379`,
      `redis://${S}#46@h:6379`,
    ]) {
      const f = fakePlatform({ "/w.yaml": `store: { kind: redis, url: "${url}" }\n` });
      expect(await exitCode(main(["check-config", "--config", "/w.yaml"], f.p))).toBe(2);
      expect(f.stderr()).toContain("store.url");
      expect(f.stderr()).toContain("percent-encoded");
      expect(leaks("check-config", f.stdout() + f.stderr())).toEqual([]);
    }
  });

  test("answers, records, logs, /v1, /stats, /metrics, /health, the dashboard and plans: no sentinel", async () => {
    const h = makeHarness(CONFIG);
    const key = `sig_${S}04`;
    const auth = { authorization: `Bearer ${S}01` };
    const found: string[] = [];
    const job = async (path: string, body: unknown, id: string) => {
      const res = await h.job(path, body, { messageId: id, key });
      found.push(...leaks(`${path} answer`, await res.text()));
    };
    const alert = { labels: { alertname: "Leak", severity: "critical" }, annotations: { summary: "x" } };
    for (const ch of ["ding", "wecom", "feishu", "slack", "hook", "mail"])
      await job("/jobs/notification", { channels: [ch], alerts: [alert] }, `msg_leak_${ch}`);
    await job("/jobs/analysis", { type: "quick", alert }, "msg_leak_analysis");
    await job("/jobs/config-sync", { operation: "full" }, "msg_leak_sync");
    for (const path of [
      "/health",
      "/health/ready",
      "/stats",
      "/metrics",
      "/dashboard",
      "/v1/sync/status",
      "/v1/sync/plan",
      "/v1/sync/plan?target=am",
      ...["ding", "wecom", "feishu", "slack", "hook", "mail"].map((c) => `/v1/notifications/msg_leak_${c}`),
      "/v1/jobs/msg_leak_hook",
      "/v1/jobs/msg_leak_sync",
    ]) {
      const res = await h.request(path, { headers: auth });
      found.push(...leaks(path, await res.text()));
    }
    found.push(...leaks("logs", JSON.stringify(h.logs)));
    // The sync job could not reach its targets, and its error names the address, masked.
    const sync = await (await h.request("/v1/jobs/msg_leak_sync", { headers: auth })).text();
    expect(sync).toContain("********");
    expect(found).toEqual([]);
  });

  test("a dead letter whose last answer quotes a configured secret shows it masked", async () => {
    const h = makeHarness(CONFIG);
    const key = `sig_${S}04`;
    const quoted = `peer said: token Bearer ${S}25 invalid; secret SEC${S}17; X-Tenant-Credential ${S}26`;
    const res = await h.job(
      "/jobs/failure",
      failureCallback("msg_dead_quote", { status: 489, body: btoa(quoted) }),
      {
        messageId: "msg_dead_quote_cb",
        key,
      },
    );
    expect(res.status).toBe(200);
    const seen = [await res.text(), JSON.stringify(h.logs)];
    for (const path of ["/v1/jobs/msg_dead_quote", "/dashboard"]) {
      const r = await h.request(path, { headers: { authorization: `Bearer ${S}01` } });
      expect(r.status).toBe(200);
      seen.push(await r.text());
    }
    expect(seen[2]).toContain("peer said: token ******** invalid");
    expect(seen.flatMap((t, i) => leaks(`view ${i}`, t))).toEqual([]);
  });

  test("a dead letter's answer is masked before it is cut; plain headers (Content-Type) are not masked", async () => {
    const h = makeHarness(
      `channels:\n  hook: { type: webhook, url: "http://h.test/in", headers: { Content-Type: application/json, Authorization: "Bearer SECRETTOKEN123" } }\n`,
    );
    const answer = async (body: string, id: string) => {
      await h.job("/jobs/failure", failureCallback(id, { status: 489, body: btoa(body) }));
      const v1 = (await (await h.request(`/v1/jobs/${id}`)).json()) as { dead_letter: { response: string } };
      return v1.dead_letter.response;
    };
    expect(await answer(`${"x".repeat(2040)}Bearer SECRETTOKEN123`, "msg_cut")).not.toContain("Bearer S");
    expect(await answer("refused: content-type application/json is fine", "msg_plain")).toBe(
      "refused: content-type application/json is fine",
    );
  });

  test("a downstream that quotes the request in its refusal: what it quotes of our credentials goes no further", async () => {
    // Every downstream answers with the URL it was called at (scheme-less too) and every header
    // it got, in the shape of its refusal: shape-based masking alone cannot see a bare token.
    const quoted = (req: Request) => {
      const u = new URL(req.url);
      return `${u.host}${u.pathname}${u.search} ${[...req.headers].map(([k, v]) => `${k}=${v}`).join(" ")}`;
    };
    const refusal = (req: Request): Response => {
      const q = quoted(req);
      const path = new URL(req.url).pathname;
      if (path.startsWith("/robot/send"))
        return Response.json({ errcode: 310000, errmsg: `keywords not in content: ${q}` });
      if (path.startsWith("/cgi-bin/webhook"))
        return Response.json({ errcode: 93000, errmsg: `invalid webhook url: ${q}` });
      if (path.startsWith("/open-apis/bot"))
        return Response.json({ code: 19001, msg: `param invalid: ${q}` });
      if (path.startsWith("/v1/chat-messages"))
        return Response.json({ code: "unauthorized", message: q }, { status: 401 });
      return new Response(`bad request: ${q}`, { status: 400 });
    };
    const ECHO = "echo.test";
    const config = CONFIG.replaceAll(DEAD, ECHO);
    const h = makeHarness(config, { fetch: async (input, init) => refusal(new Request(input, init)) });
    const key = `sig_${S}04`;
    const auth = { authorization: `Bearer ${S}01` };
    const found: string[] = [];
    const answers: string[] = [];
    const job = async (path: string, body: unknown, id: string) => {
      const res = await h.job(path, body, { messageId: id, key });
      const text = await res.text();
      answers.push(text);
      found.push(...leaks(`${path} ${id} answer`, text));
      return { status: res.status, text };
    };
    const alert = { labels: { alertname: "Leak", severity: "critical" }, annotations: { summary: "x" } };
    const channels = ["ding", "wecom", "feishu", "slack", "hook"];
    for (const ch of channels) {
      const { status, text } = await job(
        "/jobs/notification",
        { channels: [ch], alerts: [alert] },
        `msg_q_${ch}`,
      );
      expect(status, text).toBe(489);
      // The refusal is still there to read, with the quoted credentials masked.
      expect(text).toContain(ECHO);
      // QStash keeps that answer and hands it back in the failure callback: the dead letter shows it.
      await job(
        "/jobs/failure",
        failureCallback(`msg_q_${ch}`, { status, body: btoa(text) }),
        `msg_q_dead_${ch}`,
      );
    }
    await job("/jobs/analysis", { type: "quick", alert }, "msg_q_analysis");
    for (const path of [
      "/health",
      "/dashboard",
      ...channels.map((c) => `/v1/notifications/msg_q_${c}`),
      ...channels.map((c) => `/v1/jobs/msg_q_${c}`),
      ...channels.map((c) => `/v1/jobs/msg_q_dead_${c}`),
      "/v1/jobs/msg_q_analysis",
    ]) {
      const res = await h.request(path, { headers: auth });
      found.push(...leaks(path, await res.text()));
    }
    found.push(...leaks("logs", JSON.stringify(h.logs)));
    expect(answers.join("\n")).toContain("********");
    expect(found).toEqual([]);
  });

  test("a URL's user-info goes as Basic auth; a peer quoting that header hands it no further", async () => {
    // A real HTTP peer that quotes the Authorization header it got in its refusal.
    const peer = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) => new Response(`refused: ${req.headers.get("authorization")}`, { status: 400 }),
    });
    try {
      const h = makeHarness(
        `channels:\n  hook: { type: webhook, url: "http://u:${S}%2F22@127.0.0.1:${peer.port}/in" }\n`,
      );
      const forms = [S, btoa(`u:${S}/22`)];
      const res = await h.job(
        "/jobs/notification",
        { channels: ["hook"], alerts: [{ labels: { alertname: "A" } }] },
        { messageId: "msg_basic" },
      );
      const answer = await res.text();
      expect(res.status, answer).toBe(489);
      expect(answer).toContain("refused: Basic ********");
      const seen = [answer, JSON.stringify(h.logs)];
      for (const path of ["/v1/jobs/msg_basic", "/v1/notifications/msg_basic"]) {
        const v1 = await h.request(path);
        expect(v1.status).toBe(200);
        seen.push(await v1.text());
      }
      expect(seen.filter((t) => forms.some((f) => t.includes(f)))).toEqual([]);
    } finally {
      peer.stop(true);
    }
  });

  test("a URL's user-info reaches a peer on a runtime whose fetch refuses URL credentials (workerd)", async () => {
    const got: (string | null)[] = [];
    // The Fetch standard's Request constructor throws a TypeError for a URL that includes credentials.
    const strictFetch: Fetch = async (input, init) => {
      const req = new Request(input, init);
      const u = new URL(req.url);
      if (u.username || u.password)
        throw new TypeError("Request cannot be constructed from a URL that includes credentials");
      got.push(req.headers.get("authorization"));
      return new Response("ok");
    };
    const h = makeHarness(`channels:\n  hook: { type: webhook, url: "http://ops:p%40ss@hook.test/in" }\n`, {
      fetch: strictFetch,
    });
    const res = await h.job(
      "/jobs/notification",
      { channels: ["hook"], alerts: [{ labels: { alertname: "A" } }] },
      { messageId: "msg_strict" },
    );
    expect(res.status, await res.text()).toBe(200);
    expect(got).toEqual([`Basic ${btoa("ops:p@ss")}`]);
  });
});

describe("secrets in the shapes that slipped past (a review that tried)", () => {
  const DEAD_URL = "127.0.0.1:9";

  test("a URL password with a quote, a space or a backtick is refused at start, percent-encoding named; one an error quotes is masked whole", async () => {
    for (const url of [`http://admin:Rel'oad${S}99@h.example/x`]) {
      const f = fakePlatform({
        "/w.yaml": `${MINIMAL_YAML}channels:\n  hook: { type: webhook, url: "${url}" }\n`,
      });
      expect(await exitCode(main(["check-config", "--config", "/w.yaml"], f.p))).toBe(2);
      expect(f.stderr()).toContain("%27");
      expect(leaks("check-config", f.stdout() + f.stderr())).toEqual([]);
    }
    // A password with other punctuation (`:` and `;` are allowed raw) still masked wherever an error quotes the URL.
    const yaml = `${MINIMAL_YAML}config_sync:\n  targets:\n    prom: { kind: prometheus, delivery: { type: file, path: /tmp/alertagent-never.yml, reload_url: "http://admin:Rel;oad${S}99@${DEAD_URL}/-/reload" } }\n`;
    const h = makeHarness(yaml);
    const res = await h.job(
      "/jobs/config-sync",
      { operation: "create", rules: [] },
      { messageId: "m-quote" },
    );
    const found = [
      ...leaks("answer", await res.text()),
      ...leaks("/v1/jobs", await (await h.request("/v1/jobs/m-quote")).text()),
      ...leaks("/v1/sync/status", await (await h.request("/v1/sync/status")).text()),
      ...leaks("logs", JSON.stringify(h.logs)),
    ];
    expect(found).toEqual([]);
    for (const url of [`http://admin:pa ss${S}@h.example/x`, `http://admin:S3cr"et${S}@h.example/x`]) {
      const g = fakePlatform({
        "/w.yaml": `${MINIMAL_YAML}channels:\n  hook: { type: webhook, url: '${url}' }\n`,
      });
      expect(await exitCode(main(["check-config", "--config", "/w.yaml"], g.p))).toBe(2);
      expect(g.stderr()).toContain("percent-encode");
      expect(leaks("check-config", g.stdout() + g.stderr())).toEqual([]);
    }
  });

  test("a peer echoing our headers JSON-escaped (a quote as \\\", Go's \\u0026 and \\u003c) or percent-encoded, a Basic credential's password decoded, a short token: masked", async () => {
    const echo = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const got = Object.fromEntries(req.headers);
        const auth = req.headers.get("authorization") ?? "";
        if (auth.startsWith("Basic ")) {
          const [user, pass] = atob(auth.slice(6)).split(":");
          return new Response(`login refused for ${user} with password ${pass}`, { status: 401 });
        }
        const url = new URL(req.url);
        if (url.pathname === "/go")
          return new Response(
            JSON.stringify({ you_sent: got }).replace(/&/g, "\\u0026").replace(/</g, "\\u003c"),
            { status: 400, headers: { "content-type": "application/json" } },
          );
        if (url.pathname === "/short")
          return new Response(`unknown token ${auth.slice(7)} ; ${url.search}`, { status: 400 });
        // Quoting the key as it would sit in a URL: percent-encoded, upper-case hex in JSON, lower-case with + for spaces in text.
        const key = req.headers.get("x-api-key") ?? "";
        if (url.pathname === "/pct")
          return Response.json({ error: `bad key: xk=${encodeURIComponent(key)}` }, { status: 400 });
        // Python's quote() keeps "/", Go's QueryEscape encodes ! ' ( ) *.
        if (url.pathname === "/py")
          return new Response(`bad key: ${encodeURIComponent(key).replace(/%2F/g, "/")}`, { status: 400 });
        if (url.pathname === "/go-q")
          return new Response(
            `bad key: ${encodeURIComponent(key).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`,
            { status: 400 },
          );
        // A space as a form encoder writes it, and no % anywhere in the answer.
        if (url.pathname === "/plus")
          return new Response(`bad key: ${key.replace(/ /g, "+")}`, { status: 400 });
        if (url.pathname === "/pcl")
          return new Response(
            `bad key: xk=${encodeURIComponent(key)
              .replace(/%20/g, "+")
              .replace(/%[0-9A-F]{2}/g, (x) => x.toLowerCase())}`,
            { status: 400 },
          );
        return Response.json({ you_sent: got });
      },
    });
    try {
      const base = `http://127.0.0.1:${echo.port}`;
      const basic = btoa(`opsadmin:${S}hunter`);
      const h = makeHarness(`channels:
  quote: { type: webhook, url: "${base}/ok", headers: { X-Api-Key: 'Ap1"K3y-${S}' } }
  go: { type: webhook, url: "${base}/go", headers: { X-Api-Key: "S3cr&t<Key-${S}" } }
  basic: { type: webhook, url: "${base}/basic", headers: { Authorization: "Basic ${basic}" } }
  short: { type: webhook, url: "${base}/short?key=k9x2q", headers: { Authorization: "Bearer t0k3n7x" } }
  pct: { type: webhook, url: "${base}/pct", headers: { X-Api-Key: "Zk9v+Key/${S}==" } }
  pcl: { type: webhook, url: "${base}/pcl", headers: { X-Api-Key: "Zk9v Key/${S}==" } }
  py: { type: webhook, url: "${base}/py", headers: { X-Api-Key: "Zk9v+Key/${S}==" } }
  go-q: { type: webhook, url: "${base}/go-q", headers: { X-Api-Key: "p@ss!w0rd(x)*${S}" } }
  plus: { type: webhook, url: "${base}/plus", headers: { X-Api-Key: "k9 x2 q7 z1 w8" } }
`);
      const alert = { labels: { alertname: "Leak" } };
      const found: string[] = [];
      for (const ch of ["quote", "go", "basic", "short", "pct", "pcl", "py", "go-q", "plus"]) {
        const res = await h.job(
          "/jobs/notification",
          { channels: [ch], alerts: [alert] },
          { messageId: `m-${ch}` },
        );
        const text = await res.text();
        found.push(...leaks(`${ch} answer`, text));
        found.push(...leaks(`${ch} record`, await (await h.request(`/v1/notifications/m-${ch}`)).text()));
        if (ch === "short") expect(text).not.toMatch(/t0k3n7x|k9x2q/);
        if (ch === "plus") expect(text).not.toContain("k9+x2+q7+z1+w8");
      }
      found.push(...leaks("logs", JSON.stringify(h.logs)));
      expect(JSON.stringify(h.logs)).not.toMatch(/t0k3n7x|k9x2q/);
      expect(found).toEqual([]);
    } finally {
      echo.stop(true);
    }
  });

  test("a dead letter's URL with credentials is shown masked on /v1/jobs", async () => {
    const h = makeHarness();
    const cb = failureCallback("msg_dead_url", {
      url: `https://qsuser:${S}Pw@worker.example.com/jobs/notification?token=${S}Tok`,
    });
    expect((await h.job("/jobs/failure", cb, { messageId: "m-dead-url" })).status).toBe(200);
    const shown = await (await h.request("/v1/jobs/msg_dead_url")).text();
    expect(shown).toContain("worker.example.com/jobs/notification");
    expect(leaks("/v1/jobs", shown)).toEqual([]);
  });

  test("a Redis-protocol server quoting the refused AUTH's arguments: the password is not in the error", async () => {
    const server = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(socket, data) {
          // One refusal per command of the handshake, quoting its first argument as Redis does.
          const commands = String(data).match(/^\*/gm)?.length ?? 1;
          socket.write(
            `-ERR unknown command 'AUTH', with args beginning with: '${S}Redis12'\r\n`.repeat(commands),
          );
        },
      },
    });
    const conn = new RespConnection(`redis://:${S}Redis12@127.0.0.1:${server.port}`, { dial: nodeDial });
    try {
      const e = await conn.command(["PING"]).then(
        () => undefined,
        (err: Error) => err,
      );
      expect(e?.message).toContain("handshake failed");
      expect(e?.message).not.toContain(S);
    } finally {
      await conn.close();
      server.stop(true);
    }
  });

  test("setup-qstash prints the config's URLs with their credentials masked", async () => {
    // (A public_url takes no query since the routes go after its path: its user-info is the credential here.)
    const yaml = `worker: { public_url: "https://proxyuser:${S}Pub@worker.example.com/" }
qstash:
  url: "https://qsuser:${S}Qs@qstash.example.com"
  token: ${S}QsTok
  current_signing_key: sig_${S}04
  next_signing_key: sig_${S}05
`;
    const qstash = async (input: RequestInfo | URL) =>
      String(input).includes("/v2/schedules") ? Response.json([]) : Response.json({ messageId: "msg_1" });
    const f = fakePlatform({ "/w.yaml": yaml });
    f.p.fetch = qstash as never;
    expect(await exitCode(main(["setup-qstash", "--dry-run", "--config", "/w.yaml"], f.p))).toBe(0);
    expect(f.stdout()).toContain("/v2/publish/");
    expect(leaks("setup-qstash", f.stdout() + f.stderr())).toEqual([]);
  });
});

test("a dead letter's last answer with a long URL before a configured secret: no half of it in the 2 KB kept", async () => {
  const token = "sk-abcdefghijklmnopqrstuvwxyz0123456789";
  const h = makeHarness(
    `channels:\n  hook: { type: webhook, url: "http://127.0.0.1:9/x", headers: { Authorization: "Bearer ${token}" } }\n`,
  );
  const last = `see http://x.example/cb?state=${"x".repeat(8104)} with Authorization: Bearer ${token}`;
  const cb = failureCallback("msg_half", { body: Buffer.from(last).toString("base64") });
  expect((await h.job("/jobs/failure", cb, { messageId: "m-half" })).status).toBe(200);
  const shown = await (await h.request("/v1/jobs/msg_half")).text();
  expect(shown).not.toContain("sk-abcdefghij");
});

test("a dead letter's last answer quoting a configured secret JSON-escaped (a quote in it) shows it masked", async () => {
  const secret = 'pa"ss-7391-word';
  const h = makeHarness(
    `channels:\n  hook: { type: webhook, url: "http://127.0.0.1:9/x", headers: { X-Api-Key: '${secret}' } }\n`,
  );
  const last = JSON.stringify({ error: "refused", you_sent: { "x-api-key": secret } });
  expect(last).toContain('pa\\"ss');
  const cb = failureCallback("msg_escaped", { body: Buffer.from(last).toString("base64") });
  expect((await h.job("/jobs/failure", cb, { messageId: "m-escaped" })).status).toBe(200);
  const shown = await (await h.request("/v1/jobs/msg_escaped")).text();
  expect(shown).not.toContain("ss-7391-word");
});
