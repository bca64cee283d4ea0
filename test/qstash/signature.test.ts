import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { signJwt, signRequest } from "../../src/qstash/sign.ts";
import { SignatureVerifier } from "../../src/qstash/verify.ts";
import { BASE, failureCallback, makeHarness } from "../support/harness.ts";

const now = () => Math.floor(Date.now() / 1000);

async function problem(res: Response) {
  const body = (await res.json()) as { error: { code: string; message: string; retryable: boolean } };
  return { status: res.status, ...body.error };
}

describe("QStash signature verification", () => {
  const h = makeHarness();
  const body = failureCallback("msg_src_sig");

  test("accepts a request signed with the current key", async () => {
    const res = await h.job("/jobs/failure", body);
    expect(res.status).toBe(200);
  });

  test("accepts a request signed with the next key (rotation)", async () => {
    const res = await h.job("/jobs/failure", body, { key: DEV_SIGNING_KEYS.next });
    expect(res.status).toBe(200);
  });

  test("rejects a missing signature with 401 signature_missing", async () => {
    const p = await problem(await h.job("/jobs/failure", body, { signature: null }));
    expect(p).toMatchObject({ status: 401, code: "signature_missing", retryable: true });
  });

  test("rejects a signature that is not a JWT", async () => {
    const p = await problem(await h.job("/jobs/failure", body, { signature: "not-a-jwt" }));
    expect(p).toMatchObject({ status: 401, code: "signature_malformed" });
  });

  test("rejects JWT-shaped garbage with a 401 naming the check, never a 500", async () => {
    const good = await signRequest({
      key: DEV_SIGNING_KEYS.current,
      url: `${BASE}/jobs/failure`,
      body: JSON.stringify(body),
    });
    const [hd, pl, mac] = good.split(".");
    for (const signature of [
      "a..c",
      `${hd}.${pl}`,
      `${hd}.${pl}.${mac}.x`,
      `${hd}.${pl}!.${mac}`,
      `${hd}.${pl}.${mac.slice(0, -2)}+/`,
      `${hd}.${pl.slice(0, 10)} ${pl.slice(10)}.${mac}`,
      "!!!.???.***",
    ]) {
      const p = await problem(await h.job("/jobs/failure", body, { signature }));
      expect(p.status).toBe(401);
      expect(["signature_malformed", "signature_invalid"]).toContain(p.code);
    }
  });

  test("rejects a signature made with another key", async () => {
    const p = await problem(await h.job("/jobs/failure", body, { key: "sig_someoneElsesKey1234567890" }));
    expect(p).toMatchObject({ status: 401, code: "signature_invalid" });
  });

  test("rejects a tampered body", async () => {
    const p = await problem(
      await h.job("/jobs/failure", body, { signedBody: JSON.stringify({ ...body, status: 200 }) }),
    );
    expect(p).toMatchObject({ status: 401, code: "signature_body_mismatch" });
  });

  test("hashes the raw bytes: a re-serialised body (other whitespace) does not verify", async () => {
    const raw = JSON.stringify(body, null, 2);
    const res = await h.job("/jobs/failure", raw, { signedBody: JSON.stringify(body) });
    expect((await problem(res)).code).toBe("signature_body_mismatch");
  });

  test("rejects an expired signature beyond the clock tolerance", async () => {
    const p = await problem(await h.job("/jobs/failure", body, { now: now() - 400 }));
    expect(p).toMatchObject({ status: 401, code: "signature_expired" });
  });

  test("accepts a signature expired by less than the clock tolerance (5s)", async () => {
    const res = await h.job("/jobs/failure", body, { now: now() - 302 });
    expect(res.status).toBe(200);
  });

  test("rejects a signature that is not valid yet", async () => {
    const p = await problem(await h.job("/jobs/failure", body, { claims: { nbf: now() + 120 } }));
    expect(p).toMatchObject({ status: 401, code: "signature_not_yet_valid" });
  });

  test("rejects a token whose issuer is not Upstash", async () => {
    const p = await problem(await h.job("/jobs/failure", body, { claims: { iss: "Mallory" } }));
    expect(p).toMatchObject({ status: 401, code: "signature_invalid" });
  });

  test("rejects alg=none tokens", async () => {
    const header = btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "");
    const claims = btoa(
      JSON.stringify({
        iss: "Upstash",
        sub: `${BASE}/jobs/failure`,
        exp: now() + 100,
        nbf: now(),
        body: "x",
      }),
    ).replace(/=+$/, "");
    const p = await problem(await h.job("/jobs/failure", body, { signature: `${header}.${claims}.x` }));
    expect(p.status).toBe(401);
  });

  test("any alg a stranger writes is a 401 naming it in a few characters, not a 500", async () => {
    const token = (alg: unknown) => `${Buffer.from(JSON.stringify({ alg })).toString("base64url")}.e30.x`;
    for (const [alg, shown] of [
      [{ toString: 1 }, 'not {"toString":1}'],
      ["x".repeat(6000), `not "${"x".repeat(38)}…`],
      [null, "not null"],
      [undefined, "not none"],
    ] as const) {
      const p = await problem(await h.job("/jobs/failure", body, { signature: token(alg) }));
      expect(p).toMatchObject({ status: 401, code: "signature_invalid" });
      expect(p.message).toEndWith(shown);
    }
  });

  test("a signed token without a body claim is refused, not a crash", async () => {
    const sig = await signJwt(DEV_SIGNING_KEYS.current, {
      iss: "Upstash",
      sub: "x",
      exp: now() + 100,
      nbf: now(),
      iat: now(),
    });
    const p = await problem(await h.job("/jobs/failure", body, { signature: sig }));
    expect(p.status).toBe(401);
  });

  test("exp and nbf must be numbers and exp present: otherwise 401 signature_malformed", async () => {
    for (const claims of [{ exp: String(now() + 100) }, { exp: undefined }, { nbf: "0" }, { exp: null }]) {
      const p = await problem(await h.job("/jobs/failure", body, { claims }));
      expect({ claims, ...p }).toMatchObject({ status: 401, code: "signature_malformed" });
    }
  });
});

