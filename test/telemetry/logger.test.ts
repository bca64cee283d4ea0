import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/telemetry/logger.ts";

function capture(level?: "debug" | "info" | "warn" | "error") {
  const lines: string[] = [];
  const logger = createLogger({
    level,
    base: { name: "w1" },
    write: (l) => lines.push(l),
    now: () => new Date("2026-11-28T12:00:00.000Z"),
  });
  return { logger, lines, parsed: () => lines.map((l) => JSON.parse(l)) };
}

describe("logger", () => {
  test("a line is one JSON object: ts, level, msg, then context, then its fields", () => {
    const { logger, lines } = capture();
    logger.child({ family: "failure", message_id: "m1" }).info("job answered", { status: 200, ms: 3 });
    expect(lines).toEqual([
      '{"ts":"2026-11-28T12:00:00.000Z","level":"info","msg":"job answered","name":"w1","family":"failure","message_id":"m1","status":200,"ms":3}',
    ]);
  });

  test("undefined fields are left out; a line without fields ends after its context", () => {
    const { logger, parsed } = capture();
    logger.warn("plain");
    logger.info("sparse", { code: undefined, n: 0 });
    expect(parsed()).toEqual([
      { ts: "2026-11-28T12:00:00.000Z", level: "warn", msg: "plain", name: "w1" },
      { ts: "2026-11-28T12:00:00.000Z", level: "info", msg: "sparse", name: "w1", n: 0 },
    ]);
  });

  test("a field that names a context key replaces it, once", () => {
    const { logger, lines } = capture();
    logger.child({ family: "failure" }).info("x", { family: "analysis", msg: "override" });
    expect(lines[0].match(/"family"/g)).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ family: "analysis", msg: "override", name: "w1" });
  });

  test("a child of a child replaces the parent's value of the same key", () => {
    const { logger, parsed } = capture();
    logger.child({ a: 1, b: 1 }).child({ b: 2 }).info("x");
    expect(parsed()[0]).toEqual({
      ts: "2026-11-28T12:00:00.000Z",
      level: "info",
      msg: "x",
      name: "w1",
      a: 1,
      b: 2,
    });
  });

  test("secrets in URLs are masked, in fields and in context; errors log their message", () => {
    const { logger, lines } = capture();
    logger
      .child({ target: "https://oapi.dingtalk.com/robot/send?access_token=SECRET1" })
      .error("send failed", { url: "redis://:SECRET2@h:6379", error: new Error("boom") });
    expect(lines[0]).not.toContain("SECRET");
    expect(JSON.parse(lines[0])).toMatchObject({ error: "boom", url: "redis://:********@h:6379" });
  });

  test("nested fields: plain data as it is; secrets masked at any depth; a Date or a URL object as its JSON text", () => {
    const { logger, parsed } = capture();
    const plain = {
      dead_letter: { source_message_id: "s1", status: 503, tags: ["a", null], n: { ok: true } },
    };
    logger.info("plain", plain);
    logger.info("deep", {
      answer: { data: [{ link: "https://hooks.slack.com/services/T0/B0/SECRET3" }], password: "SECRET4" },
      req: { headers: { "X-Api-Key": "SECRET5" } },
      qstash: { flow_control: { key: "tenant-a" } },
      at: {
        when: new Date("2026-11-28T12:00:00.000Z"),
        where: new URL("https://u:SECRET6@example.com/x?token=SECRET7"),
      },
    });
    const [p, d] = parsed();
    expect(p).toMatchObject(plain);
    expect(JSON.stringify(d)).not.toContain("SECRET");
    expect(d).toMatchObject({
      answer: { data: [{ link: "https://hooks.slack.com/services/********" }], password: "********" },
      req: { headers: { "X-Api-Key": "********" } },
      qstash: { flow_control: { key: "tenant-a" } },
      at: {
        when: "2026-11-28T12:00:00.000Z",
        where: "https://********:********@example.com/x?token=********",
      },
    });
  });

  test("lines below the level are dropped", () => {
    const { logger, lines } = capture("warn");
    logger.info("quiet");
    logger.debug("quieter");
    logger.error("loud");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).msg).toBe("loud");
  });

  test("without an injected clock, ts is the current time in ISO-8601", () => {
    const lines: string[] = [];
    const before = Date.now();
    createLogger({ write: (l) => lines.push(l) }).info("now");
    const ts = Date.parse(JSON.parse(lines[0]).ts);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(Date.now());
  });
});
