/**
 * The SMTP client's TCP port (`TcpConnect`, src/ports.ts) on workerd: Cloudflare's
 * `cloudflare:sockets`. The binary and Deno use `nodeTcp` (node-tcp.ts).
 */
import type { TcpConnect, TcpSocket } from "../ports.ts";

/** The part of a `cloudflare:sockets` Socket the adapter uses. */
export interface WebSocketLike {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  opened: Promise<unknown>;
  close(): Promise<void>;
  startTls(o?: { expectedServerHostname?: string }): WebSocketLike;
}

export type WebConnect = (
  address: { hostname: string; port: number },
  options: { secureTransport: "on" | "off" | "starttls"; allowHalfOpen: boolean },
) => WebSocketLike;

/**
 * Adapts `connect` from `cloudflare:sockets`. It verifies certificates against the platform's
 * trust store only: `ca` and `rejectUnauthorized: false` cannot be honoured (refused at start-up).
 */
export function webTcp(connect: WebConnect): TcpConnect {
  const wrap = (s: WebSocketLike, servername: string): TcpSocket => ({
    readable: s.readable,
    writable: s.writable,
    async startTls() {
      const t = s.startTls({ expectedServerHostname: servername });
      await t.opened;
      return wrap(t, servername);
    },
    close: () => s.close().catch(() => {}),
  });
  return async (o) => {
    const s = connect({ hostname: o.host, port: o.port }, { secureTransport: o.tls, allowHalfOpen: false });
    await s.opened;
    return wrap(s, o.servername);
  };
}
