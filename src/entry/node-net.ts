/**
 * The TCP ports over node:net and node:tls — what the binary (Bun), Deno and Node provide:
 * `nodeTcp` for SMTP and `nodeDial` for Redis. For SMTP, STARTTLS wraps the connected plain socket with `tls.connect({socket})`. The modules are
 * imported on first use, so a bundle for a runtime that never sends mail does not load them.
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { Dial, TcpConnect, TcpOptions, TcpSocket } from "../ports.ts";

type Tls = typeof import("node:tls");

const isIp = (h: string) => /^[\d.]+$/.test(h) || h.includes(":");

function tlsOptions(o: TcpOptions) {
  // SNI must be a host name (RFC 6066); the certificate is still checked against an IP host.
  return {
    ...(isIp(o.servername) ? {} : { servername: o.servername }),
    ...(o.ca ? { ca: o.ca } : {}),
    rejectUnauthorized: o.rejectUnauthorized,
  };
}

function ready(sock: Socket, event: "connect" | "secureConnect"): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => {
      sock.off(event, ok);
      reject(e);
    };
    const ok = () => {
      sock.off("error", fail);
      resolve();
    };
    sock.once(event, ok);
    sock.once("error", fail);
  });
}

function wrap(sock: Socket, o: TcpOptions, tls: Tls): TcpSocket {
  let done = false;
  let ctl: ReadableStreamDefaultController<Uint8Array> | undefined;
  const onData = (b: Buffer) => ctl?.enqueue(new Uint8Array(b));
  const onEnd = () => {
    if (!done) {
      done = true;
      ctl?.close();
    }
  };
  const onError = (e: Error) => {
    if (!done) {
      done = true;
      ctl?.error(e);
    }
  };
  const detach = () => {
    sock.off("data", onData);
    sock.off("end", onEnd);
    sock.off("close", onEnd);
    sock.off("error", onError);
    // A late error on a socket we let go must not become an uncaught exception.
    sock.on("error", () => {});
  };
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      ctl = c;
      sock.on("data", onData);
      sock.on("end", onEnd);
      sock.on("close", onEnd);
      sock.on("error", onError);
    },
    cancel() {
      sock.destroy();
    },
  });
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => new Promise((resolve, reject) => sock.write(chunk, (e) => (e ? reject(e) : resolve()))),
    close: () => void sock.end(),
  });
  return {
    readable,
    writable,
    async startTls() {
      detach();
      const t = tls.connect({ socket: sock, ...tlsOptions(o) });
      await ready(t, "secureConnect");
      return wrap(t, o, tls);
    },
    async close() {
      detach();
      sock.destroy();
    },
  };
}

export const nodeTcp: TcpConnect = async (o) => {
  const [net, tls] = await Promise.all([import("node:net"), import("node:tls")]);
  const sock =
    o.tls === "on"
      ? tls.connect({ host: o.host, port: o.port, ...tlsOptions(o) })
      : net.connect({ host: o.host, port: o.port });
  try {
    await ready(sock, o.tls === "on" ? "secureConnect" : "connect");
  } catch (e) {
    sock.destroy();
    throw e;
  }
  return wrap(sock, o, tls);
};

/** The RESP client's `Dial` over node:net / node:tls (the binary and Deno). */
export const nodeDial: Dial = (o, onReady) => {
  const socket = o.tls
    ? tlsConnect({ host: o.host, port: o.port, ...(isIp(o.host) ? {} : { servername: o.host }) })
    : netConnect(o);
  socket.setNoDelay(true);
  socket.once(o.tls ? "secureConnect" : "connect", onReady);
  return socket;
};
