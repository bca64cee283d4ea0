import { describe, expect, test } from "bun:test";
import { turnBatchedAnswers, turnBatchedFetch } from "../../src/entry/turn-batch.ts";

describe("turnBatchedFetch: outbound requests of one turn start together", () => {
  test("requests made in one turn start after it, together and in order; each gets its own answer", async () => {
    const started: string[] = [];
    const f = turnBatchedFetch(async (input) => {
      started.push(String(input));
      return new Response(`answer ${input}`);
    });
    const pending = [f("http://a/1"), f("http://a/2"), f("http://a/3")];
    await Promise.resolve();
    expect(started).toEqual([]);
    const answers = await Promise.all(pending.map(async (p) => (await p).text()));
    expect(started).toEqual(["http://a/1", "http://a/2", "http://a/3"]);
    expect(answers).toEqual(["answer http://a/1", "answer http://a/2", "answer http://a/3"]);
    // A later turn starts its own batch.
    expect(await (await f("http://a/4")).text()).toBe("answer http://a/4");
    expect(started).toHaveLength(4);
  });

  test("a failure, thrown or rejected, reaches only its own caller", async () => {
    const f = turnBatchedFetch(async (input, init) => {
      if (String(input).endsWith("/throw")) throw new TypeError("bad url");
      if (init?.method === "REJECT") return Promise.reject(new Error("connection refused"));
      return new Response("ok");
    });
    const syncThrow = turnBatchedFetch((() => {
      throw new TypeError("invalid init");
    }) as never);
    const [ok, thrown, rejected, sync] = await Promise.allSettled([
      f("http://a/ok"),
      f("http://a/throw"),
      f("http://a/x", { method: "REJECT" }),
      syncThrow("http://a/y"),
    ]);
    expect(ok.status).toBe("fulfilled");
    expect((thrown as PromiseRejectedResult).reason.message).toBe("bad url");
    expect((rejected as PromiseRejectedResult).reason.message).toBe("connection refused");
    expect((sync as PromiseRejectedResult).reason.message).toBe("invalid init");
  });

  test("the job's traceparent still goes out: tracing wraps the batched fetch", async () => {
    const { inSpan, startSpan, tracingFetch } = await import("../../src/telemetry/trace.ts");
    const seen: (string | null)[] = [];
    const f = tracingFetch(
      turnBatchedFetch(async (_input, init) => {
        seen.push(new Headers(init?.headers).get("traceparent"));
        return new Response("ok");
      }),
    );
    const span = startSpan(undefined);
    await inSpan(span, () => f("http://a/traced"));
    expect(seen[0]).toStartWith(`00-${span.traceId}-`);
  });
});

describe("turnBatchedAnswers: the answers of one turn are handed over together", () => {
  test("each request gets its own answer, after the turn in which it was ready", async () => {
    const handle = turnBatchedAnswers(async (req) => new Response(`to ${new URL(req.url).pathname}`));
    const order: string[] = [];
    const answers = ["/a", "/b"].map((p) =>
      handle(new Request(`http://w${p}`)).then(async (r) => {
        order.push(p);
        return r.text();
      }),
    );
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual([]);
    expect(await Promise.all(answers)).toEqual(["to /a", "to /b"]);
    expect(order).toEqual(["/a", "/b"]);
  });

  test("a handler that fails still fails (nothing is swallowed)", async () => {
    const handle = turnBatchedAnswers(() => {
      throw new Error("boom");
    });
    await expect(handle(new Request("http://w/x"))).rejects.toThrow("boom");
  });
});
