/**
 * A minimal Redis RESP2 client over TCP (node:net / node:tls, so it runs on Bun, Deno and Node),
 * and `tcpRequester`, which lets `@upstash/redis` talk to a self-hosted Redis through it with the
 * same result shapes the Upstash REST API returns.
 *
 * One socket per RespConnection; commands are pipelined (written without waiting) and replies are
 * matched in order. A lost connection rejects what was in flight with StoreUnavailableError and the
 * next command reconnects.
 */
import { Buffer } from "node:buffer";
import { errors, type Requester, type UpstashRequest, type UpstashResponse } from "@upstash/redis";
import { maskCredentials } from "../mask.ts";
import type { Dial, StreamSocket } from "../ports.ts";

/** An error reply from Redis (`-ERR …`, `-WRONGTYPE …`): the command ran and failed. */
export class RespError extends Error {
  override name = "RespError";
}

/** The connection to Redis is down or could not be made: nothing is known about the command. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
  constructor(reason: string) {
    super(`store unavailable: ${reason}`);
  }
}

/** A parsed reply. Bulk strings are strings, or Buffers with `buffers: true`. */
export type Reply = string | number | null | Buffer | RespError | Reply[];
export type Args = (string | number)[];

export interface RespOptions {
  /** The runtime's TCP (src/ports.ts); the entry passes node:net's (src/entry/node-net.ts). */
  dial: Dial;
  /** Return bulk strings as Buffers (simple strings stay strings). Default false. */
  buffers?: boolean;
  connectTimeoutMs?: number;
  /** A batch without a reply for this long drops the connection. 0 disables. Default 10 s. */
  replyTimeoutMs?: number;
}

const CR = 13;

/**
 * One reply parsed at `pos`: the reply and where the next one starts; or, when the buffer does
 * not hold all of it yet, how long the buffer must be before parsing again is worth it.
 */
type Parsed = [Reply, number] | { need: number };

function parse(buf: Buffer, pos: number, buffers: boolean): Parsed {
  const eol = buf.indexOf(CR, pos);
  if (eol < 0 || eol + 1 >= buf.length) return { need: buf.length + 1 };
  const line = buf.toString("utf8", pos + 1, eol);
  const next = eol + 2;
  switch (buf[pos]) {
    case 0x2b: // +
      return [line, next];
    case 0x2d: // -
      return [new RespError(line), next];
    case 0x3a: // :
      return [Number(line), next];
    case 0x24: {
      // $
      const len = Number(line);
      if (len < 0) return [null, next];
      if (buf.length < next + len + 2) return { need: next + len + 2 };
      const bytes = buf.subarray(next, next + len);
      return [buffers ? Buffer.from(bytes) : bytes.toString("utf8"), next + len + 2];
    }
    case 0x2a: {
      // *
      const n = Number(line);
      if (n < 0) return [null, next];
      const items: Reply[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parse(buf, p, buffers);
        if (!Array.isArray(r)) return r;
        items.push(r[0]);
        p = r[1];
      }
      return [items, p];
    }
    default:
      throw new Error(`RESP protocol error: unexpected byte ${buf[pos]}`);
  }
}

function encode(cmds: Args[]): string {
  let out = "";
  for (const args of cmds) {
    out += `*${args.length}\r\n`;
    for (const a of args) {
      const s = String(a);
      out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
    }
  }
  return out;
}

interface Pending {
  resolve(r: Reply): void;
  reject(e: Error): void;
}

/** One socket and the replies it still owes. */
class Link {
  private queue: Pending[] = [];
  /**
   * What has arrived of replies not yet parsed, and how many bytes the first of them needs: a
   * large reply comes in many chunks, and joining and parsing at each one copied it again and
   * again (a 32 MB GET took seconds).
   */
  private chunks: Buffer[] = [];
  private have = 0;
  private need = 0;
  dead = false;
  lastError: Error | undefined;

