/**
 * Bad input, generated: for every mounted job route, malformed, truncated, oversized,
 * wrong-typed and hostile bodies, all correctly signed (so they reach the parser). Nothing
 * may answer 500 or crash; every answer is a JSON problem, and a schema problem names a path.
 * Then the same for a few hostile requests to the read routes.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { HANDLERS } from "../../handlers/index.ts";
import type { Family } from "../../src/config/schema.ts";
import { bodyLimitOf } from "../../src/jobs/runner.ts";
import { makeHarness } from "../support/harness.ts";

const EXAMPLES = join(import.meta.dir, "../../examples/jobs");

/** A valid body per family where an example exists, else {}. */
function example(family: string): Record<string, unknown> {
  const f = join(EXAMPLES, `${family}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as Record<string, unknown>) : {};
}

/** Deterministic pseudo-random generator so a failure can be reproduced. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const WRONG: unknown[] = [
  null,
  0,
  -1,
  1e308,
  "",
  "x".repeat(5000),
  true,
  [],
  {},
  [[[[]]]],
  { $ne: 1 },
  "<script>alert(1)</script>",
  "'; DROP TABLE x;--",
  "\u0000\uffff\ud800",
  "{{#each}}{{/each}}",
];

function variants(family: string): { name: string; body: string }[] {
  const valid = example(family);
  const text = JSON.stringify(valid);
  const out: { name: string; body: string }[] = [
    { name: "empty body", body: "" },
    { name: "not JSON", body: "hello" },
    { name: "truncated JSON", body: text.slice(0, Math.max(1, Math.floor(text.length / 2))) },
    { name: "JSON null", body: "null" },
    { name: "JSON array", body: "[1,2,3]" },
    { name: "JSON string", body: '"job"' },
    { name: "JSON number", body: "42" },
    {
      name: "prototype pollution",
      body: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}',
    },
    { name: "deep nesting", body: `${"[".repeat(5000)}${"]".repeat(5000)}` },
    { name: "unknown top-level field", body: JSON.stringify({ ...valid, surprise: 1 }) },
    { name: "lone surrogates", body: '{"a":"\\ud800\\udc00\\ud800"}' },
  ];
  const r = rng(family.length * 7919);
  for (const key of Object.keys(valid)) {
    for (let i = 0; i < 4; i++) {
      const v = WRONG[Math.floor(r() * WRONG.length)];
      out.push({
        name: `${key} = ${JSON.stringify(v)?.slice(0, 30)}`,
        body: JSON.stringify({ ...valid, [key]: v }),
      });
    }
    const { [key]: _, ...without } = valid;
    out.push({ name: `without ${key}`, body: JSON.stringify(without) });
  }
  return out;
}

describe("bad input on every job route: no 500, always a JSON problem", () => {
  const h = makeHarness();
  for (const family of Object.keys(HANDLERS)) {
    test(`/jobs/${family}`, async () => {
      const seen: string[] = [];
      for (const v of variants(family)) {
        const res = await h.job(`/jobs/${family}`, v.body);
        const text = await res.text();
        const where = `${family} with ${v.name}: HTTP ${res.status} ${text.slice(0, 300)}`;
        expect(res.status, where).not.toBe(500);
        expect(res.status, where).toBeLessThan(600);
        if (res.status === 200) continue; // some variants are still valid jobs (e.g. an optional field removed)
        const body = JSON.parse(text) as {
          error: { code: string; message: string; retryable: boolean; details?: { path: string }[] };
        };
        expect(typeof body.error.code, where).toBe("string");
        expect(body.error.message.length, where).toBeGreaterThan(0);
        if (body.error.code === "invalid_payload") {
          expect(body.error.details?.length, where).toBeGreaterThan(0);
          for (const d of body.error.details ?? []) expect(typeof d.path, where).toBe("string");
        }
        seen.push(`${res.status} ${body.error.code}`);
      }
      expect(seen.length).toBeGreaterThan(5);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }

  test("oversized bodies on every route are 489 payload_too_large", async () => {
    for (const family of Object.keys(HANDLERS)) {
      // Over the route's limit: worker.body_limit, with room on /jobs/failure for the job QStash quotes.
      const big = `{"x":"${"y".repeat(bodyLimitOf(family as Family, 1024 * 1024) + 10)}"}`;
      const res = await h.job(`/jobs/${family}`, big);
      expect(res.status).toBe(489);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
    }
  });

  test("hostile read requests answer JSON problems", async () => {
    for (const path of [
      "/v1/jobs/%00",
      "/v1/jobs/..%2F..%2Fetc%2Fpasswd",
      `/v1/jobs/${"x".repeat(10_000)}`,
      "/jobs/../v1/jobs/x",
      "/%ff",
      "/v1/nope",
    ]) {
      const res = await h.request(path);
      expect(res.status, path).not.toBe(500);
      expect(res.headers.get("content-type") ?? "", path).toContain("application/json");
    }
    const wrongMethod = await h.request("/jobs/failure", { method: "GET" });
    expect(wrongMethod.status).toBe(404);
  });
});
