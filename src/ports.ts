/**
 * The platform ports: what only an entry can provide (docs/architecture.md, "Runtimes stay thin").
 * Domain code names these types; src/entry/ fills them in for Bun, Deno and workerd.
 */

/** The fetch the worker uses for every outbound call (injected so tests and runtimes can differ). */
export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export type RuntimeName = "bun" | "deno" | "workerd" | "node";

/** File access for domain code (config-sync file deliveries); absent on runtimes without files (Workers). */
export interface FileAccess {
  /** The file's text, or null when it does not exist. */
  read(path: string): Promise<string | null>;
  /**
   * Writes the whole file, creating missing parent directories. `mode` applies to a new file;
   * with `like`, a file that exists there gives it its mode, owner and group instead (the owner
   * only where this process may give a file away; the group where it is one of its groups).
   */
  write(path: string, text: string, opts?: { mode?: number; like?: string }): Promise<void>;
  /** Replaces `to` with `from` in one step (same directory). */
  rename(from: string, to: string): Promise<void>;
  /** Deletes the file; a missing file is not an error. */
  remove(path: string): Promise<void>;
  /** Whether anything is at `path` (without reading it). */
  exists(path: string): Promise<boolean>;
  /** The names in directory `dir`; none when it does not exist. */
  list(dir: string): Promise<string[]>;
}

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

/** A socket of web streams that can be upgraded to TLS: the shape of Cloudflare's `cloudflare:sockets`. */
export interface TcpSocket {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Upgrades to TLS; release the readers and writers of this socket first. */
  startTls(): Promise<TcpSocket>;
  close(): Promise<void>;
}

/** Outbound TCP for SMTP: opens a connection (TLS already negotiated when `tls` is "on"). */
export type TcpConnect = (o: TcpOptions) => Promise<TcpSocket>;

/** A byte stream socket as the RESP client drives it; node:net's Socket has this shape. */
export interface StreamSocket {
  on(event: "data", fn: (chunk: Uint8Array) => void): unknown;
  on(event: "error", fn: (e: Error) => void): unknown;
  on(event: "close", fn: () => void): unknown;
  once(event: "close", fn: () => void): unknown;
  write(data: string | Uint8Array): unknown;
  end(): unknown;
  destroy(e?: Error): unknown;
}

/** Outbound TCP for Redis: connects and calls `onReady` once the socket (and its TLS) is up. */
export type Dial = (o: { host: string; port: number; tls: boolean }, onReady: () => void) => StreamSocket;
