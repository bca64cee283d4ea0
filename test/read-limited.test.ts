/** Reading a peer's answer under a limit (src/read-limited.ts): nothing past it is held. */
import { describe, expect, test } from "bun:test";
import { MiB, readAnswer } from "../src/read-limited.ts";

/** An answer of `total` bytes of "a", streamed in 64 KiB chunks; how many chunks were pulled. */
function streamed(total: number) {
  let sent = 0;
  let pulls = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      pulls++;
      const n = Math.min(64 * 1024, total - sent);
      if (n <= 0) return c.close();
      c.enqueue(new Uint8Array(n).fill(97));
      sent += n;
    },
  });
  return { res: new Response(body), pulls: () => pulls };
}

describe("readAnswer", () => {
  test("within the limit: the whole text", async () => {
    expect(await readAnswer(streamed(100_000).res, MiB)).toEqual({ text: "a".repeat(100_000), over: false });
  });

  test("over the limit: said so, with no text kept (an engine throws it away), and the rest not read", async () => {
    const s = streamed(50 * MiB);
    const got = await readAnswer(s.res, 4 * MiB);
    expect(got).toEqual({ text: "", over: true });
    expect(s.pulls()).toBeLessThan(80);
  });

  test("over the limit with `cut`: its first bytes (a robot's long answer still shows its start)", async () => {
    const got = await readAnswer(streamed(3 * MiB).res, MiB, { cut: true });
    expect(got.over).toBe(true);
    expect(got.text).toHaveLength(MiB);
  });
});