  constructor(
    readonly socket: StreamSocket,
    private readonly buffers: boolean,
    private readonly replyTimeoutMs: number,
  ) {
    socket.on("data", (chunk) => this.onData(chunk as Buffer));
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.have += chunk.length;
    if (this.have < this.need) return;
    const buf = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.have);
    let pos = 0;
    let demoted = false;
    try {
      for (;;) {
        const r = parse(buf, pos, this.buffers);
        if (!Array.isArray(r)) {
          this.need = r.need - pos;
          break;
        }
        pos = r[1];
        const p = this.queue.shift();
        if (!p) throw new Error("RESP protocol error: reply without a request");
        if (r[0] instanceof RespError && r[0].message.startsWith("READONLY")) {
          // Dead before the reply is handed on: the next command (a retry) opens a new link.
          demoted = true;
          this.dead = true;
        }
        p.resolve(r[0]);
      }
    } catch (e) {
      this.socket.destroy(e as Error);
      return;
    }
    const rest = buf.subarray(pos);
    this.chunks = rest.length ? [rest] : [];
    this.have = rest.length;
    // A primary demoted by a failover keeps its clients and refuses every write; the new primary
    // is reached (behind the same name or address) only on a new connection.
    if (demoted) this.socket.destroy(new Error("the server became a read-only replica (READONLY)"));
  }

  /** Writes the commands in one go; resolves with every reply (error replies included). */
  send(cmds: Args[]): Promise<Reply[]> {
    if (this.dead) return Promise.reject(new StoreUnavailableError("redis connection lost"));
    return new Promise((resolve, reject) => {
      const replies: Reply[] = [];
      let done = false;
      const timer =
        this.replyTimeoutMs > 0
          ? setTimeout(() => {
              this.socket.destroy(new Error(`no reply within ${this.replyTimeoutMs} ms`));
            }, this.replyTimeoutMs)
          : undefined;
      const finish = () => {
        done = true;
        if (timer) clearTimeout(timer);
      };
      for (let i = 0; i < cmds.length; i++) {
        this.queue.push({
          resolve: (r) => {
            replies.push(r);
            if (replies.length === cmds.length) {
              finish();
              resolve(replies);
            }
          },
          reject: (e) => {
            if (done) return;
            finish();
            reject(e);
          },
        });
      }
      this.socket.write(encode(cmds));
    });
  }

  fail(): void {
    this.dead = true;
    const why = this.lastError ? ` (${this.lastError.message})` : "";
    const err = new StoreUnavailableError(`redis connection lost${why}`);
    for (const p of this.queue.splice(0)) p.reject(err);
  }
}

interface Target {
  host: string;
  port: number;
  tls: boolean;
  user?: string;
  password?: string;
  db?: number;
}

function parseUrl(url: string): Target {
  const u = new URL(url);
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new Error(`unsupported Redis URL scheme ${u.protocol} (expected redis:// or rediss://)`);
  }
  const db = u.pathname.replace(/^\//, "");
  return {
    host: u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
    port: u.port ? Number(u.port) : 6379,
    tls: u.protocol === "rediss:",
    user: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: db ? Number(db) : undefined,
  };
}

export class RespConnection {
  private readonly target: Target;
  private link: Link | null = null;
  private opening: Promise<Link> | null = null;
  private closed = false;

  /** @param url `redis://[user:pass@]host:port[/db]` (`rediss://` for TLS). */
  constructor(
    url: string,
    private readonly options: RespOptions,
  ) {
    this.target = parseUrl(url);
  }

  /** Runs one command; an error reply rejects with RespError, a lost connection with StoreUnavailableError. */
  async command(args: Args): Promise<unknown> {
    const [reply] = await this.batch([args]);
    if (reply instanceof RespError) throw reply;
    return reply;
  }

  /** Runs commands back to back (not atomic); error replies come back as RespError values. */
  pipeline(cmds: Args[]): Promise<Reply[]> {
    return this.batch(cmds);
  }

  /** Runs commands inside MULTI/EXEC; a queueing error (EXECABORT) rejects with RespError. */
  async multi(cmds: Args[]): Promise<Reply[]> {
    const replies = await this.batch([["MULTI"], ...cmds, ["EXEC"]]);
    const exec = replies[replies.length - 1];
    if (exec instanceof RespError) {
      const cause = replies.slice(1, -1).find((r) => r instanceof RespError);
      throw new RespError(cause ? `${exec.message} ${cause.message}` : exec.message);
    }
    if (!Array.isArray(exec)) throw new RespError("EXECABORT transaction aborted");
    return exec;
  }

