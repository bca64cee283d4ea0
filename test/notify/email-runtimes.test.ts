/**
 * Email on every runtime that claims it, against a real SMTP server (smtp-server, AUTH
 * required, a throw-away CA): the compiled binary (dist/alertagent-worker: scripts/build
 * first) and Deno (scripts/deno-run) over node:net/node:tls with `smtp.ca`; workerd
 * (`wrangler dev`) over `cloudflare:sockets`, trusting the CA through NODE_EXTRA_CA_CERTS
 * (Workers have no per-connection CA option). Each sends a signed notification job over
 * implicit TLS and over STARTTLS, and the received mail is parsed and checked.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { signRequest } from "../../src/qstash/sign.ts";
import { BIN, freePort, ROOT, type Started, startGroup, toolEnv, wranglerDev } from "../support/runtimes.ts";
import { makeCert, type SmtpSink, startSmtpSink, type TestCert } from "../support/smtp-sink.ts";

const START_MS = 60_000;

let cert: TestCert;
let tls: SmtpSink;
let starttls: SmtpSink;
const scratch = mkdtempSync(join(tmpdir(), "alertagent-mail-"));
const caFile = join(scratch, "ca.pem");

beforeAll(async () => {
  cert = makeCert();
  writeFileSync(caFile, cert.cert);
  const users = { "alerts@example.com": "s3cret" };
  tls = await startSmtpSink({ mode: "tls", cert, users });
  starttls = await startSmtpSink({ mode: "starttls", cert, users });
});
afterAll(async () => {
  await tls?.stop();
  await starttls?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** The worker config (flow YAML on one line, as `wrangler dev --var` takes it). */
function config(withCa: boolean): string {
  const ca = withCa ? `, ca: ${JSON.stringify(cert.cert)}` : "";
  const smtp = (port: number, secure: string) =>
    `{host: 127.0.0.1, port: ${port}, secure: ${secure}, user: alerts@example.com, pass: s3cret${ca}}`;
  const mail = (port: number, secure: string) =>
    `{type: email, from: "AlertAgent <alerts@example.com>", to: [oncall@example.com], smtp: ${smtp(port, secure)}}`;
  return `{qstash: {current_signing_key: ${DEV_SIGNING_KEYS.current}, next_signing_key: ${DEV_SIGNING_KEYS.next}}, worker: {timezone: Asia/Shanghai}, channels: {mail-tls: ${mail(tls.port, "tls")}, mail-starttls: ${mail(starttls.port, "starttls")}}}`;
}

type Worker = Started;

/** Starts a worker on a runtime (shared helper) with the project's tools on PATH. */
function startWorker(
  cmd: string,
  args: string[],
  port: number,
  env: Record<string, string> = {},
  anyAnswer = false,
): Promise<Worker> {
  return startGroup(cmd, cmd, args, port, { env: toolEnv(env), timeoutMs: START_MS - 5_000, anyAnswer });
}

async function notify(w: Worker, channel: string, tag: string) {
  const url = `${w.baseUrl}/jobs/notification`;
  const body = JSON.stringify({
    channels: [channel],
    alerts: [
      {
        labels: { alertname: "磁盘空间不足", severity: "critical", instance: "<db-03>" },
        annotations: { summary: `${tag}: 根分区使用率超过 85%` },
        startsAt: "2026-11-28T06:12:00Z",
      },
    ],
  });
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "upstash-message-id": `msg_${tag}_${channel}`,
      "upstash-signature": await signRequest({ key: DEV_SIGNING_KEYS.current, url, body }),
    },
    body,
  });
  return { status: res.status, body: await res.text() };
}

