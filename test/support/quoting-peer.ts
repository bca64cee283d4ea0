/**
 * A peer that refuses every request and quotes it back in its answer, as a proxy, gateway or wrong
 * URL in front of the real service may: what the worker's masking must catch.
 */
export function startQuotingPeer(
  status: number,
  say: (req: Request) => string,
): { url: string; stop: () => void } {
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req) => Response.json({ error: say(req) }, { status }),
  });
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}
