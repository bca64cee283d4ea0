/**
 * A peer whose answer runs on (a runaway app, a broken proxy): 64 MiB after `prefix`, handed out
 * as the reader asks, so `streamed` says how far the worker read (a chunk or a socket buffer ahead).
 */
const CHUNK = new TextEncoder().encode("x".repeat(64 * 1024));
export const ENDLESS_BYTES = 64 * 1024 * 1024;

export function endlessResponse(prefix: string, counter: { streamed: number }, status = 200): Response {
  let left = ENDLESS_BYTES / CHUNK.byteLength;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode(prefix));
    },
    pull(c) {
      if (left-- === 0) return c.close();
      counter.streamed += CHUNK.byteLength;
      c.enqueue(CHUNK);
    },
  });
  return new Response(body, { status, headers: { "content-type": "application/json" } });
}

/** A server that answers every request so; `hits` counts them. */
export function startEndlessServer(prefix = '{"ok":"'): {
  url: string;
  streamed: number;
  hits: number;
  stop(): Promise<void>;
} {
  const state = { url: "", streamed: 0, hits: 0, stop: async () => {} };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (req) => {
      await req.arrayBuffer();
      state.hits++;
      return endlessResponse(prefix, state);
    },
  });
  state.url = `http://127.0.0.1:${server.port}`;
  state.stop = () => server.stop(true);
  return state;
}
