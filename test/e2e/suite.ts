/**
 * The black-box HTTP suite every runtime must pass (README: "How a job is handled", "Operations", the embedded default): it starts a
 * worker running the embedded default once, then checks health, signed failure callbacks
 * (both keys), every signature failure, replays, 489s, 404s and metrics over plain HTTP.
 * No response may be a 5xx. runtimes.test.ts runs it against the binary, Deno and workerd.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import EXAMPLE from "../../examples/jobs/failure.json" with { type: "json" };
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { signRequest } from "../../src/qstash/sign.ts";
import { VERSION } from "../../src/version.ts";

export interface Running {
  baseUrl: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read arbitrary JSON answers
  json: any;
}

/** `expectedRuntime` is what /health must say (defaults to the suite's name). */
export function runtimeSuite(name: string, start: () => Promise<Running>, expectedRuntime = name): void {
  describe(`runtime ${name}`, () => {
    let server: Running | undefined;
    const run = `${name}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
    const answers: { what: string; status: number }[] = [];
    let seq = 0;
    const newId = (tag: string) => `msg_e2e_${run}_${tag}_${++seq}`;

    beforeAll(async () => {
      // A free port can be taken between picking it and binding it (wrangler starts more servers of
      // its own): start again on a new port, twice at most; any other failure fails at once.
      for (let attempt = 1; ; attempt++) {
        try {
          server = await start();
          return;
        } catch (e) {
          if (attempt === 3 || !String((e as Error).message).includes("Address already in use")) throw e;
        }
      }
    }, START_TIMEOUT_MS);
    afterAll(async () => {
      await server?.stop();
    }, 20_000);

    const base = () => {
      if (!server) throw new Error(`the ${name} worker did not start (see beforeAll's error)`);
      return server.baseUrl;
    };

    async function call(
      method: string,
      path: string,
      init: { body?: string; headers?: Record<string, string> } = {},
    ) {
      const res = await fetch(base() + path, { method, body: init.body, headers: init.headers });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      answers.push({ what: `${method} ${path}`, status: res.status });
      return { status: res.status, headers: res.headers, text, json } as Answer;
    }

    /** POST a job signed like QStash: `sub` is the exact URL posted to. */
    async function postJob(
      body: string,
      opts: { key?: string | null; signBody?: string; now?: number; messageId?: string } = {},
    ) {
      const path = "/jobs/failure";
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "upstash-message-id": opts.messageId ?? newId("job"),
        "upstash-retried": "0",
      };
      if (opts.key !== null) {
        headers["upstash-signature"] = await signRequest({
          key: opts.key ?? DEV_SIGNING_KEYS.current,
          url: base() + path,
          body: opts.signBody ?? body,
          now: opts.now,
        });
      }
      return { ...(await call("POST", path, { body, headers })), messageId: headers["upstash-message-id"] };
    }

    const callback = (sourceMessageId: string, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ ...EXAMPLE, sourceMessageId, dlqId: `dlq_${sourceMessageId}`, ...extra });

    function expectProblem(a: Answer, status: number, code: string): void {
      expect({ status: a.status, code: a.json?.error?.code }).toEqual({ status, code });
      expect(typeof a.json.error.message).toBe("string");
      expect(a.json.error.message.length).toBeGreaterThan(0);
      expect(typeof a.json.error.retryable).toBe("boolean");
    }

    test("/health: ok, with name, type, version and runtime", async () => {
      const a = await call("GET", "/health");
      expect(a.status).toBe(200);
      expect(a.json).toMatchObject({
        status: "ok",
        name: "alertagent-worker",
        type: "general",
        version: VERSION,
        runtime: expectedRuntime,
      });
      expect(typeof a.json.uptime_s).toBe("number");
      expect(typeof a.json.checks).toBe("object");
    });

    test("/health/live and /health/ready answer 200", async () => {
      expect((await call("GET", "/health/live")).status).toBe(200);
      const ready = await call("GET", "/health/ready");
      expect(ready.status).toBe(200);
      expect(ready.json.status).toBe("ready");
    });

    test("a signed failure callback is recorded: the job succeeded, its source is failed", async () => {
      const source = newId("source");
      const a = await postJob(callback(source));
      expect(a.status).toBe(200);
      expect(a.json).toMatchObject({ recorded: true, source_message_id: source });
      const job = await call("GET", `/v1/jobs/${a.messageId}`);
      expect(job.status).toBe(200);
      expect(job.json).toMatchObject({ family: "failure", status: "succeeded" });
      const dead = await call("GET", `/v1/jobs/${source}`);
      expect(dead.status).toBe(200);
      expect(dead.json.status).toBe("failed");
    });

    test("a job signed with the next key is accepted (key rotation)", async () => {
      const a = await postJob(callback(newId("source")), { key: DEV_SIGNING_KEYS.next });
      expect(a.status).toBe(200);
    });

    test("unsigned → 401 signature_missing", async () => {
      expectProblem(await postJob(callback(newId("source")), { key: null }), 401, "signature_missing");
    });

    test("signed with a wrong key → 401 signature_invalid", async () => {
      expectProblem(
        await postJob(callback(newId("source")), { key: "sig_NotTheRightKeyAtAll0000000" }),
        401,
        "signature_invalid",
      );
    });

    test("a body other than the signed one → 401 signature_body_mismatch", async () => {
      const signed = callback(newId("source"));
      expectProblem(
        await postJob(callback(newId("source")), { signBody: signed }),
        401,
        "signature_body_mismatch",
      );
    });

    test("expired → 401 signature_expired; not yet valid → 401 signature_not_yet_valid", async () => {
      const now = Math.floor(Date.now() / 1000);
      // exp = now - 300 and nbf = now + 60: both well beyond the 5 s clock tolerance.
      expectProblem(await postJob(callback(newId("source")), { now: now - 600 }), 401, "signature_expired");
      expectProblem(
        await postJob(callback(newId("source")), { now: now + 60 }),
        401,
        "signature_not_yet_valid",
      );
    });

    test("a completed message id is replayed: 200, X-Idempotent-Replay, the same body", async () => {
      const id = newId("replay");
      const body = callback(newId("source"));
      const first = await postJob(body, { messageId: id });
      expect(first.status).toBe(200);
      const again = await postJob(body, { messageId: id });
      expect(again.status).toBe(200);
      expect(again.headers.get("x-idempotent-replay")).toBe("true");
      expect(again.json).toEqual(first.json);
    });

    test("a body over the limit (a failure callback's: 4/3 of the 1 MiB worker.body_limit + 256 KiB) → 489 payload_too_large, non-retryable", async () => {
      const big = callback(newId("source"), {
        padding: "x".repeat(Math.ceil((1024 * 1024 * 4) / 3) + 256 * 1024 + 1),
      });
      const a = await postJob(big);
      expectProblem(a, 489, "payload_too_large");
      expect(a.headers.get("upstash-nonretryable-error")).toBe("true");
    });

    test("signed invalid JSON → 489 invalid_json", async () => {
      const a = await postJob('{"status": 503, "sourceMessageId": ');
      expectProblem(a, 489, "invalid_json");
      expect(a.headers.get("upstash-nonretryable-error")).toBe("true");
    });

    test("a wrong-typed field → 489 invalid_payload naming its path", async () => {
      const a = await postJob(JSON.stringify({ ...EXAMPLE, sourceMessageId: 5 }));
      expectProblem(a, 489, "invalid_payload");
      expect(a.headers.get("upstash-nonretryable-error")).toBe("true");
      expect(JSON.stringify(a.json.error.details)).toContain('"sourceMessageId"');
    });

    test("unknown routes, and job routes this worker does not mount, → 404 JSON problem", async () => {
      expectProblem(await call("GET", "/no/such/route"), 404, "not_found");
      expectProblem(await call("POST", "/jobs/no-such-family", { body: "{}" }), 404, "not_found");
      expectProblem(await call("GET", `/v1/jobs/${newId("never")}`), 404, "not_found");
    });

    test("/metrics counts jobs by outcome and their durations", async () => {
      const wanted = ["succeeded", "unauthorized", "duplicate"].map(
        (o) =>
          new RegExp(`^alertagent_jobs_total\\{[^}]*family="failure"[^}]*outcome="${o}"[^}]*\\} [1-9]`, "m"),
      );
      const histogram = /^alertagent_job_duration_seconds_bucket\{[^}]*family="failure"/m;
      // On workerd the figures are flushed after the response (waitUntil): poll briefly.
      let text = "";
      for (let i = 0; i < 25; i++) {
        const a = await call("GET", "/metrics");
        expect(a.status).toBe(200);
        text = a.text;
        if (wanted.every((re) => re.test(text)) && histogram.test(text)) break;
        await Bun.sleep(200);
      }
      const jobLines = text.split("\n").filter((l) => l.startsWith("alertagent_jobs_total{"));
      for (const re of wanted)
        expect({ re: re.source, found: re.test(text), jobLines }).toMatchObject({ found: true });
      expect(histogram.test(text)).toBe(true);
    });

    if (expectedRuntime !== "workerd")
      test("/metrics and the dashboard carry the process's CPU, memory, heap and event-loop lag", async () => {
        const text = (await call("GET", "/metrics")).text;
        for (const name of [
          "process_cpu_seconds_total",
          "process_resident_memory_bytes",
          "nodejs_heap_size_used_bytes",
          "nodejs_eventloop_lag_p99_seconds",
        ])
          expect({ name, found: new RegExp(`^${name} \\d`, "m").test(text) }).toEqual({ name, found: true });
        // Read, not a placeholder: a process holds some memory and some files (Deno once showed 0 for both).
        expect(text).toMatch(/^process_resident_memory_bytes [1-9]/m);
        expect(text).not.toMatch(/^process_(open_fds|virtual_memory_bytes|heap_bytes) 0$/m);
        const page = (await call("GET", "/dashboard")).text;
        expect(page).toContain("event-loop lag");
        expect(page).toMatch(/memory<b>[1-9]\d* MB<\/b>resident/);
      });

    // A Worker has no listening address to check: it looks at where each request came from
    // (CF-Connecting-IP, which Cloudflare's edge sets to the client and wrangler dev to 127.0.0.1).
    if (name === "workerd") {
      const devKeyJob = async (headers: Record<string, string>, tag: string) => {
        const source = `msg_e2e_devkeys_source_${run}_${tag}`;
        const body = callback(source);
        const host = headers.host ?? new URL(base()).host;
        const url = `http://${host}/jobs/failure`;
        const res = await fetch(`${base()}/jobs/failure`, {
          method: "POST",
          body,
          headers: {
            ...headers,
            "content-type": "application/json",
            "upstash-message-id": newId(`devkeys_${tag}`),
            "upstash-signature": await signRequest({ key: DEV_SIGNING_KEYS.current, url, body }),
          },
        });
        return {
          status: res.status,
          json: (await res.json()) as { error?: { code: string; message: string } },
          source,
        };
      };
      test("the embedded default's public keys, from another machine (a deployed Worker): 503 config_error, nothing recorded", async () => {
        const got = await devKeyJob(
          { "cf-connecting-ip": "203.0.113.7", host: "alertagent-worker.acme.workers.dev" },
          "remote",
        );
        expect({ status: got.status, code: got.json.error?.code }).toEqual({
          status: 503,
          code: "config_error",
        });
        expect(got.json.error?.message).toContain("accepted only from this machine");
        // The dead message it reported was not recorded.
        expect((await fetch(`${base()}/v1/jobs/${got.source}`)).status).toBe(404);
      });
      test("…nor from this machine under another host name (a DNS-rebinding page; a Worker's route): refused", async () => {
        const got = await devKeyJob({ host: "rebind.attacker.example" }, "rebound");
        expect({ status: got.status, code: got.json.error?.code }).toEqual({
          status: 503,
          code: "config_error",
        });
        expect((await fetch(`${base()}/v1/jobs/${got.source}`)).status).toBe(404);
        expect((await devKeyJob({}, "local")).status).toBe(200);
      });
    }

    test("nothing answered 5xx", () => {
      expect(answers.length).toBeGreaterThan(0);
      expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    });
  });
}