describe("unsigned and forged requests are refused before the body is read", () => {
  test("a 1.1 MB unsigned body is a 401, counted only as unauthorized: no failure, no latency", async () => {
    const h = makeHarness();
    const big = JSON.stringify({ channels: ["console"], pad: "x".repeat(1_100_000) });
    for (let i = 0; i < 10; i++) {
      const res = await h.job("/jobs/notification", big, { signature: null, messageId: `msg_flood_${i}` });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("signature_missing");
    }
    const forged = await h.job("/jobs/notification", big, { key: "sig_not_the_key" });
    expect(forged.status).toBe(401);
    const stats = (await (await h.request("/stats")).json()) as {
      families: Record<
        string,
        { failed: number; error_rate: number; unauthorized: number; latency_ms: unknown }
      >;
    };
    expect(stats.families.notification).toMatchObject({
      failed: 0,
      error_rate: 0,
      unauthorized: 11,
      latency_ms: { p50: null, p95: null, p99: null },
    });
  });

  test("a signed body over the limit is still 489 payload_too_large", async () => {
    const h = makeHarness();
    const big = JSON.stringify({ channels: ["console"], pad: "x".repeat(1_100_000) });
    const res = await h.job("/jobs/notification", big);
    expect(res.status).toBe(489);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
  });
});

describe("sub must match worker.public_url + path when public_url is set", () => {
  const h = makeHarness("worker: { public_url: https://alerts.example.com/ }\n");
  const body = failureCallback("msg_src_sub");

  test("accepts sub = public_url + path even though the request arrived on another host (TLS termination)", async () => {
    const res = await h.job("/jobs/failure", body, { subject: "https://alerts.example.com/jobs/failure" });
    expect(res.status).toBe(200);
  });

  test("rejects a signature made for another URL", async () => {
    const p = await problem(
      await h.job("/jobs/failure", body, { subject: "https://evil.example.com/jobs/failure" }),
    );
    expect(p).toMatchObject({ status: 401, code: "signature_subject_mismatch" });
  });

  test("a query signed as published (Chinese channel names, a quote) matches its percent-encoded arrival; another query does not", async () => {
    const job = { channels: ["console"], alerts: [{ labels: { alertname: "Sub" } }] };
    const raw = "https://alerts.example.com/jobs/notification?channels=ops-钉钉,a'b";
    // The request arrives as the HTTP server parsed it: ?channels=ops-%E9%92%89%E9%92%89,a%27b.
    const res = await h.job("/jobs/notification?channels=ops-钉钉,a'b", job, { subject: raw });
    expect(new URL(raw).href).not.toBe(raw);
    expect(res.status).not.toBe(401);
    const other = await h.job("/jobs/notification?channels=ops-钉钉,a'b", job, {
      subject: "https://alerts.example.com/jobs/notification?channels=ops-other",
    });
    expect((await problem(other)).code).toBe("signature_subject_mismatch");
  });

  test("rejects a signature made for another route of the same worker", async () => {
    const p = await problem(
      await h.job("/jobs/failure", body, { subject: "https://alerts.example.com/jobs/notification" }),
    );
    expect(p.code).toBe("signature_subject_mismatch");
  });
});

describe("the body is hashed exactly as received", () => {
  test("a correctly signed body that is not UTF-8 passes the signature and is refused as 489 invalid_json", async () => {
    const { signRequest } = await import("../../src/qstash/sign.ts");
    const h = makeHarness();
    const bytes = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
    const sig = await signRequest({
      key: DEV_SIGNING_KEYS.current,
      url: `${BASE}/jobs/failure`,
      body: bytes,
    });
    const res = await h.request("/jobs/failure", {
      method: "POST",
      headers: { "upstash-signature": sig, "upstash-message-id": "m-bin" },
      body: bytes,
    });
    expect(res.status).toBe(489);
    expect((await problem(res)).code).toBe("invalid_json");
  });

  test("claims that hold UTF-8 text (a non-ASCII path in sub) are read as UTF-8", async () => {
    const v = new SignatureVerifier(DEV_SIGNING_KEYS);
    const url = "https://worker.example.com/jobs/failure?team=运维-ü";
    const body = new TextEncoder().encode("{}");
    const signature = await signRequest({ key: DEV_SIGNING_KEYS.current, url, body: "{}" });
    expect(() => v.verify({ signature, body, url, clockToleranceS: 5 })).not.toThrow();
    expect(() => v.verify({ signature, body, url: `${url}x`, clockToleranceS: 5 })).toThrow(
      "the signature was made for another URL",
    );
  });
});