function runtimeMail(name: string, start: () => Promise<Worker>) {
  describe(`email on ${name}`, () => {
    let w: Worker | undefined;
    beforeAll(async () => {
      w = await start();
    }, START_MS);
    afterAll(() => w?.stop());

    for (const [channel, sink] of [
      ["mail-tls", () => tls],
      ["mail-starttls", () => starttls],
    ] as const) {
      test(`${channel}: AUTH, TLS, UTF-8 subject, text and escaped HTML arrive`, async () => {
        if (!w) throw new Error("the worker did not start");
        const tag = `${name}-${Date.now().toString(36)}`;
        const r = await notify(w, channel, tag);
        expect({ status: r.status, body: r.status === 200 ? "" : `${r.body}\n${w.proc.output()}` }).toEqual({
          status: 200,
          body: "",
        });
        const got = sink().received.find((m) => (m.mail.text ?? "").includes(tag));
        expect(got?.secure).toBe(true);
        expect(got?.user).toBe("alerts@example.com");
        expect(got?.mail.subject).toBe("🔴 [FIRING:1] 磁盘空间不足");
        expect(got?.mail.text).toContain("instance: <db-03>");
        expect(got?.mail.html).toContain("<td>&lt;db-03&gt;</td>");
        expect(got?.mail.text).toContain("2026-11-28 14:12:00 UTC+8");
      }, 30_000);
    }
  });
}

runtimeMail("the binary (Bun, node:tls)", async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run scripts/build first`);
  const file = join(scratch, "bin.yaml");
  writeFileSync(file, config(true));
  const port = freePort();
  return startWorker(BIN, ["serve", "--config", file, "--port", String(port)], port);
});

runtimeMail("Deno (node:tls)", async () => {
  const file = join(scratch, "deno.yaml");
  writeFileSync(file, config(true));
  const port = freePort();
  return startWorker(
    join(ROOT, "scripts/deno-run"),
    ["serve", "--config", file, "--port", String(port)],
    port,
  );
});

runtimeMail("workerd (cloudflare:sockets)", async () => {
  const port = freePort();
  const [cmd, args] = wranglerDev(port, ["--var", `ALERTAGENT_CONFIG:${config(false)}`]);
  return startWorker(cmd, args, port, { NODE_EXTRA_CA_CERTS: caFile });
});

describe("workerd: what cannot work is refused, never ignored", () => {
  const wrangler = (yaml: string, anyAnswer = false) => {
    const port = freePort();
    const [cmd, args] = wranglerDev(port, ["--var", `ALERTAGENT_CONFIG:${yaml}`]);
    return startWorker(cmd, args, port, {}, anyAnswer);
  };

  test(
    "without the CA in the trust store the TLS handshake fails and nothing is sent",
    async () => {
      const w = await wrangler(config(false));
      try {
        const before = tls.auths.length;
        const tag = `untrusted-${Date.now()}`;
        const r = await notify(w, "mail-tls", tag);
        // workerd reports a refused certificate only as "cannot connect" (its log names the
        // certificate), so the job is retried as transient rather than failed for good.
        expect(r.status).toBe(503);
        expect(r.body).toContain("cannot connect");
        expect(tls.auths.length).toBe(before);
        expect(tls.received.some((m) => (m.mail.text ?? "").includes(tag))).toBe(false);
      } finally {
        await w.stop();
      }
    },
    START_MS,
  );

  test(
    "an email channel on port 25 refuses the worker at start-up with the reason",
    async () => {
      const yaml = config(false).replace(`port: ${tls.port}, secure: tls`, "port: 25, secure: none");
      const w = await wrangler(yaml, true);
      try {
        const res = await fetch(`${w.baseUrl}/health`);
        expect(res.status).toBe(503);
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe("config_error");
        expect(body.error.message).toContain("Cloudflare Workers block outbound port 25");
        // …and the log says it too (wrangler tail), not only the answers.
        for (let i = 0; i < 50 && !w.proc.output().includes("config error"); i++) await Bun.sleep(100);
        expect(w.proc.output()).toContain("alertagent-worker: config error: ");
      } finally {
        await w.stop();
      }
    },
    START_MS,
  );
});
