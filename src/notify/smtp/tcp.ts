/**
 * Outbound TCP as the SMTP client sees it: a socket of web streams that can be upgraded to
 * TLS (STARTTLS) — the shape of Cloudflare's `cloudflare:sockets`, which `webTcp` adapts.
 * The binary and Deno use `nodeTcp` (node:net / node:tls, node-tcp.ts). The runtime's entry
 * hands the worker one of them through Deps (`tcp`); without it an email channel is refused
 * at start-up.
 */

export interface TcpOptions {
  host: string;
  port: number;
  /** "on": TLS from the first byte (port 465); "starttls": plain until upgraded; "off": plain. */
  tls: "on" | "starttls" | "off";
  /** The name the server certificate must carry. */
  servername: string;
  /** Extra trusted CA certificates (PEM) for a private mail server. */
  ca?: string;
  /** false skips certificate verification (a test server only). */
  rejectUnauthorized: boolean;
}

export interface TcpSocket {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Upgrades to TLS; release the readers and writers of this socket first. */
  startTls(): Promise<TcpSocket>;
  close(): Promise<void>;
}

/** Opens a connection (TLS already negotiated when `tls` is "on"). */
export type TcpConnect = (o: TcpOptions) => Promise<TcpSocket>;

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