  async close(): Promise<void> {
    this.closed = true;
    const link = this.link ?? (await this.opening?.catch(() => null)) ?? null;
    if (!link || link.dead) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => link.socket.destroy(), 1000);
      link.socket.once("close", () => {
        clearTimeout(force);
        resolve();
      });
      link.socket.end();
    });
  }

  private async batch(cmds: Args[]): Promise<Reply[]> {
    if (this.closed) throw new StoreUnavailableError("redis connection closed");
    const link = this.link && !this.link.dead ? this.link : await this.connect();
    return link.send(cmds);
  }

  private connect(): Promise<Link> {
    this.opening ??= this.open().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private open(): Promise<Link> {
    const { host, port, tls, user, password, db } = this.target;
    const timeoutMs = this.options.connectTimeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const socket = this.options.dial({ host, port, tls }, async () => {
        clearTimeout(timer);
        const hello: Args[] = [];
        // An ACL user without a password (`nopass`) still has to be named: AUTH takes any password for it.
        if (user) hello.push(["AUTH", user, password ?? ""]);
        else if (password !== undefined) hello.push(["AUTH", password]);
        if (db !== undefined) hello.push(["SELECT", db]);
        try {
          const replies = hello.length ? await link.send(hello) : [];
          const err = replies.find((r) => r instanceof RespError);
          if (err) throw err;
        } catch (e) {
          // A server may quote the refused command's arguments (AUTH renamed away): not the password.
          const secrets = [password ?? "", (user?.length ?? 0) >= 4 ? (user as string) : ""].filter(Boolean);
          const said = maskCredentials((e as Error).message, secrets);
          link.lastError = new Error(`handshake failed: ${said}`);
          socket.destroy();
          return;
        }
        if (this.closed) {
          socket.destroy();
          return;
        }
        this.link = link;
        resolve(link);
      });
      const link = new Link(socket, this.options.buffers ?? false, this.options.replyTimeoutMs ?? 10_000);
      const timer = setTimeout(
        () => socket.destroy(new Error(`connect timeout after ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.on("error", (e) => {
        link.lastError = e;
      });
      socket.on("close", () => {
        clearTimeout(timer);
        link.fail();
        if (this.link === link) this.link = null;
        const why = link.lastError?.message ?? "connection closed";
        reject(new StoreUnavailableError(`cannot connect to redis at ${host}:${port}: ${why}`));
      });
    });
  }
}

/** A reply as the Upstash REST API would put it in JSON (before any base64 encoding). */
function toJson(r: Reply): unknown {
  if (r instanceof RespError) return r.message;
  if (Array.isArray(r)) return r.map(toJson);
  if (r instanceof Uint8Array) return Buffer.from(r).toString("utf8");
  return r;
}

function entry(r: Reply): UpstashResponse<unknown> {
  return r instanceof RespError ? { error: r.message } : { result: toJson(r) };
}

function asCommand(body: unknown): Args {
  if (!Array.isArray(body) || body.length === 0)
    throw new TypeError("tcpRequester: a command must be a non-empty array");
  return body.map((a) => (typeof a === "number" ? a : String(a)));
}

/**
 * An `@upstash/redis` Requester over TCP: `new Redis(tcpRequester(url))`. Answers like the REST API:
 * one command → `{result}` or `{error}`; `["pipeline"]` and `["multi-exec"]` → an array of those.
 */
export function tcpRequester(
  url: string,
  options: RespOptions,
): Requester & { connection: RespConnection; close(): Promise<void> } {
  const connection = new RespConnection(url, options);
  return {
    connection,
    close: () => connection.close(),
    async request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
      const path = req.path ?? [];
      if (path.length === 0) {
        try {
          return { result: toJson((await connection.command(asCommand(req.body))) as Reply) as TResult };
        } catch (e) {
          if (e instanceof RespError) return { error: e.message };
          throw e;
        }
      }
      if (path.length === 1 && (path[0] === "pipeline" || path[0] === "multi-exec")) {
        if (!Array.isArray(req.body))
          throw new TypeError(`tcpRequester: /${path[0]} takes an array of commands`);
        const cmds = req.body.map(asCommand);
        let replies: Reply[];
        try {
          replies = path[0] === "pipeline" ? await connection.pipeline(cmds) : await connection.multi(cmds);
        } catch (e) {
          // The REST API answers a discarded transaction with HTTP 400, which the HTTP client throws.
          if (e instanceof RespError) throw new errors.UpstashError(e.message);
          throw e;
        }
        return replies.map(entry) as UpstashResponse<TResult>;
      }
      throw new Error(`tcpRequester: unsupported path /${path.join("/")}`);
    },
  };
}
